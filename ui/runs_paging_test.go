package ui

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"tandem/engine"
	"tandem/engine/memstore"
)

// seedRuns records n finished top-level runs, run000 the oldest, a second apart before t0.
func seedRuns(t *testing.T, st *memstore.Store, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		at := t0.Add(time.Duration(i-n) * time.Second)
		id := fmt.Sprintf("run%03d", i)
		info := engine.RunInfo{ID: id, FlowName: "old", FlowPath: "/old.yaml", Status: engine.RunStatusSucceeded, CreatedAt: at}
		if err := st.CreateRun(context.Background(), info, engine.Event{RunID: id, Type: engine.RunStarted, Time: at}); err != nil {
			t.Fatal(err)
		}
	}
}

func TestTheSidebarReadsOlderRunsAPageAtATimeAsTheCursorGoesDown(t *testing.T) {
	const n = 2*runsPage + 30
	a := newTestApp(t, 120, 24)
	seedRuns(t, a.store, n)
	a.send(loadRuns(a.store, len(a.m.runs))())
	if got := len(a.m.runs); got != runsPage {
		t.Fatalf("start-up read %d runs, want one page of %d", got, runsPage)
	}
	for i := 0; i < 40; i++ {
		a.press("j")
	}
	if got := len(a.m.runs); got != runsPage {
		t.Fatalf("far from the end of the first page: %d runs read, want %d", got, runsPage)
	}
	for i := 40; i < 2+runsPage-1; i++ { // two flows, then down to the last run read
		a.press("j")
	}
	if got := len(a.m.runs); got != 2*runsPage {
		t.Fatalf("at the end of the first page: %d runs read, want %d", got, 2*runsPage)
	}
	for i := 0; i < n; i++ {
		a.press("j")
	}
	if got := len(a.m.runs); got != n {
		t.Fatalf("at the end: %d runs read, want all %d", got, n)
	}
	if id := a.m.sidebar.SelectedRun(); id != "run000" {
		t.Fatalf("the cursor is on %q, want the oldest run, run000", id)
	}
	if s := a.screen(); !strings.Contains(s, "run000") {
		t.Fatalf("the oldest run is not on screen:\n%s", s)
	}
	// A reload (a run changed) keeps every page read so far, newest first, without repeats.
	a.send(loadRuns(a.store, len(a.m.runs))())
	seen := map[string]bool{}
	for i, r := range a.m.runs {
		if seen[r.ID] || (i > 0 && r.ID > a.m.runs[i-1].ID) {
			t.Fatalf("run %d, %s, repeated or out of order", i, r.ID)
		}
		seen[r.ID] = true
	}
	if len(a.m.runs) != n {
		t.Fatalf("after a reload: %d runs, want %d", len(a.m.runs), n)
	}
}
