package main_test

import (
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The real binary runs a suite against a scripted model server, twice, and compares the two
// eval runs: the second run's model stops calling its tool, and compare shows the regression.
func TestEvalRunsASuiteShowsAndComparesEvalRuns(t *testing.T) {
	srv, _ := startScriptedModel(t,
		action(map[string]any{"tool": "read_file", "arguments": map[string]any{"path": "config/app.toml"}}),
		action(map[string]any{"answer": "The port is 8421."}))
	t.Setenv("OLLAMA_HOST", srv.URL)
	t.Setenv("TANDEM_MODEL", "scripted")
	w := newWorkspace(t)
	w.write("reader.yaml", "name: reader\nsystem: You read config files.\ntools: [read_file]\ntool_calling: fallback\nmax_turns: 4\n")
	if err := os.MkdirAll(filepath.Join(w.dir, "fixtures", "port", "config"), 0o755); err != nil {
		t.Fatal(err)
	}
	w.write("fixtures/port/config/app.toml", "port = 8421\n")
	w.write("suite.yaml", `name: reader-evals
target: reader.yaml
cases:
  - id: port
    input: What port does config/app.toml set?
    workspace: fixtures/port
    expect:
      - contains: "8421"
      - tool_called: { name: read_file, args: { path: config/app.toml } }
      - max_turns: 3
`)
	work := filepath.Join(w.dir, "work")
	out, errOut, code := w.tandem("eval", "suite.yaml", "--work", work)
	if code != 0 || !strings.Contains(out, "1 of 1 runs passed") || !strings.Contains(out, "port  scripted  1/1   2      30") {
		t.Fatalf("first eval: exit %d\n%s\n%s", code, out, errOut)
	}
	if !strings.Contains(errOut, "✓ port on scripted, repeat 1: 2 turns") {
		t.Fatalf("no progress line:\n%s", errOut)
	}
	first := strings.Fields(strings.SplitN(out, "(run ", 2)[1])[0]
	first = strings.TrimSuffix(first, "):")

	// The model now answers at once, without reading the file.
	junit := filepath.Join(w.dir, "eval.xml")
	out, errOut, code = w.tandem("eval", "suite.yaml", "--work", work, "--json", "--junit", junit)
	var rep struct {
		RunID string `json:"run_id"`
		Cells []struct {
			Pass     bool
			RunID    string `json:"run_id"`
			Outcomes []struct {
				Expect string
				Pass   bool
			}
		}
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil || code != 1 || len(rep.Cells) != 1 || rep.Cells[0].Pass {
		t.Fatalf("second eval: exit %d %v\n%s\n%s", code, err, out, errOut)
	}
	if o := rep.Cells[0].Outcomes[1]; o.Pass || !strings.HasPrefix(o.Expect, "tool_called read_file") {
		t.Fatalf("outcomes = %+v", rep.Cells[0].Outcomes)
	}
	if b, err := os.ReadFile(junit); err != nil || !strings.Contains(string(b), `<failure message="1 of 3 expectations failed">`) {
		t.Fatalf("junit file: %v\n%s", err, b)
	}
	// The case run is an ordinary run: its trace is there to read.
	if out, _, code := w.tandem("trace", rep.Cells[0].RunID); code != 0 || !strings.Contains(out, "8421") {
		t.Fatalf("trace of the case run: exit %d\n%s", code, out)
	}

	out, errOut, code = w.tandem("eval", "compare", first, rep.RunID)
	if code != 0 || !strings.Contains(out, "1 regressed, 0 improved") || !strings.Contains(out, "✗  port  scripted  1/1 → 0/1") ||
		!strings.Contains(out, "✗ tool_called read_file") {
		t.Fatalf("compare: exit %d\n%s\n%s", code, out, errOut)
	}
	if out, _, code := w.tandem("eval", "show", first); code != 0 || !strings.Contains(out, "1 of 1 runs passed") {
		t.Fatalf("show: exit %d\n%s", code, out)
	}
	if _, errOut, code := w.tandem("eval", "show", rep.Cells[0].RunID); code != 2 || !strings.Contains(errOut, "not an eval") {
		t.Fatalf("show of a case run: exit %d\n%s", code, errOut)
	}
}

func TestEvalRejectsABadSuiteWithPositionsAndRunsNothing(t *testing.T) {
	w := newWorkspace(t)
	w.write("reader.yaml", "name: reader\nsystem: s\n")
	w.write("suite.yaml", "name: s\ntarget: reader.yaml\ncases:\n  - id: a\n    input: hi\n    expect:\n      - contians: x\n")
	_, errOut, code := w.tandem("eval", "suite.yaml")
	if code != 2 || !strings.Contains(errOut, `suite.yaml:7:9: unknown expectation "contians"`) {
		t.Fatalf("exit %d\n%s", code, errOut)
	}
	if _, err := os.Stat(w.db); !os.IsNotExist(err) {
		t.Fatalf("a bad suite opened the database: %v", err)
	}
	if _, errOut, code := w.tandem("validate", "suite.yaml"); code != 2 || !strings.Contains(errOut, `suite.yaml:7:9: unknown expectation "contians"`) {
		t.Fatalf("validate: exit %d\n%s", code, errOut)
	}
}

// With the model server down, the first case waits through its retries and the rest do not:
// they are left unrun, one message says why and how to go on (exit 1), the failed case's run
// is kept, and tandem eval resume runs the rest once the server answers.
func TestEvalStopsAtTheFirstCaseThatFindsTheModelServerUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := l.Addr().String()
	l.Close()
	w := newWorkspace(t)
	writeReaderSuite(w)
	w.write("suite.yaml", "name: reader-evals\ntarget: reader.yaml\ncases:\n"+
		"  - id: port\n    input: What port does the app use?\n    expect: [{ contains: \"8421\" }]\n"+
		"  - id: owner\n    input: Who owns the service?\n    expect: [{ contains: \"Ada\" }]\n"+
		"  - id: host\n    input: Which host?\n    expect: [{ contains: \"db1\" }]\n")
	t.Setenv("OLLAMA_HOST", closed)
	t.Setenv("TANDEM_MODEL", "scripted")
	t.Setenv("TANDEM_MODEL_RETRY_BACKOFF", "20ms")
	out, errOut, code := w.tandem("eval", "suite.yaml", "--work", filepath.Join(w.dir, "work"))
	if code != 1 {
		t.Fatalf("exit %d, want 1\n%s\n%s", code, out, errOut)
	}
	id := regexp.MustCompile(`\(run (\w+)\)`).FindStringSubmatch(out)
	if id == nil {
		t.Fatalf("no eval run id in:\n%s", out)
	}
	for _, want := range []string{
		"tandem: eval stopped: cannot reach Ollama at http://" + closed,
		"gave up after 3 retries",
		"2 cases were not run: start the model server, then tandem eval resume " + id[1] + "\n",
	} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut)
		}
	}
	if strings.Count(errOut, "cannot reach Ollama") != 1 {
		t.Errorf("the cause is not said once:\n%s", errOut)
	}
	if !strings.Contains(out, "0 of 1 runs passed, 2 not run yet (tandem eval resume "+id[1]+")") {
		t.Errorf("the table does not say what is left:\n%s", out)
	}
	runs, _, _ := w.tandem("runs", "--all", "--json")
	if n := strings.Count(runs, `"parent_run_id": "`+id[1]+`"`) + strings.Count(runs, `"parent_run_id":"`+id[1]+`"`); n != 1 {
		t.Fatalf("%d case runs, want the one that found the server down:\n%s", n, runs)
	}

	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		serveScripted(w, r, func([]chatMessage) string { return "Ada owns db1 on port 8421." })
	}))
	t.Cleanup(srv.Close)
	t.Setenv("OLLAMA_HOST", srv.URL)
	out, errOut, code = w.tandem("eval", "resume", id[1], "--work", filepath.Join(w.dir, "work"))
	if code != 1 || !strings.Contains(out, "2 of 3 runs passed") || strings.Contains(out, "not run yet") || strings.Contains(errOut, "eval stopped") {
		t.Fatalf("resume: exit %d (the first case's failure is kept: want 1)\n%s\n%s", code, out, errOut)
	}
}
