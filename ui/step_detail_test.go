package ui

import (
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi"

	"tandem/engine"
)

// retriedState is a run whose step "fetch" failed once with stderr and then succeeded with
// JSON output.
func retriedState() *engine.State {
	return runState(
		ev(engine.StepStarted, "fetch", `{"key":"r1/fetch/1","input":"curl -sf https://example.test/items"}`),
		engine.Event{Type: engine.StepFailed, StepID: "fetch", Attempt: 1, Data: []byte(
			`{"exit_code":22,"duration_ms":340,"error":"exit status 22","reason":"exit","stderr_tail":"curl: (22) The requested URL returned error: 503\nretrying later","retry_in_ms":1000}`)},
		engine.Event{Type: engine.StepStarted, StepID: "fetch", Attempt: 2, Data: []byte(`{"key":"r1/fetch/2","input":"curl -sf https://example.test/items"}`)},
		engine.Event{Type: engine.StepSucceeded, StepID: "fetch", Attempt: 2, Data: []byte(
			`{"exit_code":0,"duration_ms":1200,"output":"{\"items\":[1,2],\"next\":null}"}`)},
	)
}

func TestStepDetail(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		w, h int
		keys []string
	}{
		{"every_attempt", 64, 34, nil},
		{"scrolled_to_output", 64, 12, []string{"G"}},
		{"narrow_wraps", 36, 40, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m := NewStepDetail(NewTheme(true))
			m.SetSize(tt.w, tt.h)
			m.SetStep("r1", "shell", retriedState().Steps["fetch"])
			for _, k := range tt.keys {
				m, _ = m.Update(keyPress(k))
			}
			got := m.View()
			if n := strings.Count(got, "\n") + 1; n != tt.h {
				t.Errorf("view has %d lines, want %d", n, tt.h)
			}
			golden(t, "detail_"+tt.name, got+"\n")
		})
	}
}

func TestStepDetailShowsEveryAttemptAndItsKey(t *testing.T) {
	t.Parallel()
	m := NewStepDetail(NewTheme(true))
	m.SetSize(80, 60)
	m.SetStep("r1", "shell", retriedState().Steps["fetch"])
	got := ansi.Strip(m.View())
	for _, want := range []string{
		"fetch · shell · succeeded",
		"#1 failed · exit 22 · 340ms", "key       r1/fetch/1", "error     exit status 22", "returned error: 503",
		"#2 succeeded · exit 0 · 1.2s", "key       r1/fetch/2",
		"Input (attempt 2)", "curl -sf https://example.test/items",
		`"items": [`, `"next": null`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("detail lacks %q:\n%s", want, got)
		}
	}
}

func TestStepDetailEscCloses(t *testing.T) {
	t.Parallel()
	m := NewStepDetail(NewTheme(true))
	m.SetSize(40, 10)
	_, cmd := m.Update(keyPress("esc"))
	if cmd == nil {
		t.Fatal("esc returned no command")
	}
	if _, ok := cmd().(StepDetailClosedMsg); !ok {
		t.Fatal("esc did not ask to close")
	}
}

func TestStepDetailRefreshKeepsScroll(t *testing.T) {
	t.Parallel()
	m := NewStepDetail(NewTheme(true))
	m.SetSize(60, 8)
	st := retriedState()
	m.SetStep("r1", "shell", st.Steps["fetch"])
	m, _ = m.Update(keyPress("j"))
	m, _ = m.Update(keyPress("j"))
	m.SetStep("r1", "shell", st.Steps["fetch"])
	if off := m.vp.YOffset(); off != 2 {
		t.Fatalf("refreshing the same step moved the view to line %d, want 2", off)
	}
}
