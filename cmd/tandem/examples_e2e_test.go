package main_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"tandem/internal/ollamatest"
)

// The example workspace (examples/) as `tandem init` writes it, run end to end: the batch
// pipeline needs no model; the others run on the real Ollama server with the default agent
// model.

// initExamples writes the example workspace into a fresh workspace with `tandem init`.
func initExamples(t *testing.T) *workspace {
	t.Helper()
	w := newWorkspace(t)
	out, errOut, code := w.tandem("init", w.dir)
	if code != 0 {
		t.Fatalf("init: exit %d\n%s\n%s", code, out, errOut)
	}
	return w
}

// exampleRun is the part of `tandem show --json` the example tests read.
type exampleRun struct {
	State struct {
		Status string          `json:"status"`
		Output json.RawMessage `json:"output"`
		Error  string          `json:"error"`
		Steps  map[string]struct {
			Status   string `json:"status"`
			Output   string `json:"output"`
			Attempts []struct {
				Status   string `json:"status"`
				ExitCode *int   `json:"exit_code"`
				Error    string `json:"error"`
			} `json:"attempts"`
		} `json:"steps"`
	} `json:"state"`
}

func showExample(t *testing.T, w *workspace, id string) exampleRun {
	t.Helper()
	out, errOut, code := w.tandem("show", id, "--json")
	var r exampleRun
	if err := json.Unmarshal([]byte(out), &r); err != nil || code != 0 {
		t.Fatalf("show %s: exit %d %v\n%s\n%s", id, code, err, out, errOut)
	}
	return r
}

// childRuns lists the runs whose parent is id, by flow name.
func childRuns(t *testing.T, w *workspace, id string) map[string]string {
	t.Helper()
	out, _, _ := w.tandem("runs", "--all", "--json")
	var list []struct {
		ID     string `json:"id"`
		Flow   string `json:"flow"`
		Parent string `json:"parent_run_id"`
		Status string `json:"status"`
	}
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		t.Fatalf("runs --json: %v\n%s", err, out)
	}
	kids := map[string]string{}
	for _, r := range list {
		if r.Parent == id {
			kids[r.Flow] = r.Status
		}
	}
	return kids
}

func TestExampleInitWritesTheWorkspaceAndRefusesToOverwrite(t *testing.T) {
	w := newWorkspace(t)
	dir := filepath.Join(w.dir, "ws")
	out, errOut, code := w.tandem("init", dir)
	if code != 0 {
		t.Fatalf("init: exit %d\n%s", code, errOut)
	}
	for _, want := range []string{"cd " + dir, "tandem run content.yaml", "tandem run batch.yaml", "tandem run debug.yaml"} {
		if !strings.Contains(out, want) {
			t.Errorf("the next steps lack %q:\n%s", want, out)
		}
	}
	for _, f := range []string{"README.md", "content.yaml", "triage.yaml", "batch.yaml", "debug.yaml",
		"content/researcher.yaml", "triage/refund.yaml", "batch/inbox/harbour-notes.txt", "debug/watcher.yaml",
		"evals/research.yaml", "evals/triage.yaml"} {
		if fi, err := os.Stat(filepath.Join(dir, f)); err != nil || fi.Size() == 0 {
			t.Errorf("init did not write %s: %v", f, err)
		}
	}
	// The copied README runs the eval suites: they are there and valid where init put them.
	if out, errOut, code := w.tandem("validate", filepath.Join(dir, "evals", "research.yaml"), filepath.Join(dir, "evals", "triage.yaml")); code != 0 {
		t.Errorf("validate the copied suites: exit %d\n%s%s", code, out, errOut)
	}
	if _, err := os.Stat(filepath.Join(dir, "embed.go")); err == nil {
		t.Error("init copied the Go file that embeds the workspace")
	}

	t.Run("a second init into the same directory changes nothing and exits 2", func(t *testing.T) {
		mine := filepath.Join(dir, "content.yaml")
		if err := os.WriteFile(mine, []byte("name: mine\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		_, errOut, code := w.tandem("init", dir)
		if code != 2 || !strings.Contains(errOut, "already has files") || !strings.Contains(errOut, "nothing was written") {
			t.Fatalf("exit %d, want 2 with a clear message:\n%s", code, errOut)
		}
		if b, _ := os.ReadFile(mine); string(b) != "name: mine\n" {
			t.Fatalf("init overwrote content.yaml: %q", b)
		}
	})
	t.Run("one clashing file keeps every other file from being written", func(t *testing.T) {
		other := filepath.Join(w.dir, "other")
		if err := os.MkdirAll(filepath.Join(other, "batch"), 0o755); err != nil {
			t.Fatal(err)
		}
		w.write("other/batch.yaml", "name: mine\n")
		_, errOut, code := w.tandem("init", other)
		if code != 2 || !strings.Contains(errOut, "batch.yaml") {
			t.Fatalf("exit %d, want 2 naming batch.yaml:\n%s", code, errOut)
		}
		if _, err := os.Stat(filepath.Join(other, "content.yaml")); err == nil {
			t.Fatal("init wrote files next to a clashing one")
		}
	})
}

func TestExampleFilesAllValidate(t *testing.T) {
	w := initExamples(t)
	var files []string
	err := filepath.WalkDir(w.dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.HasSuffix(p, ".yaml") {
			rel, _ := filepath.Rel(w.dir, p)
			files = append(files, rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 10 {
		t.Fatalf("only %d YAML files in the example workspace: %v", len(files), files)
	}
	out, errOut, code := w.tandem(append([]string{"validate"}, files...)...)
	if code != 0 {
		t.Fatalf("validate: exit %d\n%s\n%s", code, out, errOut)
	}
	for _, f := range files {
		if !strings.Contains(out, f+": ok") {
			t.Errorf("validate did not report %s ok:\n%s", f, out)
		}
	}
}

func TestExampleBatchRetriesAFlakyStepWaitsForPublishAndReports(t *testing.T) {
	w := initExamples(t)
	out, errOut, code := w.tandem("run", "batch.yaml")
	if code != 0 || !strings.Contains(out, "is waiting") {
		t.Fatalf("run: exit %d\n%s\n%s", code, out, errOut)
	}
	id := firstLineRunID(t, out)
	r := showExample(t, w, id)
	agg := r.State.Steps["aggregate"]
	if agg.Status != "succeeded" || len(agg.Attempts) < 2 || agg.Attempts[0].Status != "failed" {
		t.Fatalf("aggregate should fail once and succeed on retry: %+v", agg)
	}
	if r.State.Steps["publish_gate"].Status != "waiting" {
		t.Fatalf("publish_gate = %+v, want waiting", r.State.Steps["publish_gate"])
	}
	inbox, _, _ := w.tandem("inbox", "--json")
	if !strings.Contains(inbox, id) || !strings.Contains(inbox, `"publish"`) {
		t.Fatalf("inbox lacks the publish wait:\n%s", inbox)
	}

	if out, errOut, code := w.tandem("signal", id, "publish"); code != 0 {
		t.Fatalf("signal: exit %d\n%s\n%s", code, out, errOut)
	}
	if out, errOut, code := w.tandem("resume", id); code != 0 || !strings.Contains(out, "succeeded") {
		t.Fatalf("resume: exit %d\n%s\n%s", code, out, errOut)
	}
	r = showExample(t, w, id)
	report := r.State.Steps["report"].Output
	b, err := os.ReadFile(filepath.Join(w.dir, report))
	if err != nil {
		t.Fatalf("report %q: %v", report, err)
	}
	inputs, err := os.ReadDir(filepath.Join(w.dir, "batch", "inbox"))
	if err != nil || len(inputs) == 0 {
		t.Fatalf("batch/inbox: %v", err)
	}
	for _, in := range inputs {
		if !strings.Contains(string(b), "| "+in.Name()+" |") {
			t.Errorf("the report does not list %s:\n%s", in.Name(), b)
		}
	}
}

// startExampleModel points the CLI at the real Ollama server and the default agent model,
// the one a user of the examples gets.
func startExampleModel(t *testing.T) *ollamatest.Server {
	t.Helper()
	srv := ollamatest.Start(t)
	srv.Require(t, ollamatest.AgentModel)
	t.Setenv("OLLAMA_HOST", srv.Host)
	t.Setenv("TANDEM_MODEL", ollamatest.AgentModel)
	return srv
}

func TestRealModelExampleContentPipelinePublishesAfterApproval(t *testing.T) {
	srv := startExampleModel(t)
	w := initExamples(t)
	out, errOut, code := w.tandem("run", "content.yaml")
	if code != 0 || !strings.Contains(out, "is waiting") {
		t.Fatalf("run: exit %d\n%s\n%s\n%s", code, out, errOut, srv.Log())
	}
	id := firstLineRunID(t, out)
	r := showExample(t, w, id)
	var edited struct{ Title, Body string }
	if err := json.Unmarshal([]byte(r.State.Steps["edit"].Output), &edited); err != nil || strings.TrimSpace(edited.Body) == "" {
		t.Fatalf("edit output %q is not {title, body}: %v", r.State.Steps["edit"].Output, err)
	}
	if r.State.Steps["review"].Status != "waiting" {
		t.Fatalf("review = %+v, want waiting", r.State.Steps["review"])
	}
	inbox, _, _ := w.tandem("inbox")
	if !strings.Contains(inbox, "tandem approve|reject "+id+" review") {
		t.Fatalf("inbox lacks the review:\n%s", inbox)
	}
	// The researcher used its tools on the corpus.
	trace, _, _ := w.tandem("trace", id)
	if !strings.Contains(trace, "┌ call read_file") {
		t.Fatalf("the researcher read no file:\n%s", trace)
	}

	out, errOut, code = w.tandem("approve", id, "review", "--comment", "ship it")
	if code != 0 || !strings.Contains(out, "the run has succeeded") {
		t.Fatalf("approve: exit %d\n%s\n%s", code, out, errOut)
	}
	r = showExample(t, w, id)
	published := r.State.Steps["publish"].Output
	b, err := os.ReadFile(filepath.Join(w.dir, published))
	if err != nil || !strings.HasPrefix(string(b), "# ") || len(strings.TrimSpace(string(b))) < 20 {
		t.Fatalf("published file %q: %v\n%s", published, err, b)
	}

	t.Run("a rejected post is not published", func(t *testing.T) {
		out, errOut, code := w.tandem("run", "content.yaml", "-i", "topic=moon")
		if code != 0 || !strings.Contains(out, "is waiting") {
			t.Fatalf("run: exit %d\n%s\n%s", code, out, errOut)
		}
		id := firstLineRunID(t, out)
		out, errOut, code = w.tandem("reject", id, "review", "--comment", "too short")
		if code != 0 || !strings.Contains(out, "rejected review") || !strings.Contains(out, "the run has succeeded") {
			t.Fatalf("reject: exit %d\n%s\n%s", code, out, errOut)
		}
		if st := showExample(t, w, id).State.Steps["publish"].Status; st != "skipped" {
			t.Fatalf("publish is %s after a rejection, want skipped", st)
		}
		if _, err := os.Stat(filepath.Join(w.dir, "published", id+".md")); err == nil {
			t.Fatal("a rejected post was published")
		}
	})
}

func TestRealModelExampleTriageRoutesEachTicketToItsProcess(t *testing.T) {
	srv := startExampleModel(t)
	w := initExamples(t)
	for _, tc := range []struct{ ticket, process string }{
		{"refund.txt", "refund"},
		{"technical.txt", "technical_support"},
		{"account.txt", "account_change"},
	} {
		out, errOut, code := w.tandem("run", "triage.yaml", "-i", "ticket=triage/tickets/"+tc.ticket)
		if code != 0 {
			t.Fatalf("%s: exit %d\n%s\n%s\n%s", tc.ticket, code, out, errOut, srv.Log())
		}
		id := firstLineRunID(t, out)
		kids := childRuns(t, w, id)
		// The chosen process ran as a child run; the other branches were skipped.
		if kids[tc.process] != "succeeded" || len(kids) != 1 {
			trace, _, _ := w.tandem("trace", id)
			t.Fatalf("%s: child runs %v, want one succeeded %s run\n%s", tc.ticket, kids, tc.process, trace)
		}
	}
	// Each process flow's side effect happened once, and the common notify step after it,
	// a join: any of the three branches, once per ticket.
	log, err := os.ReadFile(filepath.Join(w.dir, "triage", "out", "actions.log"))
	var actions, notices []string
	for _, l := range strings.Split(strings.TrimSpace(string(log)), "\n") {
		if strings.Contains(l, "/notify/1 customer notified: ") {
			notices = append(notices, l)
		} else {
			actions = append(actions, l)
		}
	}
	for i, want := range []struct{ action, customer string }{
		{"refund issued to maya@", "maya@"}, {"support case opened for tom@", "tom@"}, {"account updated for lee@", "lee@"},
	} {
		if err != nil || strings.Count(strings.Join(actions, "\n"), want.action) != 1 {
			t.Fatalf("actions.log should have one %q line: %v\n%s", want.action, err, log)
		}
		if len(notices) != 3 || !strings.Contains(notices[i], want.customer) {
			t.Fatalf("actions.log should have one notice to %s after its process:\n%s", want.customer, log)
		}
	}
}

func TestRealModelExampleDebugAgentStopsWithLoopDetected(t *testing.T) {
	srv := startExampleModel(t)
	w := initExamples(t)
	out, errOut, code := w.tandem("run", "debug.yaml")
	if code != 1 || !strings.Contains(out, "loop_detected") {
		t.Fatalf("run: exit %d, want 1 with loop_detected\n%s\n%s\n%s", code, out, errOut, srv.Log())
	}
	id := firstLineRunID(t, out)
	r := showExample(t, w, id)
	watch := r.State.Steps["watch"]
	if watch.Status != "failed" || len(watch.Attempts) == 0 || !strings.Contains(watch.Attempts[0].Error, "loop_detected") {
		t.Fatalf("watch = %+v, want failed with loop_detected", watch)
	}
	trace, _, _ := w.tandem("trace", id)
	if !strings.Contains(trace, "┌ call deploy_status") || !strings.Contains(trace, "■ end: loop_detected") {
		t.Fatalf("trace lacks the calls and the loop_detected end:\n%s", trace)
	}
	out, _, _ = w.tandem("trace", id, "--json")
	var recs []struct {
		Kind string         `json:"kind"`
		Data map[string]any `json:"data"`
	}
	if err := json.Unmarshal([]byte(out), &recs); err != nil {
		t.Fatalf("trace --json: %v\n%s", err, out)
	}
	ends := 0
	for _, rec := range recs {
		if rec.Kind == "end" && rec.Data["end_reason"] == "loop_detected" {
			ends++
		}
	}
	if ends != 1 {
		t.Fatalf("trace --json has %d loop_detected ends, want 1:\n%s", ends, out)
	}
}
