package promote_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"tandem/agents"
	"tandem/agents/model"
	"tandem/engine"
	"tandem/engine/memstore"
	"tandem/engine/modelsteps"
	"tandem/flows"
	"tandem/promote"
)

func reply(text string) model.FakeReply {
	return model.FakeReply{Deltas: []model.Delta{{Content: text}}}
}

// record runs an agent the way tandem ask does and returns the run's id.
func record(t *testing.T, e *engine.Engine, agentPath, prompt string) string {
	t.Helper()
	ctx := context.Background()
	src, path := flows.AgentFlow(agentPath, "chores")
	f, err := flows.Parse(path, src)
	if err != nil {
		t.Fatal(err)
	}
	id, err := e.Start(ctx, f, flows.AgentInputs(prompt, "", ""), engine.StartOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if st, err := e.Execute(ctx, id); err != nil || st.Status != engine.RunStatusSucceeded {
		t.Fatalf("agent run: %+v %v", st, err)
	}
	return id
}

func TestAPromotedFlowRunsAndGivesTheAgentsToolResults(t *testing.T) {
	dir := t.TempDir()
	ws := filepath.Join(dir, "ws")
	for name, body := range map[string]string{"ws/todo.md": "buy milk {{ not a template }}\nwalk dog\n", "ws/notes/a.txt": "a", "ws/.hidden": "h",
		"count.yaml": "name: count\ninputs:\n  text: { type: string }\nsteps:\n  - id: n\n    shell: printf %s {{ .inputs.text }} | wc -c | tr -d ' '\n",
		"agent.yaml": "name: chores\nsystem: s\ntools: [read_file, list_dir, write_file, flow:count.yaml]\ntool_calling: fallback\nworkspace: ws\nmax_turns: 6\n"} {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	fake := &model.Fake{Replies: []model.FakeReply{
		reply(`{"tool": "list_dir", "arguments": {"path": "."}}`),
		reply(`{"tool": "read_file", "arguments": {"path": "todo.md"}}`),
		reply(`{"tool": "read_file", "arguments": {"path": "../agent.yaml"}}`), // refused: left out
		reply(`{"tool": "write_file", "arguments": {"path": "next.txt", "content": "buy milk {{ x }}"}}`),
		reply(`{"tool": "count", "arguments": {"text": "buy milk"}}`),
		reply(`{"answer": "next.txt says buy milk"}`),
	}}
	e, err := engine.New(engine.Options{Store: memstore.New(), PollEvery: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	e.Register(flows.KindAgent, modelsteps.AgentExecutor{Engine: e, Runner: &agents.Runner{Model: fake}})
	id := record(t, e, filepath.Join(dir, "agent.yaml"), "Copy the first item of todo.md to next.txt")
	_, calls, _, _, err := promote.Agent(context.Background(), e, id)
	if err != nil || len(calls) != 4 {
		t.Fatalf("calls = %+v %v", calls, err)
	}
	out := filepath.Join(dir, "chores-promoted.yaml")
	src, err := promote.Flow(context.Background(), e, id, out)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(out, src, 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := flows.Load(out)
	if err != nil {
		t.Fatalf("the promoted flow does not validate: %v\n%s", err, src)
	}
	// todo.md is named in the prompt, so its path is an input; next.txt is too.
	if len(f.Inputs) != 2 || f.Inputs[0].Name != "path" || f.Inputs[0].Default != "ws/todo.md" {
		t.Fatalf("inputs = %+v\n%s", f.Inputs, src)
	}
	if err := os.Remove(filepath.Join(ws, "next.txt")); err != nil {
		t.Fatal(err)
	}
	in, err := flows.ResolveInputs(f, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	runID, err := e.Start(ctx, f, in, engine.StartOptions{})
	if err != nil {
		t.Fatal(err)
	}
	st, err := e.Execute(ctx, runID)
	if err != nil || st.Status != engine.RunStatusSucceeded {
		t.Fatalf("promoted run: %+v %v\n%s", st, err, src)
	}
	for i, c := range calls {
		s := st.Steps[f.Steps[i].ID]
		got, want := s.Output, strings.TrimRight(c.Result, " \n")
		if c.Name == "count" { // a flow step's output is the sub-run's output as JSON
			want = `{"n":"8"}`
		}
		if got != want {
			t.Errorf("step %s = %q, the agent's %s gave %q", f.Steps[i].ID, got, c.Name, c.Result)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(ws, "next.txt")); string(b) != "buy milk {{ x }}" {
		t.Fatalf("next.txt = %q", b)
	}
	if st.Output.(map[string]any)["answer"] != "next.txt says buy milk" {
		t.Fatalf("output = %v", st.Output)
	}
	if fake.Calls(); len(fake.Replies) != 0 {
		t.Fatal("the script was not used up")
	}
}

func TestARunThatFailedIsNotPromoted(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "agent.yaml"), []byte("name: chores\nsystem: s\ntool_calling: fallback\nmax_turns: 1\ntools: [read_file]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	fake := &model.Fake{Replies: []model.FakeReply{reply(`{"tool": "read_file", "arguments": {"path": "x"}}`)}}
	e, _ := engine.New(engine.Options{Store: memstore.New()})
	e.Register(flows.KindAgent, modelsteps.AgentExecutor{Engine: e, Runner: &agents.Runner{Model: fake}})
	src, path := flows.AgentFlow(filepath.Join(dir, "agent.yaml"), "chores")
	f, _ := flows.Parse(path, src)
	id, _ := e.Start(context.Background(), f, flows.AgentInputs("p", "", ""), engine.StartOptions{})
	_, _ = e.Execute(context.Background(), id)
	if _, err := promote.Flow(context.Background(), e, id, filepath.Join(dir, "p.yaml")); !errors.Is(err, promote.ErrNotPromotable) {
		t.Fatalf("err = %v", err)
	}
}
