package main_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// An agent run made with tandem ask is promoted to a flow that runs with no model and reads
// the same file.
func TestPromoteTurnsAnAskRunIntoAFlowThatRuns(t *testing.T) {
	srv, _ := startScriptedModel(t,
		action(map[string]any{"tool": "read_file", "arguments": map[string]any{"path": "notes.txt"}}),
		action(map[string]any{"answer": "The port is 8421."}))
	t.Setenv("OLLAMA_HOST", srv.URL)
	t.Setenv("TANDEM_MODEL", "scripted")
	w := newWorkspace(t)
	w.write("reader.yaml", "name: reader\nsystem: s\ntools: [read_file]\ntool_calling: fallback\n")
	w.write("notes.txt", "port = 8421\n")
	out, errOut, code := w.tandem("ask", "reader.yaml", "What port is in notes.txt?", "--json")
	var ask struct {
		RunID string `json:"run_id"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &ask) != nil {
		t.Fatalf("ask: exit %d\n%s\n%s", code, out, errOut)
	}
	if out, errOut, code := w.tandem("promote", ask.RunID); code != 0 || !strings.Contains(out, "reader-promoted.yaml") {
		t.Fatalf("promote: exit %d\n%s\n%s", code, out, errOut)
	}
	src, err := os.ReadFile(filepath.Join(w.dir, "reader-promoted.yaml"))
	if err != nil || !strings.Contains(string(src), `default: "notes.txt"`) {
		t.Fatalf("promoted flow: %v\n%s", err, src)
	}
	srv.Close() // the promoted flow needs no model
	out, errOut, code = w.tandem("run", "reader-promoted.yaml", "--json")
	if code != 0 || !strings.Contains(out, "port = 8421") || !strings.Contains(out, "The port is 8421.") {
		t.Fatalf("run promoted: exit %d\n%s\n%s", code, out, errOut)
	}
	if _, errOut, code := w.tandem("promote", ask.RunID); code != 2 || !strings.Contains(errOut, "exists") {
		t.Fatalf("promote over an existing file: exit %d\n%s", code, errOut)
	}
}
