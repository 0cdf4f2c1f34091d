package ui

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"tandem/agents/model"
)

func TestEvalViewShowsCasesByModelsOpensACellsRunAndPromotesIt(t *testing.T) {
	fake := &model.Fake{Respond: func(req model.Request) (model.FakeReply, error) {
		last := req.Messages[len(req.Messages)-1]
		switch {
		case strings.Contains(last.Content, "returned:"): // after the read: answer
			return model.FakeReply{Deltas: []model.Delta{{Content: `{"answer": "buy milk"}`}}}, nil
		case strings.Contains(last.Content, "notes"):
			return model.FakeReply{Deltas: []model.Delta{{Content: `{"tool": "read_file", "arguments": {"path": "notes.txt"}}`}}}, nil
		}
		return model.FakeReply{Deltas: []model.Delta{{Content: `{"answer": "no idea"}`}}}, nil
	}}
	var promoted []string // the runs P promoted, and where
	a := newChatApp(t, 120, 32, fake, func(o *Options) {
		o.Promote = func(_ context.Context, runID, dir string) (string, error) {
			promoted = append(promoted, runID+" in "+dir)
			return filepath.Join(dir, "helper-promoted.yaml"), nil
		}
	})
	os.WriteFile(filepath.Join(a.dir, "helper.yaml"), []byte(helperAgent+"tool_calling: fallback\n"), 0o644)
	suite := "name: helper-evals\ntarget: helper.yaml\ncases:\n" +
		"  - id: notes\n    input: What do my notes say?\n    expect: [{ contains: milk }]\n" +
		"  - id: port\n    input: What port is it?\n    expect: [{ contains: \"8421\" }]\n"
	rep := a.runTwoCaseSuite(suite)

	a.send(openRunMsg{runID: rep.RunID, pane: paneDAG})
	a.until("the eval view shows the table", func() bool { return strings.Contains(a.screen(), "✗ 0/1") })
	s1 := a.screen()
	for _, want := range []string{"eval helper-evals · run " + rep.RunID, "case", "smollm2:135m", "notes", "✓ 1/1", "port", "✓ contains \"milk\""} {
		if !strings.Contains(s1, want) {
			t.Fatalf("the table has no %q:\n%s", want, s1)
		}
	}
	a.press("j") // to port, which failed
	if s := a.screen(); !strings.Contains(s, "✗ contains \"8421\": ") {
		t.Fatalf("the failed cell's expectation is not shown with why:\n%s", s)
	}
	port := rep.Cells[1].RunID
	a.press("enter")
	a.until("the case run opens in the panes", func() bool { return a.m.run.id == port })
	s2 := a.screen()
	if !strings.Contains(s2, "case port on smollm2:135m, repeat 1 · run "+port) || !strings.Contains(s2, "✗ contains \"8421\"") {
		t.Fatalf("the bar with the failed expectations is not beside the run:\n%s", s2)
	}
	if !strings.Contains(s2, "agent") { // the run's DAG: its one step
		t.Fatalf("the case run's DAG is not shown:\n%s", s2)
	}
	a.press("backspace")
	a.press("P") // port failed: not promoted
	if s := a.screen(); !strings.Contains(s, "only a passing run is promoted") {
		t.Fatalf("P on a failed cell:\n%s", s)
	}
	a.press("k", "P")
	a.until("the notes run is promoted", func() bool { return strings.Contains(a.screen(), "promoted to ") })
	if want := rep.Cells[0].RunID + " in " + a.dir; len(promoted) != 1 || promoted[0] != want {
		t.Fatalf("promoted %v, want the notes run beside the suite (%s)", promoted, want)
	}
	a.press("esc")
	if a.m.overlays.body() != nil {
		t.Fatal("esc did not close the eval view")
	}
}

// A flow target's eval: its cases are runs of the flow, which the flow's preview counts; the
// eval view says what a case did in steps (a flow has no turns) and names no model when the
// flow's steps use none.
func TestAFlowTargetsEvalCountsItsRunsAndShowsStepsNotTurns(t *testing.T) {
	a := newChatApp(t, 120, 32, &model.Fake{}, nil)
	for f, ok := a.m.sidebar.SelectedFlow(); !ok || f.Name != "hello"; f, ok = a.m.sidebar.SelectedFlow() {
		a.press("j")
	}
	if bar := a.screen(); !strings.Contains(bar, "hello  (not run; r runs it)") {
		t.Fatalf("the header of hello's preview before the eval:\n%s", bar)
	}
	suite := "name: hello-evals\ntarget: hello.yaml\ncases:\n" +
		"  - id: says-hi\n    expect: [{ contains: hi }]\n" +
		"  - id: says-bye\n    expect: [{ contains: bye }]\n"
	rep := a.runTwoCaseSuite(suite)
	a.send(loadRuns(a.store, 0)())
	a.until("hello's preview counts the eval's runs", func() bool {
		return strings.Contains(a.screen(), "hello  (2 runs by evals, last ")
	})

	a.send(openRunMsg{runID: rep.RunID, pane: paneDAG})
	a.until("the eval view shows the table", func() bool { return strings.Contains(a.screen(), "✗ 0/1") })
	scr := a.screen()
	if !strings.Contains(scr, "· passed · 1 step · ") || strings.Contains(scr, "turns") {
		t.Fatalf("the case's line does not say its steps:\n%s", scr)
	}
	if strings.Contains(strings.ReplaceAll(scr, "--default--", ""), "default") { // but in the cells' run ids
		t.Fatalf("a flow whose steps use no model shows one:\n%s", scr)
	}
	a.press("j", "enter")
	a.until("the case run opens", func() bool { return a.m.run.id == rep.Cells[1].RunID })
	if scr := a.screen(); !strings.Contains(scr, "case says-bye, repeat 1 · run "+rep.Cells[1].RunID) {
		t.Fatalf("the bar names a model or not the case:\n%s", scr)
	}
}
