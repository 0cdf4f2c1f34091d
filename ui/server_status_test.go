package ui

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"tandem/engine"
)

// flakyServer answers Version with err, which the test changes.
type flakyServer struct {
	mu    sync.Mutex
	err   error
	calls int
}

func (s *flakyServer) Version(context.Context) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	return "0.17.4", s.err
}

func (s *flakyServer) set(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.err = err
}

func TestStatusBarSaysWhetherTheModelServerAnswers(t *testing.T) {
	srv := &flakyServer{}
	a := newTestAppWith(t, 120, 24, map[string]string{"check.yaml": "name: check\nsteps:\n  - id: look\n    shell: test -f ok.txt && echo found\n"})
	a.m.opts.Server = srv
	a.run(checkServer(srv)) // as Init does
	if bar := a.m.statusBar(); !strings.Contains(bar, "ollama ✓") {
		t.Fatalf("status bar with the server up: %q", bar)
	}
	// The server goes away; a step fails: the bar checks again and says so.
	srv.set(errors.New("cannot reach Ollama at http://127.0.0.1:1: is `ollama serve` running?"))
	a.press("r")
	a.drain()
	a.wantStatus(engine.RunStatusFailed)
	bar := a.m.statusBar()
	if !strings.Contains(bar, "ollama ✗") || !strings.Contains(bar, "cannot reach Ollama") {
		t.Fatalf("status bar after a failed step with the server gone: %q", bar)
	}
	if srv.calls != 2 {
		t.Errorf("the server was checked %d times, want at start and after the failure", srv.calls)
	}
}
