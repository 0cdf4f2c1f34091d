package ui

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"tandem/engine"
	"tandem/engine/memstore"
	"tandem/flows"
)

// fixedClock keeps every recorded time (and so every duration on screen) at t0.
type fixedClock struct{}

func (fixedClock) Now() time.Time                         { return t0 }
func (fixedClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

type testApp struct {
	t     *testing.T
	m     Model
	eng   *engine.Engine
	store *memstore.Store
	dir   string
}

func newTestApp(t *testing.T, w, h int) *testApp {
	t.Helper()
	return newTestAppWith(t, w, h, map[string]string{
		"hello.yaml": "name: hello\nsteps:\n  - id: greet\n    shell: echo hi there\n  - id: shout\n    needs: [greet]\n    shell: echo HI; echo oops >&2\n",
		"check.yaml": "name: check\nsteps:\n  - id: look\n    shell: test -f ok.txt && echo found\n",
	})
}

// newTestAppWith is newTestApp with a workspace of the given flow files, by name.
func newTestAppWith(t *testing.T, w, h int, files map[string]string) *testApp {
	t.Helper()
	dir := t.TempDir()
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	st := memstore.New()
	n := 0
	eng, err := engine.New(engine.Options{Store: st, Clock: fixedClock{}, Parallel: 1,
		NewID: func() string { n++; return "run" + string(rune('0'+n)) }})
	if err != nil {
		t.Fatal(err)
	}
	a := &testApp{t: t, eng: eng, store: st, dir: dir}
	a.m = New(Options{Engine: eng, Store: st, Dir: dir, Now: func() time.Time { return t0 },
		Tick: func(time.Duration, func(time.Time) tea.Msg) tea.Cmd { return nil }, ManualNotices: true})
	t.Cleanup(a.m.Shutdown)
	a.send(tea.WindowSizeMsg{Width: w, Height: h})
	a.send(LoadFlows(dir)())
	a.send(loadRuns(st, 0)())
	return a
}

// send updates the model with msg and runs the commands it returns (engine calls and loads),
// feeding their messages back. The test app has no ticks and reads no bus on its own: the
// bus's notices are fed explicitly with drain, so every command here finishes.
func (a *testApp) send(msg tea.Msg) {
	a.t.Helper()
	next, cmd := a.m.Update(msg)
	a.m = next.(Model)
	a.run(cmd)
}

func (a *testApp) run(cmd tea.Cmd) {
	if cmd == nil {
		return
	}
	msg := cmd()
	switch msg := msg.(type) {
	case tea.BatchMsg:
		for _, c := range msg {
			a.run(c)
		}
	case nil, frameTickMsg, pollTickMsg, noticesMsg:
	default:
		a.send(msg)
	}
}

// drain feeds the bus's queued notices to the model.
func (a *testApp) drain() { a.send(noticesMsg{notices: a.m.sub.Next()}) }

func (a *testApp) press(keys ...string) {
	for _, k := range keys {
		a.send(keyPress(k))
	}
}

func (a *testApp) screen() string { return ansi.Strip(a.m.View().Content) }

func TestAppRunsAFlowFromTheSidebar(t *testing.T) {
	a := newTestApp(t, 120, 24)
	a.press("j", "r") // the cursor on hello (after check), run it
	a.drain()
	golden(t, "app_wide_after_run", a.screen()+"\n")
	s := a.screen()
	for _, want := range []string{"✓ greet shell", "✓ shout", "✓ hello", "succeeded"} {
		if !strings.Contains(s, want) {
			t.Errorf("screen lacks %q", want)
		}
	}
	// The trace follows the DAG's selection.
	a.press("l")
	if s := a.screen(); !strings.Contains(s, "HI") || !strings.Contains(s, "oops") {
		t.Errorf("trace of shout lacks its stdout and stderr:\n%s", s)
	}
}

func TestAppRetriesAFailedStep(t *testing.T) {
	a := newTestApp(t, 120, 24)
	a.press("r") // check is first: it fails, ok.txt is missing
	a.drain()
	if s := a.screen(); !strings.Contains(s, "✗ look shell") {
		t.Fatalf("look did not fail:\n%s", s)
	}
	if err := os.WriteFile(filepath.Join(a.dir, "ok.txt"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	a.press("R")
	if s := a.screen(); !strings.Contains(s, "retry look of run run1?") {
		t.Fatalf("R did not ask before retrying:\n%s", s)
	}
	a.press("enter")
	a.drain()
	s := a.screen()
	if !strings.Contains(s, "✓ look shell · 2") || !strings.Contains(s, "found") {
		t.Fatalf("retry did not succeed:\n%s", s)
	}
}

func TestAppLayouts(t *testing.T) {
	tests := []struct {
		name string
		w, h int
		keys []string
	}{
		{"narrow_stacked", 80, 30, []string{"j", "r"}},
		{"full_help", 120, 24, []string{"?"}},
		{"tiny_terminal", 40, 10, []string{"j", "r", "tab", "j"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newTestApp(t, tt.w, tt.h)
			a.press(tt.keys...)
			a.drain()
			s := a.screen()
			lines := strings.Split(s, "\n")
			if len(lines) > tt.h {
				t.Errorf("screen has %d lines for a %d-line terminal", len(lines), tt.h)
			}
			for i, l := range lines {
				if w := ansi.StringWidth(l); w > tt.w {
					t.Errorf("line %d is %d wide for a %d-column terminal", i, w, tt.w)
				}
			}
			golden(t, "app_"+tt.name, s+"\n")
		})
	}
}

func TestAppQuitWaitsForExecutions(t *testing.T) {
	a := newTestAppWith(t, 120, 24, map[string]string{
		"slow.yaml": "name: slow\nsteps:\n  - id: wait\n    shell: sleep 60\n"})
	f, err := flows.Load(filepath.Join(a.dir, "slow.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	id, err := a.eng.Start(context.Background(), f, nil, engine.StartOptions{})
	if err != nil {
		t.Fatal(err)
	}
	sub := a.eng.Bus().Subscribe(id)
	defer sub.Close()
	// The app advances the run in the background, as it does for runs started here.
	exec := executeRun(a.m.exec, a.eng, id)
	done := make(chan tea.Msg, 1)
	go func() { done <- exec() }()
	for started := false; !started; {
		select {
		case <-sub.Ready():
		case <-time.After(time.Minute):
			t.Fatal("the step did not start within a minute")
		}
		for _, n := range sub.Next() {
			started = started || (n.Event != nil && n.Event.Type == engine.StepStarted)
		}
	}
	next, cmd := a.m.Update(keyPress("q"))
	a.m = next.(Model)
	if cmd == nil {
		t.Fatal("q returned no command")
	}
	if _, ok := cmd().(quitReadyMsg); !ok {
		t.Fatal("quitting did not end in quitReadyMsg")
	}
	// The quit command returned only after the run recorded how it stopped.
	st, err := a.eng.State(context.Background(), id)
	if err != nil || st.Steps["wait"].Status != engine.StatusInterrupted {
		t.Fatalf("after quitting, step wait is %+v (%v); want interrupted", st.Steps["wait"], err)
	}
	<-done
	_, cmd = a.m.Update(quitReadyMsg{})
	if cmd == nil {
		t.Fatal("quitReadyMsg did not quit")
	}
}

// showing names what has the keys: the overlay over the body, else the focused pane.
func (m Model) showing() string {
	switch m.overlays.body().(type) {
	case *StepDetailModel:
		return "detail"
	case *chatOverlay:
		return "chat"
	case *TextEditorModel:
		return "editor"
	case *inputsForm, *signalForm, *forkForm:
		return "form"
	case *RunDiffModel:
		return "diff"
	}
	return paneNames[m.focus]
}

// editor, form and diff are the open overlay of their kind, or an empty one.
func (m Model) editor() *TextEditorModel {
	if e, ok := m.overlays.body().(*TextEditorModel); ok {
		return e
	}
	return &TextEditorModel{}
}

func (m Model) form() *FormModel {
	switch f := m.overlays.body().(type) {
	case *inputsForm:
		return &f.FormModel
	case *signalForm:
		return &f.FormModel
	case *forkForm:
		return &f.FormModel
	}
	return &FormModel{}
}

func (m Model) diff() *RunDiffModel {
	if d, ok := m.overlays.body().(*RunDiffModel); ok {
		return d
	}
	return &RunDiffModel{}
}
