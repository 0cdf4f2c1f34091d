package main_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// A real model cannot be made to call the shell tool on cue, so these tests script the
// Ollama API: the first reply calls shell, the next answers with the tool's result.

const (
	shellerAgent = "name: sheller\nmodel: scripted\nsystem: You run commands.\ntools: [shell]\nmax_turns: 3\n"
	shellerFlow  = "name: sh\nsteps:\n  - id: act\n    agent: sheller.yaml\n    prompt: make the file\n"
	shellCommand = "echo from-the-shell > ran.txt; cat ran.txt"
)

// scriptedOllama serves the Ollama API calls an agent step makes: its model has no native
// tools, so the agent writes its actions as JSON. It records the tool results it was told.
type scriptedOllama struct {
	mu   sync.Mutex
	told []string
}

func startScriptedOllama(t *testing.T) (*httptest.Server, *scriptedOllama) {
	t.Helper()
	s := &scriptedOllama{}
	srv := httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(srv.Close)
	return srv, s
}

func (s *scriptedOllama) serve(w http.ResponseWriter, r *http.Request) {
	serveScripted(w, r, func(msgs []chatMessage) string {
		action := map[string]any{"tool": "shell", "arguments": map[string]any{"command": shellCommand}}
		if n := len(msgs); n > 2 { // after the tool's result: answer with it
			last := msgs[n-1].Content
			s.mu.Lock()
			s.told = append(s.told, last)
			s.mu.Unlock()
			action = map[string]any{"answer": strings.SplitN(last, "\n", 2)[0]}
		}
		content, _ := json.Marshal(action)
		return string(content)
	})
}

func (s *scriptedOllama) results() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.told...)
}

// TestUIE2EWorkbenchAsksBeforeAnAgentRunsAShellCommand drives the real binary: an agent
// step's shell call is asked about in place, with the command shown, and y runs it.
func TestUIE2EWorkbenchAsksBeforeAnAgentRunsAShellCommand(t *testing.T) {
	requireTmux(t)
	srv, script := startScriptedOllama(t)
	w := newWorkspace(t)
	w.write("sheller.yaml", shellerAgent)
	w.write("sh.yaml", shellerFlow)
	s := startTmux(t, w.dir, 120, 30,
		[]string{"OLLAMA_HOST=" + srv.URL, "TANDEM_MODEL=scripted", "TANDEM_DB=" + w.db},
		tandemBin(t), "ui")
	s.waitForText("Flows", "▸ sh")
	s.keys("r")
	s.waitForText("Run shell?", "agent sheller", "step act", "$ "+shellCommand, "y allow once")
	if _, err := os.Stat(filepath.Join(w.dir, "ran.txt")); err == nil {
		t.Fatal("the command ran before it was allowed")
	}
	s.keys("y")
	s.waitFor("the run succeeds", func(scr string) bool { return runSucceeded(scr, "sh") })
	if b, err := os.ReadFile(filepath.Join(w.dir, "ran.txt")); err != nil || strings.TrimSpace(string(b)) != "from-the-shell" {
		t.Fatalf("ran.txt = %q, %v", b, err)
	}
	// The fallback gives the result back as a user turn: "shell {...} returned:\n<output>...".
	if told := script.results(); len(told) != 1 || !strings.Contains(told[0], "returned:\nfrom-the-shell\n") {
		t.Fatalf("the model was told %q", told)
	}
	s.keys("q")
	if status := s.waitExit(); status != "0" {
		t.Fatalf("tandem ui exited with %s", status)
	}
}

// TestHeadlessRunsRefuseShellWithoutAllowShell: no one is there to ask, so without
// --allow-shell the model is told the call was refused, and with it the command runs.
func TestHeadlessRunsRefuseShellWithoutAllowShell(t *testing.T) {
	tests := []struct {
		name string
		args []string
		ran  bool
		told string
	}{
		{"refused without the flag", []string{"run", "sh.yaml"}, false, "shell needs approval"},
		{"run with --allow-shell", []string{"run", "sh.yaml", "--allow-shell"}, true, "from-the-shell"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, script := startScriptedOllama(t)
			w := newWorkspace(t)
			w.write("sheller.yaml", shellerAgent)
			w.write("sh.yaml", shellerFlow)
			t.Setenv("OLLAMA_HOST", srv.URL)
			t.Setenv("TANDEM_MODEL", "scripted")
			out, errOut, code := w.tandem(tt.args...)
			if code != 0 {
				t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
			}
			if _, err := os.Stat(filepath.Join(w.dir, "ran.txt")); (err == nil) != tt.ran {
				t.Errorf("ran.txt exists: %v, want %v", err == nil, tt.ran)
			}
			if told := script.results(); len(told) != 1 || !strings.Contains(told[0], tt.told) {
				t.Fatalf("the model was told %q, want %q in it", told, tt.told)
			}
		})
	}
}
