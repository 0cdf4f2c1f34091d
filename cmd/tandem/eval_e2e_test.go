package main_test

import (
	"encoding/json"
	"os"
	"path/filepath"
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
