package store

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"tandem/engine"
)

// interleave appends events of three runs in a pattern that starts and extends spans: runs
// advancing alone, runs taking turns, and one transaction holding events of several runs.
func interleave(t *testing.T, d *DB) {
	t.Helper()
	ctx := context.Background()
	now := time.Now()
	for _, id := range []string{"a", "b", "c"} {
		info := engine.RunInfo{ID: id, FlowName: "f", FlowPath: "f.yaml", Status: engine.RunStatusRunning, CreatedAt: now}
		if err := d.CreateRun(ctx, info, engine.Event{RunID: id, Type: engine.RunStarted, Time: now}); err != nil {
			t.Fatal(err)
		}
	}
	ev := func(run string, i int) engine.Event {
		return engine.Event{RunID: run, Type: engine.StepStarted, StepID: fmt.Sprint("s", i), Time: now}
	}
	batches := [][]engine.Event{
		{ev("a", 1), ev("a", 2)}, {ev("a", 3)}, {ev("b", 1)}, {ev("a", 4)}, {ev("b", 2)},
		{ev("c", 1), ev("a", 5), ev("c", 2), ev("c", 3)}, {ev("c", 4)}, {ev("b", 3), ev("b", 4)},
	}
	for _, b := range batches {
		if err := d.Append(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
}

// checkRunReads compares every run's Events, after every seq, with the log filtered by run.
func checkRunReads(t *testing.T, d *DB) {
	t.Helper()
	ctx := context.Background()
	all, err := d.EventsSince(ctx, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	for _, run := range []string{"a", "b", "c", "missing"} {
		for after := int64(0); after <= int64(len(all))+1; after++ {
			var want []string
			for _, e := range all {
				if e.RunID == run && e.Seq > after {
					want = append(want, fmt.Sprint(e.Seq, e.RunID, e.StepID))
				}
			}
			evs, err := d.Events(ctx, run, after)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, e := range evs {
				got = append(got, fmt.Sprint(e.Seq, e.RunID, e.StepID))
			}
			if !slices.Equal(got, want) {
				t.Fatalf("events of run %s after %d: %v, want %v", run, after, got, want)
			}
		}
	}
}

func spanCount(t *testing.T, d *DB) int {
	t.Helper()
	var n int
	if err := d.db.QueryRowContext(context.Background(), `SELECT count(*) FROM event_spans`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestARunsEventsAreReadThroughItsSpansWhateverTheInterleaving(t *testing.T) {
	d, err := Open(context.Background(), filepath.Join(t.TempDir(), "tandem.db"), Options{Synchronous: SyncNormal})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close() })
	interleave(t, d)
	checkRunReads(t, d)
	// a b c | a a a | b | a | b | c a c | c b  — one span per switch of run, not per event.
	if n := spanCount(t, d); n != 11 {
		t.Fatalf("%d spans, want 11 (one per change of run along the log)", n)
	}
}

func TestTheSpansMigrationIndexesALogWrittenBeforeIt(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "tandem.db")
	d, err := Open(ctx, path, Options{Synchronous: SyncNormal})
	if err != nil {
		t.Fatal(err)
	}
	interleave(t, d)
	// Put the database back as migration 0004 left it, with the log still in it.
	for _, q := range []string{
		`DROP TABLE event_spans`,
		`CREATE INDEX events_by_run ON events (run_id, seq)`,
		`ALTER TABLE runs DROP COLUMN session`, // migration 0006
		`DELETE FROM schema_migrations WHERE version >= 5`,
	} {
		if _, err := d.db.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	_ = d.Close()
	d, err = Open(ctx, path, Options{Synchronous: SyncNormal})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close() })
	if n := spanCount(t, d); n != 11 {
		t.Fatalf("the migration made %d spans, want 11", n)
	}
	checkRunReads(t, d)
}

// TestSpansStayRightWhenTwoProcessesTakeTurns appends through two handles on one file, as two
// processes would: each must notice the other's events between its own and start a span
// where the run changes, without the trigger that used to do it.
func TestSpansStayRightWhenTwoProcessesTakeTurns(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "tandem.db")
	var dbs [2]*DB
	for i := range dbs {
		d, err := Open(ctx, path, Options{Synchronous: SyncNormal})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = d.Close() })
		dbs[i] = d
	}
	now := time.Now()
	for i, id := range []string{"a", "b"} {
		info := engine.RunInfo{ID: id, FlowName: "f", FlowPath: "f.yaml", Status: engine.RunStatusRunning, CreatedAt: now}
		if err := dbs[i].CreateRun(ctx, info, engine.Event{RunID: id, Type: engine.RunStarted, Time: now}); err != nil {
			t.Fatal(err)
		}
	}
	ev := func(run string, i int) engine.Event {
		return engine.Event{RunID: run, Type: engine.StepStarted, StepID: fmt.Sprint("s", i), Time: now}
	}
	// Process 0 writes run a, process 1 run b; each also appends to the other's run once.
	turns := []struct {
		by     int
		events []engine.Event
	}{
		{0, []engine.Event{ev("a", 1)}}, {0, []engine.Event{ev("a", 2)}}, {1, []engine.Event{ev("b", 1)}},
		{1, []engine.Event{ev("b", 2)}}, {0, []engine.Event{ev("a", 3)}}, {1, []engine.Event{ev("a", 4)}},
		{0, []engine.Event{ev("a", 5)}}, {0, []engine.Event{ev("b", 3), ev("a", 6)}}, {1, []engine.Event{ev("a", 7)}},
	}
	for _, turn := range turns {
		if err := dbs[turn.by].Append(ctx, turn.events); err != nil {
			t.Fatal(err)
		}
	}
	for _, d := range dbs {
		checkRunReads(t, d)
	}
	// a | b | a a | b b | a a a | b | a a — one span per change of run along the log.
	if n := spanCount(t, dbs[0]); n != 7 {
		t.Fatalf("%d spans, want 7 (one per change of run along the log)", n)
	}
}

func TestAStepWritesOneBTreeWhenItsRunAdvancesAlone(t *testing.T) {
	d, err := Open(context.Background(), filepath.Join(t.TempDir(), "tandem.db"), Options{Synchronous: SyncNormal})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close() })
	interleave(t, d)
	before := spanCount(t, d)
	for i := 0; i < 5; i++ {
		if err := d.Append(context.Background(), []engine.Event{{RunID: "b", Type: engine.StepStarted, StepID: "x", Time: time.Now()}}); err != nil {
			t.Fatal(err)
		}
	}
	if n := spanCount(t, d); n != before {
		t.Fatalf("appending to the run the log ends with added %d spans", n-before)
	}
	rows, err := d.db.QueryContext(context.Background(), "EXPLAIN QUERY PLAN "+runEventsSQL, "b", 0)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, notused int
		var detail string
		if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	p := strings.Join(plan, "\n")
	if !strings.Contains(p, "event_spans_by_run") || !strings.Contains(p, "SEARCH e USING INTEGER PRIMARY KEY") {
		t.Fatalf("reading a run's events does not go through its spans and a seq range:\n%s", p)
	}
}

func TestAFencedAppendLongerThanOneStatementKeepsItsOrder(t *testing.T) {
	ctx := context.Background()
	d, err := Open(ctx, filepath.Join(t.TempDir(), "tandem.db"), Options{Synchronous: SyncNormal})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close() })
	interleave(t, d)
	now := time.Now()
	l, ok, err := d.AcquireLease(ctx, "b", "me", now, now.Add(time.Minute))
	if err != nil || !ok {
		t.Fatalf("lease: %v %v", ok, err)
	}
	for _, n := range []int{1, fencedBatch, fencedBatch + 3} {
		evs := make([]engine.Event, n)
		for i := range evs {
			evs[i] = engine.Event{RunID: "b", Type: engine.StepStarted, StepID: fmt.Sprint("f", n, "-", i), Time: now}
		}
		if err := d.AppendFenced(ctx, l, evs); err != nil {
			t.Fatal(err)
		}
		back, err := d.Events(ctx, "b", evs[0].Seq-1)
		if err != nil || len(back) != n {
			t.Fatalf("read back %d events (%v), want %d", len(back), err, n)
		}
		for i := range evs {
			if back[i].Seq != evs[i].Seq || back[i].StepID != evs[i].StepID {
				t.Fatalf("event %d of %d: wrote seq %d %s, log has seq %d %s", i, n, evs[i].Seq, evs[i].StepID, back[i].Seq, back[i].StepID)
			}
		}
	}
	checkRunReads(t, d)
}
