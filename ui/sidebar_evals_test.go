package ui

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"

	"tandem/agents/model"
	"tandem/engine"
)

// An eval run is a row of its own under Evals, with its suite, how many cells passed and
// its age; its case runs are not rows; enter opens the eval view. A flow that has runs says
// so in the header while the cursor is on it.
func TestEvalRunsAreRowsUnderEvalsThatOpenTheEvalView(t *testing.T) {
	fake := &model.Fake{Respond: func(req model.Request) (model.FakeReply, error) {
		if strings.Contains(req.Messages[len(req.Messages)-1].Content, "notes") {
			return model.FakeReply{Deltas: []model.Delta{{Content: `{"answer": "buy milk"}`}}}, nil
		}
		return model.FakeReply{Deltas: []model.Delta{{Content: `{"answer": "no idea"}`}}}, nil
	}}
	a := newChatApp(t, 120, 32, fake, nil)
	os.WriteFile(filepath.Join(a.dir, "helper.yaml"), []byte(helperAgent+"tool_calling: fallback\n"), 0o644)
	suite := "name: helper-evals\ntarget: helper.yaml\ncases:\n" +
		"  - id: notes\n    input: What do my notes say?\n    expect: [{ contains: milk }]\n" +
		"  - id: port\n    input: What port is it?\n    expect: [{ contains: \"8421\" }]\n"
	rep := a.runTwoCaseSuite(suite)
	a.runHello()

	a.send(loadRuns(a.store, 0)())
	a.until("the eval row says how many passed", func() bool { return strings.Contains(a.screen(), "✓ 1/2 helper-evals") })
	side := sidebarText(a.screen(), 24)
	for _, want := range []string{"Flows", "Evals", "Runs", "hello"} {
		if !strings.Contains(side, want) {
			t.Fatalf("the sidebar has no %q:\n%s", want, side)
		}
	}
	if strings.Index(side, "Evals") > strings.Index(side, "Runs") {
		t.Errorf("Evals is not above Runs:\n%s", side)
	}
	for _, c := range rep.Cells {
		if strings.Contains(side, shortID(c.RunID)) || strings.Contains(side, "◇ helper ·") {
			t.Errorf("case run %s is listed in the sidebar:\n%s", c.RunID, side)
		}
	}

	// On hello's row the header counts its runs.
	for f, ok := a.m.sidebar.SelectedFlow(); !ok || f.Name != "hello"; f, ok = a.m.sidebar.SelectedFlow() {
		a.press("j")
	}
	if bar := a.screen(); !strings.Contains(bar, "hello  (1 run, last ✓ succeeded 0s ago; r runs it again)") {
		t.Fatalf("the header of hello's preview:\n%s", bar)
	}

	for n := 0; a.m.sidebar.SelectedRun() != rep.RunID; n++ {
		if n > 20 {
			t.Fatalf("the cursor never reached the eval row:\n%s", a.screen())
		}
		a.press("j")
	}
	a.press("enter")
	a.until("the eval view opens", func() bool { return strings.Contains(a.screen(), "eval helper-evals · run "+rep.RunID) })
}

// Runs listed with their children (as a filter or an old listing may give them): an eval's
// case runs stay out, a running eval says so, and one cut short says how many did not run.
func TestTheEvalsSectionLeavesOutCaseRunsAndSaysWhatIsLeft(t *testing.T) {
	t.Parallel()
	runs := []engine.RunInfo{
		{ID: "e2", FlowName: "eval:triage", Status: engine.RunStatusRunning, CreatedAt: t0.Add(-time.Minute), LastSeq: 9},
		{ID: "e2.a--m--r1.1", FlowName: "triage", ParentRunID: "e2", Status: engine.RunStatusSucceeded, CreatedAt: t0},
		{ID: "e1", FlowName: "eval:reader", Status: engine.RunStatusWaiting, CreatedAt: t0.Add(-3 * time.Hour), LastSeq: 5},
		{ID: "r1", FlowName: "hello", Status: engine.RunStatusSucceeded, CreatedAt: t0.Add(-4 * time.Hour)},
	}
	m := NewRunsList(NewTheme(true))
	m.SetSize(48, 10)
	m.SetRuns(runs, t0)
	m.setEvalSummaries(evalSummariesMsg{sums: map[string]evalSummary{
		"e2": {seq: 9, cells: 4},
		"e1": {seq: 5, cells: 6, recorded: 4, passed: 3},
	}})
	view := ansi.Strip(m.View())
	want := "Evals\n› ⠋ triage · 4 cases running · 1m ago\n  ⏸ reader · 3/6 passed, 2 not run · 3h ago\nRuns\n  ✓ hello r1 4h ago"
	if got := strings.Join(trimLines(view), "\n"); !strings.HasPrefix(got, want) {
		t.Fatalf("sidebar:\n%s\nwant it to start:\n%s", got, want)
	}
	if strings.Contains(view, "e2.a") {
		t.Errorf("the case run is listed:\n%s", view)
	}
	// Summaries are read again only for runs whose log moved on.
	if cmd := m.loadEvalSummaries(fakeEvents{}); cmd != nil {
		t.Errorf("current summaries are read again")
	}
	runs[0].LastSeq = 12
	m.SetRuns(runs, t0)
	if cmd := m.loadEvalSummaries(fakeEvents{}); cmd == nil {
		t.Errorf("a summary whose run moved on is not read again")
	}
}

type fakeEvents struct{}

func (fakeEvents) Runs(context.Context, engine.RunQuery) ([]engine.RunInfo, error) { return nil, nil }
func (fakeEvents) Events(context.Context, string, int64) ([]engine.Event, error)   { return nil, nil }

func trimLines(s string) []string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " ")
	}
	return lines
}

// sidebarText is the first w columns of each line of a screen.
func sidebarText(scr string, w int) string {
	var out []string
	for _, l := range strings.Split(scr, "\n") {
		out = append(out, strings.TrimRight(ansi.Truncate(l, w, ""), " "))
	}
	return strings.Join(out, "\n")
}

// An eval suite is not a broken flow: the Flows section leaves it out, at the top and in a
// folder.
func TestLoadFlowsLeavesOutEvalSuites(t *testing.T) {
	t.Parallel()
	dir := workspace(t)
	suite := "name: s\ntarget: helper.yaml\ncases:\n  - id: a\n    input: hi\n    expect: [{ contains: x }]\n"
	os.MkdirAll(filepath.Join(dir, "evals"), 0o755)
	for _, p := range []string{"suite.yaml", "evals/more.yaml"} {
		if err := os.WriteFile(filepath.Join(dir, p), []byte(suite), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range loadFlows(dir) {
		if strings.Contains(f.Path, "suite.yaml") || strings.Contains(f.Path, "more.yaml") {
			t.Errorf("the suite %s is listed as %+v", f.Path, f)
		}
	}
}
