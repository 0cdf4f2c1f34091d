package eval

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"

	"go.yaml.in/yaml/v3"
	"golang.org/x/sync/errgroup"

	"tandem/agents/model"
	"tandem/engine"
	"tandem/flows"
)

// Runner runs suites on an engine: each cell is a child run of the eval run, and each
// cell's result is recorded in the eval run's log before the next report reads it.
type Runner struct {
	Engine *engine.Engine
	// Parallel is how many cells run at once; default 1.
	Parallel int
	// WorkDir holds each cell's fresh workspace copy and agent file; default a tandem-eval
	// directory under the system's temporary directory. It must not be under a .tandem
	// directory (agent file tools refuse those).
	WorkDir string
	// Progress, when set, is called after each cell is recorded (from several goroutines
	// when Parallel > 1, one call at a time).
	Progress func(CellResult)
	// Planned, when set, is called once before any cell runs with the number of cells and how
	// many of them already have a result (a resumed eval).
	Planned func(total, recorded int)
	// Started, when set, is called as a cell's run starts (one call at a time).
	Started func(Cell)

	mu         sync.Mutex             // serialises recording results, Progress calls and the caches below
	flows      map[string]*flows.Flow // parsed case-run flows by path and source
	copies     map[string]string      // agent copies shared by a model's cells, by directory
	agentFlows map[string][2]string   // one-step agent flows by agent file: source, path
}

// Options override a suite's plan.
type Options struct {
	Models []string
	Repeat int
}

// CellResult is one cell's scored run, as the eval run records it.
type CellResult struct {
	Cell      string `json:"cell"`
	Case      string `json:"case"`
	Model     string `json:"model"`
	Repeat    int    `json:"repeat"`
	RunID     string `json:"run_id"`
	Pass      bool   `json:"pass"`
	Status    string `json:"status"`
	Error     string `json:"error,omitempty"`
	EndReason string `json:"end_reason,omitempty"`
	Turns     int    `json:"turns"`
	// Flow says the case ran a flow target, whose case has Steps (the steps that ran)
	// rather than turns, and whose Model is the one its steps used ("" when none did).
	Flow           bool      `json:"flow,omitempty"`
	Steps          int       `json:"steps,omitempty"`
	Tokens         int       `json:"tokens"`
	Seconds        float64   `json:"seconds"`
	ToolCalls      int       `json:"tool_calls"`
	ToolErrors     int       `json:"tool_errors"`
	InvalidActions int       `json:"invalid_actions"`
	Outcomes       []Outcome `json:"outcomes"`
}

// Start records a new eval run of the suite and runs it.
func (r *Runner) Start(ctx context.Context, s *Suite, o Options) (*Report, error) {
	cells := Plan(s, o.Models, o.Repeat)
	f, err := evalFlow(s, cells)
	if err != nil {
		return nil, err
	}
	models := make([]any, 0, len(o.Models))
	for _, m := range o.Models {
		models = append(models, m)
	}
	id, err := r.Engine.Start(ctx, f, map[string]any{"suite": s.Path, "source": string(s.Source),
		"models": models, "repeat": o.Repeat}, engine.StartOptions{})
	if err != nil {
		return nil, fmt.Errorf("start eval of %s: %w", s.Name, err)
	}
	return r.run(ctx, id, f, s, cells, false)
}

// Resume finishes an eval run a crash or Ctrl-C cut short: recorded cells are kept, a cell
// whose case run had started resumes that run, and the rest run.
func (r *Runner) Resume(ctx context.Context, evalRunID string) (*Report, error) {
	info, err := r.Engine.Store().Run(ctx, evalRunID)
	if err != nil {
		return nil, fmt.Errorf("resume eval %s: %w", evalRunID, err)
	}
	st, err := r.Engine.State(ctx, info.ID)
	if err != nil {
		return nil, fmt.Errorf("resume eval %s: %w", evalRunID, err)
	}
	s, o, err := suiteOf(st)
	if err != nil {
		return nil, fmt.Errorf("resume eval %s: %w", info.ID, err)
	}
	f, err := flows.Parse(st.Start.FlowPath, []byte(st.Start.Source))
	if err != nil {
		return nil, fmt.Errorf("resume eval %s: %w", info.ID, err)
	}
	return r.run(ctx, info.ID, f, s, Plan(s, o.Models, o.Repeat), true)
}

// suiteOf re-parses the suite an eval run recorded, with the plan options it ran with.
func suiteOf(st *engine.State) (*Suite, Options, error) {
	in := st.Start.Inputs
	path, _ := in["suite"].(string)
	src, _ := in["source"].(string)
	if path == "" || src == "" {
		return nil, Options{}, errors.New("not an eval run (it records no suite)")
	}
	s, err := Parse(path, []byte(src))
	if err != nil {
		return nil, Options{}, fmt.Errorf("parse recorded suite: %w", err)
	}
	var o Options
	if ms, ok := in["models"].([]any); ok {
		for _, m := range ms {
			if name, ok := m.(string); ok {
				o.Models = append(o.Models, name)
			}
		}
	}
	if n, ok := in["repeat"].(float64); ok {
		o.Repeat = int(n)
	}
	return s, o, nil
}

// run runs the cells of eval run evalID (of eval flow f) that have no result yet; resumed
// says the run may already have case runs.
func (r *Runner) run(ctx context.Context, evalID string, f *flows.Flow, s *Suite, cells []Cell, resumed bool) (*Report, error) {
	// On resume, resolve the results recorded before the cut. A fresh eval run has none: its
	// wait steps start when the results are in, each finding its signal already there.
	st := &engine.State{Steps: map[string]*engine.StepState{}}
	if resumed {
		var err error
		if st, err = r.Engine.Execute(ctx, evalID); err != nil {
			return nil, fmt.Errorf("advance eval run %s: %w", evalID, err)
		}
	}
	// The case runs that exist already (a resumed eval), in one listing rather than a
	// lookup per cell.
	started := map[string]bool{}
	if resumed && st.Status != engine.RunStatusSucceeded {
		children, err := r.Engine.Store().Runs(ctx, engine.RunQuery{ParentID: evalID})
		if err != nil {
			return nil, fmt.Errorf("list case runs of %s: %w", evalID, err)
		}
		for _, c := range children {
			started[c.ID] = true
		}
	}
	if r.Planned != nil {
		recorded := 0
		for _, c := range cells {
			if ss, ok := st.Steps[c.ID]; ok && ss.Status == engine.StatusSucceeded {
				recorded++
			}
		}
		r.Planned(len(cells), recorded)
	}
	b := &batch{}
	// The cells share one circuit: once a model call gives up on an unreachable server, the
	// calls after it fail at once and the cells not started yet are left for a resume,
	// instead of each waiting through its own retries.
	circuit := &model.Circuit{}
	var notRun atomic.Int32
	g, gctx := errgroup.WithContext(model.WithCircuit(ctx, circuit))
	g.SetLimit(max(r.Parallel, 1))
	for _, c := range cells {
		if ss, ok := st.Steps[c.ID]; ok && ss.Status == engine.StatusSucceeded {
			continue
		}
		g.Go(func() error {
			if circuit.Err() != nil {
				notRun.Add(1)
				return nil
			}
			if r.Started != nil {
				r.mu.Lock()
				r.Started(c)
				r.mu.Unlock()
			}
			res, err := r.runCell(gctx, evalID, s, c, started[caseRunID(evalID, c.ID)])
			if err != nil {
				return err
			}
			return r.record(b, res)
		})
	}
	runErr := g.Wait()
	// Results are recorded together, in one transaction, also when the eval was cut short:
	// a cell whose result did not make it is scored again from its finished case run.
	if err := r.Engine.SignalAll(context.WithoutCancel(ctx), evalID, b.signals); err != nil {
		return nil, errors.Join(runErr, fmt.Errorf("record results of %s: %w", evalID, err))
	}
	if runErr != nil {
		return nil, runErr
	}
	st, err := r.Engine.Execute(ctx, evalID)
	if err != nil {
		return nil, fmt.Errorf("advance eval run %s: %w", evalID, err)
	}
	rep, err := reportOf(st, f)
	if err == nil && notRun.Load() > 0 {
		err = &UnreachableError{RunID: evalID, NotRun: int(notRun.Load()), Err: circuit.Err()}
	}
	return rep, err
}

// UnreachableError is what Start and Resume return, with the report of what was recorded,
// when a case found the model server unreachable and the cells after it were not run.
type UnreachableError struct {
	RunID  string // the eval run, which a resume continues
	NotRun int    // the cells left without a result
	Err    error  // the model call's error
}

func (e *UnreachableError) Error() string {
	cases := "1 case was"
	if e.NotRun != 1 {
		cases = fmt.Sprintf("%d cases were", e.NotRun)
	}
	return fmt.Sprintf("eval stopped: %v\n%s not run: start the model server, then tandem eval resume %s", e.Err, cases, e.RunID)
}

// Unwrap returns the model call's error (model.ErrUnreachable).
func (e *UnreachableError) Unwrap() error { return e.Err }

// batch holds the cell results not yet in the eval run's log.
type batch struct {
	signals []engine.SignalData
}

// record keeps a cell's result for the eval run's log and reports it. The results reach the
// log together when the cells are done (see run); until then a cell's durable record is its
// finished case run, which a resumed eval scores again instead of running it.
func (r *Runner) record(b *batch, res CellResult) error {
	data, err := json.Marshal(res)
	if err != nil {
		return fmt.Errorf("encode result of %s: %w", res.Cell, err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	b.signals = append(b.signals, engine.SignalData{Event: cellEvent(res.Cell), Data: data})
	if r.Progress != nil {
		r.Progress(res)
	}
	return nil
}

func (r *Runner) base() string {
	base := r.WorkDir
	if base == "" {
		base = filepath.Join(os.TempDir(), "tandem-eval")
	}
	if abs, err := filepath.Abs(base); err == nil {
		return abs
	}
	return base
}

func (r *Runner) workDir(evalID, cellID string) string {
	return filepath.Join(r.base(), evalID, cellID)
}

// runCell runs (or resumes) one cell's case run and scores it. A fresh case run is started
// as the eval run's child and scored from the events it published while it ran; a resumed
// one goes through RunChild and is read back from the log.
func (r *Runner) runCell(ctx context.Context, evalID string, s *Suite, c Cell, started bool) (CellResult, error) {
	dir := r.workDir(evalID, c.ID)
	child := engine.ChildRun{ParentRunID: evalID, ParentStepID: c.ID, Attempt: 1}
	ws, err := r.workspace(s, c, dir, !started)
	if err != nil {
		return CellResult{}, err
	}
	if s.Agent != nil {
		path, err := r.agentCopy(s.Agent, c, ws, evalID, dir)
		if err != nil {
			return CellResult{}, err
		}
		child.Source, child.Path = r.agentFlow(path, s.Agent.Name)
		child.Typed = flows.AgentInputs(c.Case.Prompt, "", "")
	} else {
		child.Path, child.Source, child.Typed = s.Target, s.Flow.Source, c.Case.Inputs
		if c.Case.Workspace != "" {
			child.Path = filepath.Join(ws, filepath.Base(s.Target))
		}
	}
	var o Observation
	if started {
		res, runErr := r.Engine.RunChild(ctx, child)
		if ctx.Err() != nil {
			return CellResult{}, fmt.Errorf("run case %s: %w", c.ID, context.Cause(ctx))
		}
		if res.RunID == "" {
			return CellResult{}, fmt.Errorf("run case %s: %w", c.ID, runErr)
		}
		if o, err = Observe(ctx, r.Engine, res.RunID); err != nil {
			return CellResult{}, err
		}
	} else if o, err = r.runFresh(ctx, c, child); err != nil {
		return CellResult{}, err
	}
	o.Workspace = ws
	if o.Model == "" {
		o.Model = c.Model
	}
	j := &runJudge{r: r, evalID: evalID, cell: c, suite: s}
	out := CellResult{Cell: c.ID, Case: c.Case.ID, Model: o.Model, Repeat: c.Repeat, RunID: o.RunID,
		Status: o.Status, Error: o.Error, EndReason: o.EndReason, Turns: o.Turns, Tokens: o.Tokens,
		Seconds: o.Duration.Seconds(), ToolCalls: len(o.ToolCalls), InvalidActions: o.InvalidActions,
		Outcomes: Score(ctx, c.Case, o, j), Flow: s.Flow != nil}
	if out.Flow {
		out.Steps = o.Steps
	}
	if ctx.Err() != nil {
		return CellResult{}, fmt.Errorf("score case %s: %w", c.ID, context.Cause(ctx))
	}
	for _, tc := range o.ToolCalls {
		if tc.Error {
			out.ToolErrors++
		}
	}
	out.Pass = true
	for _, oc := range out.Outcomes {
		out.Pass = out.Pass && oc.Pass
	}
	return out, nil
}

// runFresh starts a cell's case run under the id RunChild would give it and runs it to the
// end, keeping the events the engine publishes for it, so scoring reads no log. The eval
// run is top-level (Start gives it no parent), so its case runs are two deep and need no
// nesting check.
func (r *Runner) runFresh(ctx context.Context, c Cell, child engine.ChildRun) (Observation, error) {
	f, err := r.parsed(child.Path, child.Source)
	if err != nil {
		return Observation{}, fmt.Errorf("run case %s: %w", c.ID, err)
	}
	inputs, err := flows.CoerceInputs(f, child.Typed)
	if err != nil {
		return Observation{}, fmt.Errorf("run case %s: inputs of %s: %w", c.ID, f.Name, err)
	}
	id := caseRunID(child.ParentRunID, c.ID)
	sub := r.Engine.Bus().Subscribe(id)
	defer sub.Close()
	if _, err := r.Engine.Start(ctx, f, inputs, engine.StartOptions{ParentRunID: child.ParentRunID, ParentStepID: c.ID, RunID: id}); err != nil {
		return Observation{}, fmt.Errorf("run case %s: %w", c.ID, err)
	}
	st, err := r.Engine.Execute(ctx, id)
	if ctx.Err() != nil {
		return Observation{}, fmt.Errorf("run case %s: %w", c.ID, context.Cause(ctx))
	}
	if err != nil {
		return Observation{}, fmt.Errorf("run case %s: sub-flow run %s: %w", c.ID, id, err)
	}
	var events []engine.Event
	for _, n := range sub.Next() {
		if n.Event != nil {
			events = append(events, *n.Event)
		}
	}
	return observe(st, events)
}

// agentFlow is flows.AgentFlow for the agent file at path, made once per file: the cells of
// one model share it.
func (r *Runner) agentFlow(path, name string) ([]byte, string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if f, ok := r.agentFlows[path]; ok {
		return []byte(f[0]), f[1]
	}
	src, fpath := flows.AgentFlow(path, name)
	if r.agentFlows == nil {
		r.agentFlows = map[string][2]string{}
	}
	r.agentFlows[path] = [2]string{string(src), fpath}
	return src, fpath
}

// parsed parses a case run's flow once per eval: cells of one model share an agent copy.
func (r *Runner) parsed(path string, src []byte) (*flows.Flow, error) {
	key := path + "\x00" + string(src)
	r.mu.Lock()
	f, ok := r.flows[key]
	r.mu.Unlock()
	if ok {
		return f, nil
	}
	f, err := flows.Parse(path, src)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	if r.flows == nil {
		r.flows = map[string]*flows.Flow{}
	}
	r.flows[key] = f
	r.mu.Unlock()
	return f, nil
}

// agentCopy returns the agent file a cell runs: the agent's own when the cell changes
// neither its model nor its workspace, else a copy with the cell's (written once per eval
// and model when the case has no workspace of its own).
func (r *Runner) agentCopy(a *flows.Agent, c Cell, ws, evalID, dir string) (string, error) {
	if c.Case.Workspace == "" && c.Model == a.Model {
		// The agent as written is what the cell runs: no copy to write, and its tools, MCP
		// servers and workspace resolve exactly as for `tandem ask`.
		return filepath.Abs(a.Path)
	}
	if c.Case.Workspace != "" {
		return writeAgentCopy(a, c.Model, ws, dir)
	}
	shared := filepath.Join(r.base(), evalID, "agent-"+slug(orDefault(c.Model)))
	r.mu.Lock()
	defer r.mu.Unlock()
	if path, ok := r.copies[shared]; ok {
		return path, nil
	}
	path, err := writeAgentCopy(a, c.Model, ws, shared)
	if err != nil {
		return "", err
	}
	if r.copies == nil {
		r.copies = map[string]string{}
	}
	r.copies[shared] = path
	return path, nil
}

// caseRunID is the id RunChild gives a cell's case run (run.step.attempt).
func caseRunID(evalID, cellID string) string { return evalID + "." + cellID + ".1" }

// workspace prepares where a cell's run works: a fresh copy of the case's fixture (for a
// flow, over a copy of the flow's directory, so its steps run in the copy), or the target's
// own directory. A resumed case run keeps the copy it had.
func (r *Runner) workspace(s *Suite, c Cell, dir string, fresh bool) (string, error) {
	if c.Case.Workspace == "" {
		if s.Agent != nil {
			return s.Agent.Workspace, nil
		}
		return s.Flow.Dir, nil
	}
	ws, err := filepath.Abs(filepath.Join(dir, "ws"))
	if err != nil {
		return "", fmt.Errorf("workspace of %s: %w", c.ID, err)
	}
	if !fresh {
		if _, err := os.Stat(ws); err == nil {
			return ws, nil
		}
	}
	if err := os.RemoveAll(ws); err != nil {
		return "", fmt.Errorf("clear workspace of %s: %w", c.ID, err)
	}
	if s.Flow != nil {
		if err := copyTree(s.Flow.Dir, ws, r.base()); err != nil {
			return "", fmt.Errorf("copy flow directory for %s: %w", c.ID, err)
		}
	}
	if err := copyTree(c.Case.Workspace, ws, r.base()); err != nil {
		return "", fmt.Errorf("copy workspace for %s: %w", c.ID, err)
	}
	return ws, nil
}

// writeAgentCopy writes the agent file a cell runs: the agent as written, with the cell's
// model and workspace, and its flow and agent tools pointing at their files by absolute path
// (the copy lives elsewhere).
func writeAgentCopy(a *flows.Agent, model, ws, dir string) (string, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(a.Source, &doc); err != nil || len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return "", fmt.Errorf("copy agent %s: its file no longer parses", a.Name)
	}
	root := doc.Content[0]
	set := func(key string, v *yaml.Node) {
		for i := 0; i+1 < len(root.Content); i += 2 {
			if root.Content[i].Value == key {
				root.Content[i+1] = v
				return
			}
		}
		root.Content = append(root.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: key}, v)
	}
	scalar := func(s string) *yaml.Node {
		return &yaml.Node{Kind: yaml.ScalarNode, Value: s, Style: yaml.DoubleQuotedStyle}
	}
	if model != "" {
		set("model", scalar(model))
	}
	set("workspace", scalar(ws))
	if len(a.Tools) > 0 {
		tools := &yaml.Node{Kind: yaml.SequenceNode}
		for _, t := range a.Tools {
			name := t.Name
			if t.Kind == "flow" || t.Kind == "agent" {
				name = t.Kind + ":" + t.Path
			}
			tools.Content = append(tools.Content, scalar(name))
		}
		set("tools", tools)
	}
	if len(a.MCP) > 0 {
		// Servers may come from an mcp.yaml beside the agent, which the copy is not.
		set("mcp", mcpNode(a.MCP, scalar))
	}
	b, err := yaml.Marshal(&doc)
	if err != nil {
		return "", fmt.Errorf("copy agent %s: %w", a.Name, err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("copy agent %s: %w", a.Name, err)
	}
	path := filepath.Join(dir, "agent.yaml")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		return "", fmt.Errorf("copy agent %s: %w", a.Name, err)
	}
	return path, nil
}

// mcpNode writes an agent's resolved MCP servers back as an mcp: mapping.
func mcpNode(servers map[string]flows.MCPServer, scalar func(string) *yaml.Node) *yaml.Node {
	names := make([]string, 0, len(servers))
	for name := range servers {
		names = append(names, name)
	}
	sort.Strings(names)
	out := &yaml.Node{Kind: yaml.MappingNode}
	for _, name := range names {
		srv := servers[name]
		spec := &yaml.Node{Kind: yaml.MappingNode}
		add := func(k string, v *yaml.Node) { spec.Content = append(spec.Content, scalar(k), v) }
		if srv.Command != "" {
			add("command", scalar(srv.Command))
			args := &yaml.Node{Kind: yaml.SequenceNode}
			for _, a := range srv.Args {
				args.Content = append(args.Content, scalar(a))
			}
			add("args", args)
		}
		if len(srv.Env) > 0 {
			env := &yaml.Node{Kind: yaml.MappingNode}
			keys := make([]string, 0, len(srv.Env))
			for k := range srv.Env {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				env.Content = append(env.Content, scalar(k), scalar(srv.Env[k]))
			}
			add("env", env)
		}
		if srv.URL != "" {
			add("url", scalar(srv.URL))
		}
		if srv.Trusted {
			add("trusted", &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: "true"})
		}
		if srv.Timeout > 0 {
			add("timeout", scalar(srv.Timeout.String()))
		}
		out.Content = append(out.Content, scalar(name), spec)
	}
	return out
}

// copyTree copies the regular files and directories under src into dst, skipping tandem's
// own state (.tandem), symlinks, and the work directory skip when it lies inside src (so a
// work directory under the flow's own is not copied into itself).
func copyTree(src, dst, skip string) error {
	return filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if p == skip || p == dst {
			return filepath.SkipDir
		}
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		switch {
		case d.IsDir() && d.Name() == ".tandem":
			return filepath.SkipDir
		case d.IsDir():
			return os.MkdirAll(target, 0o700)
		case !d.Type().IsRegular():
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, info.Mode().Perm()|0o600)
	})
}

// runJudge asks a model for a verdict as a run of its own, a child of the eval run.
type runJudge struct {
	r      *Runner
	evalID string
	cell   Cell
	suite  *Suite
	n      int
}

var verdictSchema = map[string]any{"type": "object", "required": []any{"verdict", "reason"},
	"properties": map[string]any{
		"verdict": map[string]any{"type": "string", "enum": []any{"pass", "fail"}},
		"reason":  map[string]any{"type": "string"}}}

// judgeFlow is the one-step flow a judge runs: an llm: call constrained to a verdict.
func judgeFlow(model string) []byte {
	schema, _ := json.Marshal(verdictSchema)
	return fmt.Appendf(nil, `name: judge
description: "grade an answer against a rubric"
inputs:
  rubric: { type: string }
  question: { type: string }
  answer: { type: string }
steps:
  - id: verdict
    llm:
      model: %s
      system: "You grade an assistant's answer against a rubric. Reply with JSON: verdict is pass when the answer meets the rubric and fail when it does not; reason says why in one sentence."
      prompt: "Rubric: {{ .inputs.rubric }}\n\nQuestion: {{ .inputs.question }}\n\nAnswer: {{ .inputs.answer }}"
      schema: %s
      options: { temperature: 0 }
`, quote(model), schema)
}

func (j *runJudge) Judge(ctx context.Context, x Expectation, c *Case, o Observation) (Verdict, error) {
	j.n++
	model := x.Model
	if model == "" {
		model = j.suite.JudgeModel
	}
	if model == "" {
		model = o.Model
	}
	question := c.Prompt
	if question == "" {
		question = compactJSON(c.Inputs)
	}
	res, err := j.r.Engine.RunChild(ctx, engine.ChildRun{ParentRunID: j.evalID, ParentStepID: j.cell.ID, Attempt: 1,
		Path: filepath.Join(j.suite.Dir, ".judge.yaml"), Source: judgeFlow(model), Suffix: fmt.Sprintf("judge%d", j.n),
		Typed: map[string]any{"rubric": x.Rubric, "question": question, "answer": o.Answer}})
	v := Verdict{RunID: res.RunID}
	if err != nil {
		return v, err
	}
	// The flow's output is {"verdict": ...}: the step's JSON, as text or decoded.
	var out map[string]any
	if err := json.Unmarshal([]byte(res.Output), &out); err != nil {
		return v, fmt.Errorf("read verdict of run %s: %w", res.RunID, err)
	}
	raw := out["verdict"]
	if text, ok := raw.(string); ok {
		if err := json.Unmarshal([]byte(text), &raw); err != nil {
			return v, fmt.Errorf("read verdict of run %s: %w", res.RunID, err)
		}
	}
	m, _ := raw.(map[string]any)
	verdict, _ := m["verdict"].(string)
	reason, _ := m["reason"].(string)
	if verdict != "pass" && verdict != "fail" {
		return v, fmt.Errorf("run %s gave no verdict: %s", res.RunID, clip(res.Output, 120))
	}
	v.Pass, v.Reason = verdict == "pass", reason
	return v, nil
}
