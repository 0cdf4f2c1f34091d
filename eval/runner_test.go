package eval_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"tandem/agents"
	"tandem/agents/model"
	"tandem/engine"
	"tandem/engine/memstore"
	"tandem/engine/modelsteps"
	"tandem/eval"
	"tandem/flows"
)

type harness struct {
	t     *testing.T
	dir   string
	store *memstore.Store
	eng   *engine.Engine
	agent *model.Fake // the agent's model
	judge *model.Fake // llm: steps (the judge)
}

func newHarness(t *testing.T, respond func(model.Request) (model.FakeReply, error)) *harness {
	t.Helper()
	s := memstore.New()
	e, err := engine.New(engine.Options{Store: s, Parallel: 4, PollEvery: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, dir: t.TempDir(), store: s, eng: e, agent: &model.Fake{Respond: respond}, judge: &model.Fake{}}
	e.Register(flows.KindAgent, modelsteps.AgentExecutor{Engine: e, Runner: &agents.Runner{Model: h.agent, DefaultModel: "fake"}})
	e.Register(flows.KindLLM, modelsteps.LLMExecutor{Model: h.judge, DefaultModel: "fake"})
	return h
}

func (h *harness) write(name, src string) string {
	h.t.Helper()
	p := filepath.Join(h.dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		h.t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
		h.t.Fatal(err)
	}
	return p
}

func (h *harness) suite(src string) *eval.Suite {
	h.t.Helper()
	s, err := eval.Parse(h.write("suite.yaml", src), []byte(src))
	if err != nil {
		h.t.Fatal(err)
	}
	return s
}

func (h *harness) runner() *eval.Runner {
	return &eval.Runner{Engine: h.eng, WorkDir: filepath.Join(h.dir, "work")}
}

func reply(text string) model.FakeReply {
	return model.FakeReply{Deltas: []model.Delta{{Content: text}}, Usage: model.Usage{PromptTokens: 10, OutputTokens: 5}}
}

// worker reads todo.md, writes its first line to next.txt and answers: three turns, decided
// by how many replies the conversation already has.
func worker(req model.Request) (model.FakeReply, error) {
	turns := 0
	for _, m := range req.Messages {
		if m.Role == "assistant" {
			turns++
		}
	}
	switch turns {
	case 0:
		return reply(`{"tool": "read_file", "arguments": {"path": "todo.md"}}`), nil
	case 1:
		return reply(`{"tool": "write_file", "arguments": {"path": "next.txt", "content": "buy milk"}}`), nil
	}
	return reply(`{"answer": "wrote buy milk to next.txt"}`), nil
}

const workerAgent = "name: worker\nsystem: You do file chores.\ntools: [read_file, write_file]\ntool_calling: fallback\nmax_turns: 5\n"

func TestASuiteRunsEachCaseAsAChildRunOfTheEvalRun(t *testing.T) {
	h := newHarness(t, worker)
	h.write("agent.yaml", workerAgent)
	h.write("fixture/todo.md", "buy milk\nwalk dog\n")
	s := h.suite(`name: chores
target: agent.yaml
repeat: 2
cases:
  - id: next
    input: Write the first item of todo.md to next.txt
    workspace: fixture
    expect:
      - tool_called: { name: read_file, args: { path: todo.md } }
      - file: { path: next.txt, equals: buy milk }
      - contains: buy milk
      - max_turns: 3
  - id: strict
    input: Write the first item of todo.md to next.txt
    workspace: fixture
    expect:
      - tool_not_called: write_file
      - end_reason: answer
`)
	ctx := context.Background()
	rep, err := h.runner().Start(ctx, s, eval.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Status != string(engine.RunStatusSucceeded) || len(rep.Cells) != 4 || len(rep.Pending) != 0 {
		t.Fatalf("report = %+v", rep)
	}
	if len(rep.Rows) != 2 || rep.Rows[0].Passed != 2 || rep.Rows[0].Runs != 2 || rep.Rows[1].Passed != 0 || rep.Rows[0].Turns != 3 {
		t.Fatalf("rows = %+v", rep.Rows)
	}
	if got := rep.Rows[1].Failed; len(got) != 1 || got["tool_not_called write_file"] != 2 {
		t.Fatalf("failed expectations of strict = %v", got)
	}
	if !rep.Failed() {
		t.Fatal("a report with a failing case says it passed")
	}
	// Every cell is an ordinary run, a child of the eval run at the cell's step.
	kids, err := h.store.Runs(ctx, engine.RunQuery{ParentID: rep.RunID})
	if err != nil || len(kids) != 4 {
		t.Fatalf("children = %+v %v", kids, err)
	}
	for _, c := range rep.Cells {
		st, err := h.eng.State(ctx, c.RunID)
		if err != nil || st.Start.ParentRunID != rep.RunID || st.Start.ParentStepID != c.Cell || st.Status != engine.RunStatusSucceeded {
			t.Fatalf("case run %s: %+v %v", c.RunID, st, err)
		}
	}
	// Each run had a fresh copy of the fixture; the fixture itself is untouched.
	if _, err := os.Stat(filepath.Join(h.dir, "fixture", "next.txt")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the fixture was written to: %v", err)
	}
	copies, _ := filepath.Glob(filepath.Join(h.dir, "work", rep.RunID, "*", "ws", "next.txt"))
	if len(copies) != 4 {
		t.Fatalf("workspace copies with next.txt = %v", copies)
	}
	// The results are in the eval run's log: reading it again gives the same report.
	again, err := eval.LoadReport(ctx, h.eng, rep.RunID)
	if err != nil || len(again.Cells) != 4 || again.Cells[3].RunID != rep.Cells[3].RunID {
		t.Fatalf("reloaded = %+v %v", again, err)
	}
}

func TestAModelMatrixRunsEveryCaseOnEveryModel(t *testing.T) {
	h := newHarness(t, worker)
	h.write("agent.yaml", workerAgent)
	h.write("fixture/todo.md", "buy milk\n")
	s := h.suite("name: m\ntarget: agent.yaml\nmodels: [alpha, beta]\ncases:\n  - id: next\n    input: go\n    workspace: fixture\n    expect: [{ contains: milk }]\n")
	rep, err := h.runner().Start(context.Background(), s, eval.Options{Models: []string{"gamma:1b", "delta"}})
	if err != nil {
		t.Fatal(err)
	}
	var models []string
	for _, m := range rep.Models {
		models = append(models, m.Model)
	}
	if strings.Join(models, ",") != "gamma:1b,delta" {
		t.Fatalf("models = %v", models)
	}
	var asked []string
	for _, r := range h.agent.Calls() {
		asked = append(asked, r.Model)
	}
	if strings.Count(strings.Join(asked, ","), "gamma:1b") != 3 || strings.Count(strings.Join(asked, ","), "delta") != 3 {
		t.Fatalf("the model was asked as %v", asked)
	}
}

func TestTheJudgeGivesAVerdictInARunOfItsOwn(t *testing.T) {
	h := newHarness(t, func(model.Request) (model.FakeReply, error) {
		return reply(`{"answer": "The sea rises twice a day."}`), nil
	})
	h.judge.Replies = []model.FakeReply{reply(`{"verdict": "fail", "reason": "it never mentions the moon"}`)}
	h.write("agent.yaml", "name: tides\nsystem: You explain tides.\ntool_calling: fallback\n")
	s := h.suite("name: j\ntarget: agent.yaml\njudge_model: grader\ncases:\n  - id: tides\n    input: Why are there tides?\n    expect:\n      - judge: { rubric: mentions the moon }\n")
	ctx := context.Background()
	rep, err := h.runner().Start(ctx, s, eval.Options{})
	if err != nil {
		t.Fatal(err)
	}
	o := rep.Cells[0].Outcomes[0]
	if o.Pass || o.Detail != "it never mentions the moon" || o.JudgeRunID == "" || rep.Cells[0].Pass {
		t.Fatalf("outcome = %+v", o)
	}
	calls := h.judge.Calls()
	if len(calls) != 1 || calls[0].Model != "grader" || !strings.Contains(string(calls[0].Format), `"verdict"`) {
		t.Fatalf("judge requests = %+v", calls)
	}
	prompt := calls[0].Messages[len(calls[0].Messages)-1].Content
	if !strings.Contains(prompt, "mentions the moon") || !strings.Contains(prompt, "Why are there tides?") || !strings.Contains(prompt, "The sea rises twice a day.") {
		t.Fatalf("judge prompt = %q", prompt)
	}
	st, err := h.eng.State(ctx, o.JudgeRunID)
	if err != nil || st.Start.ParentRunID != rep.RunID || st.Status != engine.RunStatusSucceeded {
		t.Fatalf("judge run = %+v %v", st, err)
	}
	events, _ := h.store.Events(ctx, o.JudgeRunID, 0)
	traced := false
	for _, ev := range events {
		var d engine.TraceData
		traced = traced || ev.Type == engine.StepTrace && ev.Decode(&d) == nil && d.Kind == "llm_request"
	}
	if !traced {
		t.Fatal("the judge's call is not in its run's trace")
	}
}

func TestAnEvalCutShortResumesWithoutRerunningFinishedCases(t *testing.T) {
	var calls atomic.Int32
	h := newHarness(t, func(req model.Request) (model.FakeReply, error) {
		calls.Add(1)
		return reply(`{"answer": "ok"}`), nil
	})
	h.write("agent.yaml", "name: a\nsystem: s\ntool_calling: fallback\n")
	s := h.suite("name: r\ntarget: agent.yaml\nrepeat: 3\ncases:\n  - id: c\n    input: hi\n    expect: [{ equals: ok }]\n")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r := h.runner()
	var evalID string
	r.Progress = func(res eval.CellResult) {
		evalID = strings.Split(res.RunID, ".")[0]
		cancel() // the process dies after recording the first cell
	}
	if _, err := r.Start(ctx, s, eval.Options{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("Start after cancel = %v", err)
	}
	half, err := eval.LoadReport(context.Background(), h.eng, evalID)
	if err != nil || len(half.Cells) != 1 || len(half.Pending) != 2 {
		t.Fatalf("half-finished report = %+v %v", half, err)
	}
	before := calls.Load()
	rep, err := h.runner().Resume(context.Background(), evalID)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Cells) != 3 || len(rep.Pending) != 0 || rep.Cells[0].RunID != half.Cells[0].RunID || rep.Status != string(engine.RunStatusSucceeded) {
		t.Fatalf("resumed report = %+v", rep)
	}
	if got := calls.Load() - before; got != 2 {
		t.Fatalf("resume asked the model %d times, want 2 (the finished case is not re-run)", got)
	}
	events, _ := h.store.Events(context.Background(), evalID, 0)
	recorded := 0
	for _, ev := range events {
		if ev.Type == engine.SignalReceived {
			recorded++
		}
	}
	if recorded != 3 {
		t.Fatalf("the eval run recorded %d results for 3 cells", recorded)
	}
}

func TestAFlowTargetRunsInAFreshCopyOfItsDirectory(t *testing.T) {
	h := newHarness(t, worker)
	h.write("greet.yaml", "name: greet\ninputs:\n  who: { type: string }\noutputs: { greeting: \"{{ .steps.hello.output }}\" }\nsteps:\n  - id: hello\n    shell: cat prefix.txt; echo {{ .inputs.who }} | tee -a log.txt\n")
	h.write("prefix.txt", "hello\n")
	h.write("fixture/log.txt", "earlier\n")
	s := h.suite(`name: f
target: greet.yaml
cases:
  - id: ada
    input: { who: ada }
    workspace: fixture
    expect:
      - json_path: { path: greeting, equals: "hello\nada" }
      - file: { path: log.txt, equals: "earlier\nada" }
`)
	rep, err := h.runner().Start(context.Background(), s, eval.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if c := rep.Cells[0]; !c.Pass {
		b, _ := json.Marshal(c)
		t.Fatalf("cell = %s", b)
	}
	if b, _ := os.ReadFile(filepath.Join(h.dir, "fixture", "log.txt")); string(b) != "earlier\n" {
		t.Fatalf("the fixture was changed: %q", b)
	}
}

// A flow target's case has steps, not turns, and the model its steps used: none for a
// shell flow (the table says "-", never "default"), the llm: step's for one that calls a model.
func TestAFlowTargetsCasesReportTheirStepsAndTheModelTheyUsed(t *testing.T) {
	h := newHarness(t, worker)
	h.judge.Respond = func(model.Request) (model.FakeReply, error) { return reply("a haiku"), nil }
	h.write("shell.yaml", "name: shell\nsteps:\n  - id: a\n    shell: echo one\n  - id: b\n    needs: [a]\n    shell: echo two\n  - id: c\n    needs: [a]\n    when: 'false'\n    shell: echo never\n")
	h.write("poem.yaml", "name: poem\nsteps:\n  - id: write\n    llm: { prompt: a haiku, model: tiny }\n")
	for _, tc := range []struct{ target, model, table string }{
		{"shell.yaml", "", "one   -      1/1   2      0       "},
		{"poem.yaml", "tiny", "one   tiny   1/1   1      "},
	} {
		t.Run(tc.target, func(t *testing.T) {
			s := h.suite("name: f\ntarget: " + tc.target + "\ncases:\n  - id: one\n    expect: [{ regex: . }]\n")
			rep, err := h.runner().Start(context.Background(), s, eval.Options{})
			if err != nil {
				t.Fatal(err)
			}
			c := rep.Cells[0]
			if !c.Pass || !c.Flow || c.Model != tc.model || c.Turns != 0 {
				b, _ := json.Marshal(c)
				t.Fatalf("cell = %s", b)
			}
			var out strings.Builder
			if err := eval.WriteTable(&out, rep); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(out.String(), "case  model  pass  steps  tokens  time\n"+tc.table) || strings.Contains(out.String(), "default") ||
				strings.Contains(out.String(), "turns") {
				t.Fatalf("table:\n%s", out.String())
			}
		})
	}
}
