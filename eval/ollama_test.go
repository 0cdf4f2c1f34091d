package eval_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"tandem/agents"
	"tandem/agents/ollama"
	"tandem/engine"
	"tandem/engine/memstore"
	"tandem/engine/modelsteps"
	"tandem/eval"
	"tandem/flows"
	"tandem/internal/ollamatest"
)

func TestMain(m *testing.M) { ollamatest.Main(m) }

// A research agent on a real ollama serve with SmolLM2-135M: the prompt hands it its first
// action, which it copies, so the tool call is scored as made; the judge is a real
// schema-constrained call in a run of its own, whatever it decides.
func TestARealModelIsEvaluatedAndJudged(t *testing.T) {
	srv := ollamatest.Start(t)
	o, err := ollama.New(srv.Host)
	if err != nil {
		t.Fatal(err)
	}
	store := memstore.New()
	e, err := engine.New(engine.Options{Store: store})
	if err != nil {
		t.Fatal(err)
	}
	e.Register(flows.KindAgent, modelsteps.AgentExecutor{Engine: e, Runner: &agents.Runner{Model: o, Caps: o, DefaultModel: srv.Model}})
	e.Register(flows.KindLLM, modelsteps.LLMExecutor{Model: o, DefaultModel: srv.Model})
	// The research example's agent with read_file alone (the example also has list_dir, which
	// SmolLM2 then calls instead of copying the action), beside a copy of its notes.
	dir := t.TempDir()
	if err := os.CopyFS(filepath.Join(dir, "corpus"), os.DirFS("../examples/content/corpus")); err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(dir, "researcher.yaml")
	agent := "name: researcher\nsystem: You are a research assistant. Read the notes with read_file, then answer with the facts from them.\n" +
		"tools: [read_file]\ntool_calling: fallback\nmax_turns: 6\noptions: { temperature: 0, seed: 42, num_predict: 256 }\n"
	if err := os.WriteFile(target, []byte(agent), 0o644); err != nil {
		t.Fatal(err)
	}
	src := fmt.Sprintf(`name: real
target: %s
models: [%s]
cases:
  - id: tides
    input: >-
      Topic: tides. The notes on it are corpus/tides.txt. Start with
      {"tool": "read_file", "arguments": {"path": "corpus/tides.txt"}}
    expect:
      - tool_called: { name: read_file, args: { path: corpus/tides.txt } }
      - tool_not_called: write_file
      - judge: { rubric: "The answer says something about tides." }
`, target, srv.Model)
	s, err := eval.Parse(filepath.Join(t.TempDir(), "suite.yaml"), []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	r := &eval.Runner{Engine: e, WorkDir: t.TempDir()}
	rep, err := r.Start(context.Background(), s, eval.Options{})
	if err != nil {
		t.Fatal(err)
	}
	c := rep.Cells[0]
	if c.Model != srv.Model || c.Status != string(engine.RunStatusSucceeded) || c.Turns < 2 || c.Tokens == 0 || c.ToolCalls == 0 {
		t.Fatalf("cell = %+v", c)
	}
	if !c.Outcomes[0].Pass || !c.Outcomes[1].Pass {
		t.Fatalf("tool expectations = %+v", c.Outcomes)
	}
	j := c.Outcomes[2]
	if j.JudgeRunID == "" || strings.HasPrefix(j.Detail, "judge:") {
		t.Fatalf("the judge gave no verdict: %+v", j)
	}
	st, err := e.State(context.Background(), j.JudgeRunID)
	if err != nil || st.Status != engine.RunStatusSucceeded {
		t.Fatalf("judge run = %+v %v", st, err)
	}
	t.Logf("judge: pass=%v reason=%q", j.Pass, j.Detail)
}
