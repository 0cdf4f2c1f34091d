package ui

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"tandem/agents/model"
	"tandem/engine"
)

const reviewFlow = "name: review\nsteps:\n  - id: draft\n    shell: echo text\n  - id: assist\n    needs: [draft]\n    shell: echo helped\n  - id: gate\n    needs: [assist]\n    approval: { prompt: \"ship it\" }\n  - id: publish\n    needs: [gate]\n    shell: echo published\n"

// reviewApp runs the review flow until it waits for the gate's approval.
func reviewApp(t *testing.T) *testApp {
	t.Helper()
	a := newTestAppWith(t, 120, 24, map[string]string{"review.yaml": reviewFlow, "two.yaml": twoSteps})
	a.m.opts.Who = "ada"
	a.press("r") // review is first
	a.drain()
	a.wantStatus(engine.RunStatusWaiting)
	return a
}

func TestRRunsTheFlowUnderTheSidebarCursor(t *testing.T) {
	a := newTestAppWith(t, 120, 24, map[string]string{"review.yaml": reviewFlow, "two.yaml": twoSteps})
	a.press("j", "r") // two
	a.drain()
	a.wantStatus(engine.RunStatusSucceeded)
	first := a.m.run.id
	// The DAG has the keys and the open run is of two; the cursor is on review: r runs review.
	a.keys("shift+tab", "k", "tab")
	if a.m.showing() != "DAG" {
		t.Fatalf("focus %s, want the DAG", a.m.showing())
	}
	a.press("r")
	a.drain()
	if a.m.run.id == first || a.m.run.state.Start.FlowName != "review" {
		t.Fatalf("r ran %s (run %s), want review", a.m.run.state.Start.FlowName, a.m.run.id)
	}
	// With the cursor on a run, r says so and starts nothing.
	a.keys("shift+tab", "j", "j")
	if a.m.sidebar.SelectedRun() == "" {
		t.Fatal("the cursor is not on a run")
	}
	before := a.m.run.id
	a.press("r")
	a.drain()
	if a.m.run.id != before || !strings.Contains(a.m.status.text, "not a flow") {
		t.Fatalf("r on a run: opened %s, status %q", a.m.run.id, a.m.status.text)
	}
}

func TestLettersTypedInTheDAGNeverChangeTheRun(t *testing.T) {
	a := reviewApp(t)
	a.keys("tab") // the trace; back to the DAG
	a.keys("shift+tab")
	if a.m.showing() != "DAG" {
		t.Fatalf("focus %s, want the DAG", a.m.showing())
	}
	seq := a.m.run.state.LastSeq
	a.typeText("/assist")
	a.drain()
	if a.m.run.state.LastSeq != seq || a.m.confirm.Asking() {
		t.Fatalf("typing /assist changed the run (seq %d -> %d) or asked %v", seq, a.m.run.state.LastSeq, a.m.confirm.Asking())
	}
	if got := a.m.dag.Selected(); got != "assist" {
		t.Errorf("the search selected %q, want assist", got)
	}
	a.keys("enter")
	if a.m.dag.Capturing() {
		t.Fatal("enter did not end the search")
	}
	a.wantStatus(engine.RunStatusWaiting)
}

func TestApproveAsksAndRecordsTheCommentAndWho(t *testing.T) {
	a := reviewApp(t)
	a.wantScreen("waiting on gate (approval)")
	// The selected step is not the gate: a moves to it and asks.
	a.press("a")
	if got := a.m.dag.Selected(); got != "gate" {
		t.Fatalf("a selected %q, want the waiting gate", got)
	}
	a.wantScreen("approve gate of run run1?", "comment:")
	a.wantStatus(engine.RunStatusWaiting)
	a.typeText("looks good")
	a.press("enter")
	a.drain()
	a.wantStatus(engine.RunStatusSucceeded)
	var d engine.ApprovalData
	if err := json.Unmarshal([]byte(a.step("gate").Output), &d); err != nil {
		t.Fatalf("gate output %q: %v", a.step("gate").Output, err)
	}
	if !d.Approved || d.Who != "ada" || d.Comment != "looks good" || d.When.Location().String() != "UTC" {
		t.Fatalf("approval recorded as %+v", d)
	}
}

func TestRejectCanBeDeclined(t *testing.T) {
	a := reviewApp(t)
	a.press("x")
	a.wantScreen("reject gate of run run1?")
	a.press("y", "esc") // y is a comment here, not an answer
	a.drain()
	a.wantStatus(engine.RunStatusWaiting)
	if a.m.confirm.Asking() {
		t.Fatal("esc did not close the question")
	}
}

func TestCancelAsksFirst(t *testing.T) {
	a := reviewApp(t)
	a.press("c")
	a.wantScreen("cancel run run1 of review?")
	a.wantStatus(engine.RunStatusWaiting)
	a.press("enter")
	a.drain()
	a.wantStatus(engine.RunStatusCancelled)
}

const commitsFlow = "name: commits\ninputs:\n  commits: { type: string, default: a1 }\nsteps:\n  - id: files\n    shell: echo files of {{ .inputs.commits }}\n  - id: stats\n    shell: echo 42\n  - id: summary\n    needs: [files, stats]\n    shell: echo summary\n"

func TestForkFormShowsThePlanAndRerunsWhatReadsAChangedInput(t *testing.T) {
	a := newTestAppWith(t, 120, 24, map[string]string{"commits.yaml": commitsFlow})
	a.press("r")
	a.keys("ctrl+s") // the form, with its default
	a.drain()
	a.wantStatus(engine.RunStatusSucceeded)
	first := a.m.run.id
	if !a.m.dag.Select("summary") {
		t.Fatal("no summary step in the DAG")
	}
	a.keys("F")
	if a.m.showing() != "form" {
		t.Fatalf("F did not open the inputs form: focus %s, status %q", a.m.showing(), a.m.status.text)
	}
	a.wantScreen("fork run1 at summary with these inputs", "› a1", "reuses files, stats · runs summary")
	a.keys("ctrl+u")
	a.typeText("b2")
	a.wantScreen("reuses stats · runs files, summary")
	a.keys("ctrl+s")
	a.drain()
	if a.m.run.id == first {
		t.Fatal("the fork was not opened")
	}
	a.wantStatus(engine.RunStatusSucceeded)
	if s := a.step("files"); s.ReusedFrom != "" || s.Output != "files of b2" {
		t.Errorf("files: reused from %q, output %q; want it run again with b2", s.ReusedFrom, s.Output)
	}
	if s := a.step("stats"); s.ReusedFrom != first {
		t.Errorf("stats was not reused (from %q)", s.ReusedFrom)
	}
	if got := a.m.run.state.Start.Inputs["commits"]; got != "b2" {
		t.Errorf("the fork's commits = %v", got)
	}
	// Compared with its source, the changed input comes first.
	a.keys("D", "enter")
	a.wantScreen(`input commits: A "b2" · B "a1"`)
}

func TestBreakpointsSetOnAFlowsPreviewHoldItsRun(t *testing.T) {
	a := newTestAppWith(t, 120, 24, map[string]string{"two.yaml": twoSteps})
	a.press("j", "k") // select two: its DAG previews
	a.keys("tab", "l", "B")
	a.wantScreen("r runs two holding before second", "● break")
	a.keys("r")
	a.drain()
	a.wantStatus(engine.RunStatusPaused)
	if a.step("first").Status != engine.StatusSucceeded || a.step("second").Status != engine.StatusPending {
		t.Fatalf("first %s, second %s; want the run held before second", a.step("first").Status, a.step("second").Status)
	}
	if got := a.m.run.state.Start.Breakpoints; len(got) != 1 || got[0] != "second" {
		t.Fatalf("the run started with breakpoints %v", got)
	}
}

func TestFollowSelectsTheFailedStepAndAMoveByHandStopsIt(t *testing.T) {
	a := newTestAppWith(t, 120, 30, map[string]string{
		"six.yaml": "name: six\nsteps:\n  - id: a\n    shell: echo a\n  - id: b\n    needs: [a]\n    shell: exit 4\n  - id: c\n    needs: [b]\n    shell: echo c\n",
	})
	a.press("r")
	a.drain()
	if got := a.m.dag.Selected(); got != "b" {
		t.Fatalf("follow selected %q, want the failed step b\n%s", got, a.screen())
	}
	if !strings.Contains(a.screen(), "b · following") || !strings.Contains(a.screen(), "follow ✓") {
		t.Fatalf("the trace does not show the failed step, or the bar does not say follow is on:\n%s", a.screen())
	}
	a.press("k")
	if a.m.follow {
		t.Fatal("a move by hand left follow on")
	}
	a.press("f")
	if !a.m.follow || a.m.dag.Selected() != "b" {
		t.Fatalf("f: follow %v, selected %q, want on and b", a.m.follow, a.m.dag.Selected())
	}
}

func TestRetryOffersTheFileAsItIsNow(t *testing.T) {
	a := newTestAppWith(t, 120, 30, map[string]string{
		"fix.yaml": "name: fix\nsteps:\n  - id: a\n    shell: echo a\n  - id: b\n    needs: [a]\n    shell: exit 4\n",
	})
	a.press("r")
	a.drain()
	a.wantStatus(engine.RunStatusFailed)
	if err := os.WriteFile(filepath.Join(a.dir, "fix.yaml"),
		[]byte("name: fix\nsteps:\n  - id: a\n    shell: echo a\n  - id: b\n    needs: [a]\n    shell: echo fixed\n  - id: c\n    needs: [b]\n    shell: echo added\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	a.send(LoadFlows(a.dir)()) // what the workspace watch sends when the file is saved
	a.wantScreen("file changed (+4 -1 lines; V shows)")
	a.press("V")
	a.wantScreen("- as the run recorded it, + as it is now", "-     shell: exit 4", "+     shell: echo fixed", "+     shell: echo added")
	a.press("esc")
	a.press("R")
	a.wantScreen("the file changed", "with the file as it is now")
	a.press("n")
	a.drain()
	a.wantStatus(engine.RunStatusSucceeded)
	if got := a.step("c").Output; got != "added" {
		t.Fatalf("c = %q, want the step the file added to have run", got)
	}
	if strings.Contains(a.screen(), "file changed") {
		t.Errorf("the run still says its file changed after going on with it:\n%s", a.screen())
	}
}

func TestRetryAsRecordedKeepsTheRunsFlow(t *testing.T) {
	a := newTestAppWith(t, 120, 30, map[string]string{
		"fix.yaml": "name: fix\nsteps:\n  - id: a\n    shell: echo a\n  - id: b\n    needs: [a]\n    shell: exit 4\n",
	})
	a.press("r")
	a.drain()
	if err := os.WriteFile(filepath.Join(a.dir, "fix.yaml"),
		[]byte("name: fix\nsteps:\n  - id: a\n    shell: echo a\n  - id: b\n    needs: [a]\n    shell: echo fixed\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	a.send(LoadFlows(a.dir)())
	a.press("R", "enter")
	a.drain()
	a.wantStatus(engine.RunStatusFailed)
	if n := len(a.step("b").Attempts); n != 2 {
		t.Fatalf("b has %d attempts, want a second one as recorded", n)
	}
}

// enter on a flow in the sidebar closes the open run and previews the flow: it does not do
// nothing while a run is open.
func TestEnterOnAFlowClosesTheOpenRunAndPreviewsTheFlow(t *testing.T) {
	a := newChatApp(t, 120, 32, &model.Fake{}, nil)
	id := a.runHello()
	a.send(loadRuns(a.store, 0)())
	for n := 0; a.m.sidebar.SelectedRun() != id; n++ {
		if n > 20 {
			t.Fatalf("the cursor never reached the run:\n%s", a.screen())
		}
		a.press("j")
	}
	a.press("enter")
	a.until("the run opens", func() bool { return a.m.run.id == id })
	a.press("shift+tab")
	for f, ok := a.m.sidebar.SelectedFlow(); !ok || f.Name != "hello"; f, ok = a.m.sidebar.SelectedFlow() {
		a.press("k")
	}
	a.press("enter")
	a.until("hello's preview replaces the run", func() bool {
		return a.m.run.id == "" && strings.Contains(a.screen(), "hello  (1 run, last ✓ succeeded")
	})
}
