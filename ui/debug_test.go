package ui

import (
	"context"
	"image/color"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"tandem/engine"
)

// debugKeyPress is keyPress with the keys the debug overlays use: tab, shift+tab and
// ctrl+letter.
func debugKeyPress(s string) tea.KeyPressMsg {
	switch {
	case s == "tab":
		return tea.KeyPressMsg{Code: tea.KeyTab}
	case s == "shift+tab":
		return tea.KeyPressMsg{Code: tea.KeyTab, Mod: tea.ModShift}
	case strings.HasPrefix(s, "ctrl+") && len(s) == len("ctrl+x"):
		return tea.KeyPressMsg{Code: rune(s[5]), Mod: tea.ModCtrl}
	}
	return keyPress(s)
}

// keys presses keys as debugKeyPress spells them.
func (a *testApp) keys(keys ...string) {
	a.t.Helper()
	for _, k := range keys {
		a.send(debugKeyPress(k))
	}
}

// typeText types s one key at a time.
func (a *testApp) typeText(s string) {
	a.t.Helper()
	for _, r := range s {
		a.send(keyPress(string(r)))
	}
}

// startOnly records a run of the selected flow without executing it and opens it, as a run
// another process started would be.
func (a *testApp) startOnly() string {
	a.t.Helper()
	e, ok := a.m.sidebar.SelectedFlow()
	if !ok || e.Flow == nil {
		a.t.Fatal("no flow selected")
	}
	id, err := a.eng.Start(context.Background(), e.Flow, map[string]any{}, engine.StartOptions{})
	if err != nil {
		a.t.Fatal(err)
	}
	a.send(RunSelectedMsg{RunID: id})
	a.drain()
	return id
}

// execute advances the open run in the app's own executions, as the run started here would.
func (a *testApp) execute() {
	a.t.Helper()
	a.run(executeRun(a.m.exec, a.eng, a.m.run.id))
	a.drain()
}

func (a *testApp) step(id string) *engine.StepState {
	a.t.Helper()
	if a.m.run.state == nil {
		a.t.Fatal("no run open")
	}
	st := a.m.run.state.Steps[id]
	if st == nil { // not started: the log has nothing about it yet
		return &engine.StepState{ID: id, Status: engine.StatusPending}
	}
	return st
}

func (a *testApp) wantStatus(want engine.RunStatus) {
	a.t.Helper()
	if a.m.run.state == nil || a.m.run.state.Status != want {
		got := engine.RunStatus("no run")
		if a.m.run.state != nil {
			got = a.m.run.state.Status
		}
		a.t.Fatalf("run is %s, want %s\n%s", got, want, a.screen())
	}
}

func (a *testApp) wantScreen(wants ...string) {
	a.t.Helper()
	s := a.screen()
	for _, w := range wants {
		if !strings.Contains(s, w) {
			a.t.Errorf("screen lacks %q:\n%s", w, s)
		}
	}
}

const twoSteps = "name: two\nsteps:\n  - id: first\n    shell: echo one\n  - id: second\n    needs: [first]\n    shell: echo two\n"

func TestDebugPauseThenContinueFinishesARun(t *testing.T) {
	a := newTestAppWith(t, 120, 24, map[string]string{"two.yaml": twoSteps})
	a.startOnly()
	a.keys("p")
	a.drain()
	a.wantScreen("running, pausing", "p continue")
	a.execute() // the run's executor sees the pause and parks it before anything starts
	a.wantStatus(engine.RunStatusPaused)
	if st := a.step("first"); st.Status != engine.StatusPending {
		t.Fatalf("first is %s while the run is paused", st.Status)
	}
	a.wantScreen("p continue")
	a.keys("p")
	a.drain()
	a.wantStatus(engine.RunStatusSucceeded)
	if got := a.step("second").Output; strings.TrimSpace(got) != "two" {
		t.Errorf("second's output is %q", got)
	}
}

func TestDebugStepOnceRunsExactlyOneStep(t *testing.T) {
	a := newTestAppWith(t, 120, 24, map[string]string{"two.yaml": twoSteps})
	a.startOnly()
	a.keys("s")
	a.drain()
	a.wantStatus(engine.RunStatusPaused)
	if a.step("first").Status != engine.StatusSucceeded || a.step("second").Status != engine.StatusPending {
		t.Fatalf("after one step: first %s, second %s", a.step("first").Status, a.step("second").Status)
	}
	a.wantScreen("paused (step mode)")
	a.keys("s")
	a.drain()
	a.wantStatus(engine.RunStatusSucceeded)
}

func TestDebugBreakpointMarksTheNodeAndHoldsTheRun(t *testing.T) {
	a := newTestAppWith(t, 160, 16, map[string]string{"two.yaml": twoSteps})
	a.startOnly()
	a.keys("l", "B") // select second, set a breakpoint before it
	a.drain()
	if !a.m.run.state.Breakpoints["second"] {
		t.Fatal("no breakpoint recorded at second")
	}
	a.wantScreen("● break")
	a.execute()
	a.wantStatus(engine.RunStatusPaused)
	if a.step("first").Status != engine.StatusSucceeded || a.step("second").Status != engine.StatusPending {
		t.Fatalf("at the breakpoint: first %s, second %s", a.step("first").Status, a.step("second").Status)
	}
	a.wantScreen("● held here", "paused (breakpoint at second)")
	golden(t, "debug_breakpoint_held", a.screen()+"\n")

	a.keys("p")
	a.drain()
	a.wantStatus(engine.RunStatusSucceeded)
	a.wantScreen("● break") // the breakpoint stays set for a later run of the step
}

func TestDebugRetryWithAnEditedInputRunsTheEditedCommand(t *testing.T) {
	a := newTestApp(t, 120, 24)
	a.press("r") // check: look fails, ok.txt is missing
	a.drain()
	a.wantStatus(engine.RunStatusFailed)
	a.keys("e")
	if a.m.showing() != "editor" || a.m.editor().Value() != "test -f ok.txt && echo found" {
		t.Fatalf("the editor holds %q, focus %s", a.m.editor().Value(), a.m.showing())
	}
	golden(t, "debug_retry_editor", a.screen()+"\n")
	a.keys("ctrl+u") // clear the line
	a.typeText("echo edited by hand")
	a.keys("ctrl+s")
	a.drain()
	a.wantStatus(engine.RunStatusSucceeded)
	look := a.step("look")
	if strings.TrimSpace(look.Output) != "edited by hand" || len(look.Attempts) != 2 {
		t.Fatalf("look after the edited retry: %d attempts, output %q", len(look.Attempts), look.Output)
	}
	if a.m.showing() != "DAG" {
		t.Errorf("the editor did not give the keys back: focus %s", a.m.showing())
	}
}

func TestDebugEscClosesTheEditorWithoutRetrying(t *testing.T) {
	a := newTestApp(t, 120, 24)
	a.press("r")
	a.drain()
	a.keys("e", "esc")
	if a.m.showing() != "DAG" {
		t.Fatalf("esc left focus %s", a.m.showing())
	}
	if n := len(a.step("look").Attempts); n != 1 {
		t.Fatalf("look has %d attempts after a cancelled edit", n)
	}
}

func TestDebugSkipWithAManualOutputFeedsTheDependent(t *testing.T) {
	flow := "name: skip\nsteps:\n  - id: broken\n    shell: exit 1\n  - id: after\n    needs: [broken]\n    shell: echo got {{ .steps.broken.output }}\n"
	a := newTestAppWith(t, 120, 24, map[string]string{"skip.yaml": flow})
	a.press("r")
	a.drain()
	a.wantStatus(engine.RunStatusFailed)
	a.keys("S")
	if a.m.showing() != "editor" || a.m.editor().Value() != "" {
		t.Fatalf("the skip editor holds %q, focus %s", a.m.editor().Value(), a.m.showing())
	}
	a.typeText("by-hand")
	a.keys("ctrl+s")
	a.drain()
	a.wantStatus(engine.RunStatusSucceeded)
	if got := strings.TrimSpace(a.step("after").Output); got != "got by-hand" {
		t.Fatalf("after's output is %q", got)
	}
	if !a.step("broken").Manual {
		t.Error("broken is not marked as set by hand")
	}
}

func TestDebugForkReusesEarlierOutputsAndOpensTheNewRun(t *testing.T) {
	a := newTestApp(t, 120, 24)
	a.press("j", "r") // hello: greet then shout
	a.drain()
	a.wantStatus(engine.RunStatusSucceeded)
	first := a.m.run.id
	a.keys("l", "F") // fork at shout
	a.wantScreen("fork run1 at shout? reuses greet · runs shout")
	a.keys("enter")
	a.drain()
	if a.m.run.id == first {
		t.Fatalf("the fork was not opened: still on %s", first)
	}
	a.wantStatus(engine.RunStatusSucceeded)
	if got := a.m.run.state.Start.ForkedFrom; got != first {
		t.Errorf("forked from %q, want %q", got, first)
	}
	if g := a.step("greet"); g.ReusedFrom != first || len(g.Attempts) != 0 {
		t.Errorf("greet was not reused: from %q, %d attempts", g.ReusedFrom, len(g.Attempts))
	}
	if s := a.step("shout"); s.Status != engine.StatusSucceeded || len(s.Attempts) != 1 {
		t.Errorf("shout did not run again: %s, %d attempts", s.Status, len(s.Attempts))
	}
	a.wantScreen("forked run " + a.m.run.id)
}

func TestDebugSignalResolvesAWaitingStep(t *testing.T) {
	flow := "name: gate\nsteps:\n  - id: door\n    wait: knock\n  - id: enter\n    needs: [door]\n    shell: echo welcome {{ .steps.door.json.who }}\n"
	a := newTestAppWith(t, 120, 24, map[string]string{"gate.yaml": flow})
	a.press("r")
	a.drain()
	a.wantStatus(engine.RunStatusWaiting)
	a.m.focus = paneTrace
	a.keys("!") // in the trace, ! is the next problem
	if a.m.showing() != "trace" {
		t.Fatalf("! in the trace pane opened %s instead of staying in the trace", a.m.showing())
	}
	a.m.focus = paneDAG
	a.keys("!")
	if a.m.showing() != "form" {
		t.Fatalf("! did not open the signal form: focus %s", a.m.showing())
	}
	golden(t, "debug_signal_form", a.screen()+"\n")
	a.typeText(`{"who":"ada"`)
	a.keys("enter") // the data is the last field: enter submits
	if !strings.Contains(a.m.form().Err(), "not JSON") || a.m.showing() != "form" {
		t.Fatalf("bad JSON was not refused: focus %s, %q", a.m.showing(), a.m.form().Err())
	}
	a.typeText("}")
	a.keys("enter")
	a.drain()
	a.wantStatus(engine.RunStatusSucceeded)
	if got := strings.TrimSpace(a.step("enter").Output); got != "welcome ada" {
		t.Fatalf("enter's output is %q", got)
	}
}

func TestDebugInputsFormStartsTheRunWithTheEnteredValues(t *testing.T) {
	flow := "name: greet\ninputs:\n  who: { type: string, default: world }\n  times: { type: integer, default: 2, description: how often }\nsteps:\n  - id: say\n    shell: echo hello {{ .inputs.who }} x{{ .inputs.times }}\n"
	a := newTestAppWith(t, 120, 24, map[string]string{"greet.yaml": flow})
	a.press("r")
	if a.m.showing() != "form" || a.m.run.state != nil {
		t.Fatalf("r on a flow with inputs did not open the form: focus %s", a.m.showing())
	}
	golden(t, "debug_inputs_form", a.screen()+"\n")
	a.keys("ctrl+u")
	a.typeText("tandem")
	a.keys("tab", "ctrl+u")
	a.typeText("many")
	a.keys("ctrl+s")
	if a.m.showing() != "form" || a.m.run.state != nil {
		t.Fatalf("a bad integer started a run: focus %s", a.m.showing())
	}
	a.wantScreen(`input "times": "many" is not an integer`)
	a.keys("ctrl+u")
	a.typeText("3")
	a.keys("enter") // the last field: enter submits
	a.drain()
	a.wantStatus(engine.RunStatusSucceeded)
	if got := strings.TrimSpace(a.step("say").Output); got != "hello tandem x3" {
		t.Fatalf("say's output is %q", got)
	}
	if got := a.m.run.state.Start.Inputs["times"]; got != float64(3) && got != 3 {
		t.Errorf("times was recorded as %v (%T)", got, got)
	}

	// r on the open run's flow asks again, prefilled with the run's inputs.
	a.keys("r")
	if a.m.showing() != "form" {
		t.Fatalf("r on the open run did not open the form: focus %s", a.m.showing())
	}
	a.wantScreen("› tandem", "› 3")
	a.keys("esc")
}

func TestDebugFlowWithoutInputsStartsAtOnce(t *testing.T) {
	a := newTestAppWith(t, 120, 24, map[string]string{"two.yaml": twoSteps})
	a.press("r")
	a.drain()
	a.wantStatus(engine.RunStatusSucceeded)
}

func TestDebugDiffListsDifferingSteps(t *testing.T) {
	flow := "name: vary\nsteps:\n  - id: fixed\n    shell: echo same\n  - id: read\n    needs: [fixed]\n    shell: cat value.txt\n"
	a := newTestAppWith(t, 120, 24, map[string]string{"vary.yaml": flow})
	write := func(s string) {
		if err := os.WriteFile(filepath.Join(a.dir, "value.txt"), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("alpha\nbeta\n")
	a.press("r")
	a.drain()
	first := a.m.run.id
	write("alpha\ngamma\n")
	a.keys("shift+tab", "r") // back to the sidebar and run it again
	a.drain()
	if a.m.run.id == first {
		t.Fatal("the second run was not opened")
	}
	a.keys("D")
	if a.m.showing() != "diff" {
		t.Fatalf("D did not open the run diff: focus %s, status %q", a.m.showing(), a.m.status.text)
	}
	a.wantScreen(first)
	a.keys("enter")
	rows := a.m.diff().Rows()
	var differ []string
	for _, r := range rows {
		if !r.Equal {
			differ = append(differ, r.StepID)
		}
	}
	if len(rows) != 2 || strings.Join(differ, ",") != "read" {
		t.Fatalf("diff rows %+v", rows)
	}
	a.wantScreen("A "+a.m.run.id+" vs B "+first, "different", "- gamma", "+ beta") // A is the open run
	golden(t, "debug_run_diff", a.screen()+"\n")
	a.keys("esc")
	if a.m.showing() != "DAG" {
		t.Errorf("esc left focus %s", a.m.showing())
	}
}

func TestDebugKeysRefuseWithoutARun(t *testing.T) {
	a := newTestApp(t, 120, 24)
	// B is left out: on a flow not yet run it marks a step for the run r starts.
	for _, k := range []string{"p", "s", "e", "S", "F", "!", "D"} {
		a.m.status.text = ""
		a.keys(k)
		if a.m.status.text == "" || a.m.status.ok {
			t.Errorf("%s without a run open said %q", k, a.m.status.text)
		}
		if a.m.showing() != "sidebar" {
			t.Errorf("%s without a run open moved the focus to %s", k, a.m.showing())
		}
	}
}

func TestDebugOverlaysFollowTheBackground(t *testing.T) {
	a := newTestApp(t, 120, 24)
	a.press("r") // check fails: its step can be edited and skipped
	a.drain()
	a.press("r") // a second run of check, to compare with
	a.drain()
	light, dark := tea.BackgroundColorMsg{Color: color.White}, tea.BackgroundColorMsg{Color: color.Black}
	tests := []struct {
		key   string
		focus string
		dark  func() bool // the open overlay's theme
	}{
		{"e", "editor", func() bool { return a.m.editor().theme.Dark }},
		{"S", "editor", func() bool { return a.m.editor().theme.Dark }},
		{"D", "diff", func() bool { return a.m.diff().theme.Dark }},
	}
	for _, tt := range tests {
		a.send(dark)
		a.keys(tt.key)
		if a.m.showing() != tt.focus {
			t.Fatalf("%s: focus = %s, want the overlay %s", tt.key, a.m.showing(), tt.focus)
		}
		a.send(light)
		if tt.dark() {
			t.Errorf("%s: the open overlay kept the dark theme after the background turned light", tt.key)
		}
		a.keys("esc")
	}
	a.send(dark) // with every overlay closed
	if !a.m.theme.Dark || !a.m.dag.theme.Dark {
		t.Fatal("the panes did not follow the background with the overlays closed")
	}
}

func TestDAGMarksBreakpointsAndRepaintsWhenTheyChange(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		events []engine.Event
		want   map[string]string // step: the mark on its box, "" for none
	}{
		{"no breakpoints", nil, map[string]string{"left": "", "join": ""}},
		{"a breakpoint set", []engine.Event{ev(engine.BreakpointSet, "join", `{"on":true}`)},
			map[string]string{"left": "", "join": "● break"}},
		{"the run held at it", []engine.Event{ev(engine.BreakpointSet, "join", `{"on":true}`), ev(engine.BreakpointHit, "join", "")},
			map[string]string{"join": "● held here"}},
		{"the breakpoint cleared", []engine.Event{ev(engine.BreakpointSet, "join", `{"on":true}`), ev(engine.BreakpointSet, "join", `{"on":false}`)},
			map[string]string{"join": ""}},
	}
	m := NewDAG(NewTheme(true))
	m.SetSize(150, 12)
	m.SetRun("r1", diamondFlow(), nil, t0)
	for _, tt := range tests { // in order, on one model: each state repaints the last one's boxes
		t.Run(tt.name, func(t *testing.T) {
			m.SetState(runState(tt.events...), t0)
			view := ansi.Strip(m.View())
			for id, mark := range tt.want {
				top := boxTop(t, view, id)
				if mark == "" && strings.Contains(top, "●") || mark != "" && !strings.Contains(top, mark) {
					t.Errorf("%s's box top is %q, want mark %q\n%s", id, top, mark, view)
				}
			}
		})
	}
}

// boxTop returns the top border of the box labelled with step id in a DAG view.
func boxTop(t *testing.T, view, id string) string {
	t.Helper()
	lines := strings.Split(view, "\n")
	for i := 1; i < len(lines); i++ {
		col := strings.Index(lines[i], " "+id+" ")
		if col < 0 {
			continue
		}
		// Box-drawing runes are several bytes: compare by cells, not bytes.
		x := ansi.StringWidth(lines[i][:col])
		row := []rune(lines[i-1])
		from, to := max(x-4, 0), min(x+24, len(row))
		return string(row[from:to])
	}
	t.Fatalf("no box for %s in\n%s", id, view)
	return ""
}

// bindings lists the key.Binding fields of a keymap struct.
func bindings(keymap any) []key.Binding {
	var out []key.Binding
	v := reflect.ValueOf(keymap)
	for i := range v.NumField() {
		if b, ok := v.Field(i).Interface().(key.Binding); ok {
			out = append(out, b)
		}
	}
	return out
}

func TestAppKeysLeaveThePanesTheirOwn(t *testing.T) {
	// The app matches its keys before the focused pane sees them, so a key both claim would
	// never reach the pane.
	app := map[string]bool{}
	for _, b := range bindings(DefaultAppKeyMap) {
		for _, k := range b.Keys() {
			app[k] = true
		}
	}
	panes := map[string]struct {
		pane   pane
		keymap any
	}{"sidebar": {paneSidebar, DefaultRunsKeyMap}, "DAG": {paneDAG, DefaultDAGKeyMap}, "trace": {paneTrace, DefaultTraceKeyMap}}
	for name, p := range panes {
		for _, b := range bindings(p.keymap) {
			for _, k := range b.Keys() {
				if app[k] && !paneFirst[p.pane][k] { // paneFirst: the app hands the key on
					t.Errorf("%q is both the app's and the %s's (%s)", k, name, b.Help().Desc)
				}
			}
		}
	}
}

func TestAnInterruptedRunResumesWithU(t *testing.T) {
	a := newTestAppWith(t, 120, 24, map[string]string{"two.yaml": twoSteps})
	id := a.startOnly()
	cut, stop := context.WithCancel(context.Background())
	stop() // the process advancing it was stopped at once (Ctrl-C)
	if st, _ := a.eng.Execute(cut, id); st == nil || st.Status != engine.RunStatusInterrupted {
		t.Fatalf("setting up an interrupted run: %+v", st)
	}
	a.send(RunSelectedMsg{RunID: id})
	a.drain()
	a.wantStatus(engine.RunStatusInterrupted)
	a.keys("u")
	a.drain()
	a.wantStatus(engine.RunStatusSucceeded)
}
