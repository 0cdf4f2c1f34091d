// Package promote turns a successful agent run into a flow: a decision that is the same
// every time belongs in a flow, where it is durable, fast and needs no model.
package promote

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"

	"tandem/agents"
	"tandem/engine"
	"tandem/flows"
)

// ErrNotPromotable is the error for runs that cannot become a flow (no agent step, not
// succeeded, or a tool with no flow equivalent).
var ErrNotPromotable = errors.New("run cannot be promoted")

// Call is one tool call the agent made, with what the tool returned.
type Call struct {
	Name   string
	Args   map[string]any
	Result string
}

// Agent reads what an agent step of a finished run did: its prompt, its successful tool
// calls in order, its answer, and the agent file.
func Agent(ctx context.Context, e *engine.Engine, runID string) (prompt string, calls []Call, answer string, a *flows.Agent, err error) {
	st, err := e.State(ctx, runID)
	if err != nil {
		return "", nil, "", nil, fmt.Errorf("promote run %s: %w", runID, err)
	}
	if st.Status != engine.RunStatusSucceeded {
		return "", nil, "", nil, fmt.Errorf("promote run %s: %w: it %s; promote a run that succeeded", st.ID, ErrNotPromotable, st.Status)
	}
	f, err := flows.Parse(st.Start.FlowPath, []byte(st.Start.Source))
	if err != nil {
		return "", nil, "", nil, fmt.Errorf("promote run %s: %w", st.ID, err)
	}
	var step *flows.Step
	for _, s := range f.Steps {
		if s.Kind == flows.KindAgent {
			step = s
			break
		}
	}
	if step == nil {
		return "", nil, "", nil, fmt.Errorf("promote run %s: %w: it has no agent step", st.ID, ErrNotPromotable)
	}
	path := step.Agent.File
	if !filepath.IsAbs(path) {
		path = filepath.Join(f.Dir, path)
	}
	if a, err = flows.LoadAgent(path); err != nil {
		return "", nil, "", nil, fmt.Errorf("promote run %s: %w", st.ID, err)
	}
	ss := st.Steps[step.ID]
	if at := ss.LastAttempt(); at != nil {
		prompt = at.Input
	}
	answer = ss.Output
	events, err := e.Store().Events(ctx, st.ID, 0)
	if err != nil {
		return "", nil, "", nil, fmt.Errorf("promote run %s: %w", st.ID, err)
	}
	pending := map[string]int{}
	for _, ev := range events {
		if ev.Type != engine.StepTrace || ev.StepID != step.ID {
			continue
		}
		var d engine.TraceData
		if err := ev.Decode(&d); err != nil {
			return "", nil, "", nil, fmt.Errorf("promote run %s: event %d: %w", st.ID, ev.Seq, err)
		}
		rec, err := agents.Decode(d.Kind, d.Data)
		if err != nil {
			return "", nil, "", nil, fmt.Errorf("promote run %s: event %d: %w", st.ID, ev.Seq, err)
		}
		switch r := rec.(type) {
		case agents.ToolCall:
			pending[r.ID+"/"+r.Name] = len(calls)
			calls = append(calls, Call{Name: r.Name, Args: r.Arguments})
		case agents.ToolResult:
			key := r.ID + "/" + r.Name
			i, ok := pending[key]
			if !ok {
				continue
			}
			delete(pending, key)
			if r.Error {
				calls[i].Name = "" // a refused call did nothing; the flow leaves it out
			} else {
				calls[i].Result = r.Result
			}
		}
	}
	kept := calls[:0]
	for _, c := range calls {
		if c.Name != "" {
			kept = append(kept, c)
		}
	}
	return prompt, kept, answer, a, nil
}

// Flow writes the flow a run promotes to, for a file at out: one step per tool call in
// order, each needing the one before (file tools become run: steps, flow and agent tools
// flow: and agent: steps), arguments that appear in the prompt as inputs with the run's values
// as defaults, and the answer as the flow's output.
func Flow(ctx context.Context, e *engine.Engine, runID, out string) ([]byte, error) {
	prompt, calls, answer, a, err := Agent(ctx, e, runID)
	if err != nil {
		return nil, err
	}
	outDir := filepath.Dir(out)
	flowTools := map[string]flows.ToolRef{}
	for _, t := range a.Tools {
		if t.Kind == "flow" || t.Kind == "agent" {
			flowTools[toolName(t)] = t
		}
	}
	b := &builder{prompt: prompt, inputs: &yaml.Node{Kind: yaml.MappingNode}, used: map[string]bool{}}
	steps := &yaml.Node{Kind: yaml.SequenceNode}
	prev := ""
	for i, c := range calls {
		id := fmt.Sprintf("%s-%d", strings.ReplaceAll(strings.ToLower(c.Name), " ", "_"), i+1)
		s := mapping("id", str(id))
		if prev != "" {
			s.Content = append(s.Content, key("needs"), seq(str(prev)))
		}
		rel := func(p string) string {
			r, err := filepath.Rel(outDir, filepath.Join(a.Workspace, p))
			if err != nil {
				return filepath.Join(a.Workspace, p)
			}
			return r
		}
		switch ref, isFlow := flowTools[c.Name]; {
		case c.Name == "read_file":
			s.Content = append(s.Content, key("run"), seq(str("cat"), str("--"), b.arg("path", argStr(c.Args, "path"), rel)))
		case c.Name == "list_dir":
			dir := argStr(c.Args, "path")
			if dir == "" {
				dir = "."
			}
			s.Content = append(s.Content, key("run"), seq(str("ls"), str("-1p"), str("--"), b.arg("path", dir, rel)),
				key("env"), mapping("LC_ALL", str("C")))
		case c.Name == "write_file":
			path, content := argStr(c.Args, "path"), argStr(c.Args, "content")
			s.Content = append(s.Content, key("run"), seq(str("sh"), str("-c"),
				str(`printf '%s' "$1" > "$2" && printf 'wrote %d bytes to %s' "$3" "$4"`), str("sh"),
				b.arg("content", content, nil), b.arg("path", path, rel), str(fmt.Sprint(len(content))), str(literal(path))))
		case isFlow && ref.Kind == "flow":
			r, _ := filepath.Rel(outDir, ref.Path)
			with := &yaml.Node{Kind: yaml.MappingNode}
			for _, k := range sortedKeys(c.Args) {
				v := c.Args[k]
				text, ok := v.(string)
				if !ok {
					j, _ := json.Marshal(v)
					text = string(j)
				}
				with.Content = append(with.Content, key(k), b.arg(k, text, nil))
			}
			s.Content = append(s.Content, key("flow"), str(r), key("with"), with)
		case isFlow && ref.Kind == "agent":
			r, _ := filepath.Rel(outDir, ref.Path)
			s.Content = append(s.Content, key("agent"), str(r), key("prompt"), b.arg("prompt", argStr(c.Args, "prompt"), nil))
		default:
			return nil, fmt.Errorf("promote run %s: %w: the %s tool has no flow equivalent yet (read_file, list_dir, write_file, flow and agent tools do)",
				runID, ErrNotPromotable, c.Name)
		}
		steps.Content = append(steps.Content, s)
		prev = id
	}
	if len(calls) == 0 {
		return nil, fmt.Errorf("promote run %s: %w: the agent called no tools; its answer alone needs no flow", runID, ErrNotPromotable)
	}
	doc := mapping("name", str(a.Name+"-promoted"),
		"description", str(fmt.Sprintf("promoted from run %s of the %s agent", runID, a.Name)))
	if len(b.inputs.Content) > 0 {
		doc.Content = append(doc.Content, key("inputs"), b.inputs)
	}
	doc.Content = append(doc.Content, key("outputs"), mapping("answer", str(literal(answer))), key("steps"), steps)
	src, err := yaml.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("promote run %s: %w", runID, err)
	}
	if _, err := flows.Parse(out, src); err != nil {
		return nil, fmt.Errorf("promote run %s: the promoted flow does not validate: %w", runID, err)
	}
	return src, nil
}

// builder turns argument values that came from the prompt into flow inputs.
type builder struct {
	prompt string
	inputs *yaml.Node
	used   map[string]bool
	values map[string]string // value -> input name
}

// arg returns the node for an argument: a reference to an input when the value is in the
// prompt (rewritten by rel for a path), else the value itself, escaped for templates.
func (b *builder) arg(name, value string, rel func(string) string) *yaml.Node {
	v := value
	if rel != nil {
		v = rel(value)
	}
	if len(value) < 3 || !strings.Contains(b.prompt, value) {
		return str(literal(v))
	}
	if b.values == nil {
		b.values = map[string]string{}
	}
	vk := value + "\x00" + v
	in, ok := b.values[vk]
	if !ok {
		in = name
		for n := 2; b.used[in]; n++ {
			in = fmt.Sprintf("%s_%d", name, n)
		}
		b.used[in], b.values[vk] = true, in
		b.inputs.Content = append(b.inputs.Content, key(in), mapping("type", str("string"), "default", str(v)))
	}
	return str("{{ .inputs." + in + " }}")
}

// literal escapes text for a flow template: {{ becomes an action that prints it.
func literal(s string) string { return strings.ReplaceAll(s, "{{", `{{ "{{" }}`) }

func argStr(args map[string]any, k string) string {
	s, _ := args[k].(string)
	return s
}

func toolName(t flows.ToolRef) string {
	var name string
	if t.Kind == "flow" {
		if f, err := flows.Load(t.Path); err == nil {
			name = f.Name
		}
	} else if a, err := flows.LoadAgent(t.Path); err == nil {
		name = a.Name
	}
	var b strings.Builder
	for _, r := range name {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	return strings.Trim(b.String(), "_")
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func str(s string) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Value: s, Style: yaml.DoubleQuotedStyle}
}

// key is a mapping key; plain, as a person would write it.
func key(s string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Value: s} }

func seq(items ...*yaml.Node) *yaml.Node { return &yaml.Node{Kind: yaml.SequenceNode, Content: items} }

func mapping(kv ...any) *yaml.Node {
	n := &yaml.Node{Kind: yaml.MappingNode}
	for i := 0; i+1 < len(kv); i += 2 {
		v, ok := kv[i+1].(*yaml.Node)
		if !ok {
			v = str(fmt.Sprint(kv[i+1]))
		}
		n.Content = append(n.Content, key(kv[i].(string)), v)
	}
	return n
}
