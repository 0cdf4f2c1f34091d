package main_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"tandem/internal/ollamatest"
)

func TestMain(m *testing.M) { ollamatest.Main(m) }

// copyAgents puts the agent fixtures into a workspace.
func copyAgents(t *testing.T, w *workspace) {
	t.Helper()
	for _, name := range []string{"wordcount.yaml", "counter.yaml", "count-flow.yaml"} {
		b, err := os.ReadFile(filepath.Join("testdata", "agents", name))
		if err != nil {
			t.Fatal(err)
		}
		w.write(name, string(b))
	}
}

func TestRealModelAgentStepCallsAFlowToolAndAnswersInSchema(t *testing.T) {
	srv := ollamatest.Start(t)
	t.Setenv("OLLAMA_HOST", srv.Host)
	t.Setenv("TANDEM_MODEL", srv.Model)
	w := newWorkspace(t)
	copyAgents(t, w)
	out, errOut, code := w.tandem("run", "count-flow.yaml")
	if code != 0 {
		t.Fatalf("run: exit %d\n%s\n%s\n%s", code, out, errOut, srv.Log())
	}
	id := firstLineRunID(t, out)
	// The agent step's output is schema-valid JSON the next step reads.
	show, _, _ := w.tandem("show", id, "--json")
	var doc struct {
		State struct {
			Steps map[string]struct {
				Output string `json:"output"`
			} `json:"steps"`
		} `json:"state"`
	}
	if err := json.Unmarshal([]byte(show), &doc); err != nil {
		t.Fatal(err)
	}
	var answer struct {
		Words *int `json:"words"`
	}
	if err := json.Unmarshal([]byte(doc.State.Steps["count"].Output), &answer); err != nil || answer.Words == nil {
		t.Fatalf("agent output %q is not {words: integer}: %v", doc.State.Steps["count"].Output, err)
	}
	if !strings.HasPrefix(doc.State.Steps["report"].Output, "words=") {
		t.Fatalf("report = %q", doc.State.Steps["report"].Output)
	}
	// The flow tool ran as a linked child run.
	runs, _, _ := w.tandem("runs", "--all", "--json")
	var list []struct {
		ID     string `json:"id"`
		Flow   string `json:"flow"`
		Parent string `json:"parent_run_id"`
		Status string `json:"status"`
	}
	if err := json.Unmarshal([]byte(runs), &list); err != nil {
		t.Fatal(err)
	}
	children := 0
	for _, r := range list {
		if r.Parent == id && r.Flow == "word_count" && r.Status == "succeeded" {
			children++
		}
	}
	if children == 0 {
		t.Fatalf("no word_count child run of %s:\n%s", id, runs)
	}
	// The trace shows the turns, the tool call and the end.
	trace, _, code := w.tandem("trace", id)
	for _, want := range []string{"── turn 1 (fallback", "┌ call word_count", "└ result of word_count", "■ end: answer"} {
		if code != 0 || !strings.Contains(trace, want) {
			t.Fatalf("trace lacks %q:\n%s", want, trace)
		}
	}
}

func TestRealModelAskAnswersAndRecordsARun(t *testing.T) {
	srv := ollamatest.Start(t)
	t.Setenv("OLLAMA_HOST", srv.Host)
	t.Setenv("TANDEM_MODEL", srv.Model)
	w := newWorkspace(t)
	w.write("poet.yaml", "name: poet\nsystem: You write one short line.\nmax_turns: 1\noptions: { temperature: 0, seed: 3, num_predict: 32 }\n")
	out, errOut, code := w.tandem("ask", "poet.yaml", "A line about the sea.", "--json")
	var res struct {
		RunID     string `json:"run_id"`
		Answer    string `json:"answer"`
		Status    string `json:"status"`
		EndReason string `json:"end_reason"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil || code != 0 {
		t.Fatalf("ask: exit %d %v\n%s\n%s", code, err, out, errOut)
	}
	if res.Status != "succeeded" || res.EndReason != "answer" || strings.TrimSpace(res.Answer) == "" {
		t.Fatalf("ask result %+v", res)
	}
}
