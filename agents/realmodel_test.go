package agents_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"tandem/agents"
	"tandem/agents/ollama"
	"tandem/flows"
	"tandem/internal/ollamatest"
)

// Agents on the real models scripts/ollama-setup installs, at temperature 0: the default
// agent model does a task nobody tuned it for, and the fast 135M model, which cannot do it,
// still gives only valid actions and ends with a clear reason.

func realRunner(t *testing.T, name string) (*agents.Runner, string) {
	t.Helper()
	srv := ollamatest.Start(t)
	srv.Require(t, name)
	o, err := ollama.New(srv.Host)
	if err != nil {
		t.Fatal(err)
	}
	return &agents.Runner{Model: o, Caps: o}, name
}

func configWorkspace(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "config"), 0o755)
	os.WriteFile(filepath.Join(dir, "config", "app.toml"), []byte("host = \"db.example.internal\"\nport = 8080\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "todo.md"), []byte("- buy milk\n- call the plumber\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "team.txt"), []byte("On call this week: Dana\n"), 0o644)
	return dir
}

func realAgent(dir, name string, numPredict int) *flows.Agent {
	return &flows.Agent{Name: "helper", Model: name, Dir: dir, MaxTurns: 6, ToolCalling: "auto",
		System:  "You are a helpful assistant. You work with the files in the user's folder.",
		Options: map[string]any{"temperature": 0, "seed": 1, "num_predict": numPredict}}
}

func TestRealAgentModelReadsTheFileTheTaskNamesAndAnswers(t *testing.T) {
	r, name := realRunner(t, ollamatest.AgentModel)
	dir := configWorkspace(t)
	rec := &recorder{}
	res, err := r.Run(context.Background(), agents.Task{Agent: realAgent(dir, name, 256), Prompt: "Who is on call this week according to team.txt?",
		Tools: fileTools(dir), Tracer: rec})
	if err != nil || !strings.Contains(res.Answer, "Dana") || res.InvalidActions != 0 {
		t.Fatalf("res %+v err %v, kinds %v", res, err, rec.kinds)
	}
	read := false
	for i, k := range rec.kinds {
		if k == "tool_call" {
			args, _ := rec.records[i]["arguments"].(map[string]any)
			read = read || (rec.records[i]["name"] == "read_file" && args["path"] == "team.txt")
		}
	}
	if !read {
		t.Fatalf("the answer came without reading team.txt: %v", rec.records)
	}
}

func TestRealFastModelGivesOnlyValidActionsAtAnyTokenBudget(t *testing.T) {
	validAtAnyBudget(t, ollamatest.Model, []int{64, 256})
}

func TestRealAgentModelGivesOnlyValidActionsAtAnyTokenBudget(t *testing.T) {
	validAtAnyBudget(t, ollamatest.AgentModel, []int{32, 64, 1024})
}

// validAtAnyBudget runs a question and a change task at each num_predict: no reply may be an
// invalid action, and a run that ends without an answer says why.
func validAtAnyBudget(t *testing.T, model string, budgets []int) {
	r, name := realRunner(t, model)
	for _, numPredict := range budgets {
		for _, prompt := range []string{"What is the port in config/app.toml?", "Read todo.md and write the first item to next.txt."} {
			dir := configWorkspace(t)
			rec := &recorder{}
			res, err := r.Run(context.Background(), agents.Task{Agent: realAgent(dir, name, numPredict), Prompt: prompt, Tools: fileTools(dir), Tracer: rec})
			if res.InvalidActions != 0 || rec.count("invalid_action") != 0 {
				t.Errorf("num_predict %d, %q: %d invalid actions (%+v)", numPredict, prompt, res.InvalidActions, res)
				for i, k := range rec.kinds {
					if strings.HasPrefix(k, "invalid") || k == "tool_result" {
						t.Logf("%s %v", k, rec.records[i])
					}
				}
			}
			if err != nil && (res.EndReason == "" || res.Detail == "") {
				t.Errorf("num_predict %d, %q: ended without a clear reason: %+v %v", numPredict, prompt, res, err)
			}
		}
	}
}
