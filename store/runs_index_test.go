package store

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"tandem/engine"
)

// queryPlan returns SQLite's plan for a listing, one detail per line.
func queryPlan(t *testing.T, d *DB, q engine.RunQuery) string {
	t.Helper()
	query, args := runsQuery(runColumns, q)
	rows, err := d.db.QueryContext(context.Background(), "EXPLAIN QUERY PLAN "+query, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var lines []string
	for rows.Next() {
		var id, parent, notused int
		var detail string
		if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
			t.Fatal(err)
		}
		lines = append(lines, detail)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return strings.Join(lines, "\n")
}

func TestListingsPageThroughTheIndexWithoutSorting(t *testing.T) {
	d, err := Open(context.Background(), filepath.Join(t.TempDir(), "tandem.db"), Options{Synchronous: SyncNormal})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close() })
	if err := d.SeedRuns(context.Background(), 2000, time.Now()); err != nil {
		t.Fatal(err)
	}
	// No ANALYZE: tandem never runs it, so the planner sees what a user's database gives it.
	after := engine.RunCursor{CreatedAt: time.Now().Add(-time.Hour), ID: "seed0001000"}
	waiting := []engine.RunStatus{engine.RunStatusWaiting}
	for _, c := range []struct {
		name, index string
		sorts       bool
		q           engine.RunQuery
	}{
		{"the first page of top-level runs", "runs_by_parent_created", false, engine.RunQuery{TopLevel: true, Limit: 50}},
		{"a later page of top-level runs", "runs_by_parent_created", false, engine.RunQuery{TopLevel: true, Limit: 50, After: after}},
		{"a run's children", "runs_by_parent_created", false, engine.RunQuery{ParentID: "seed0000010"}},
		{"the waiting top-level runs", "runs_by_status_created", false, engine.RunQuery{TopLevel: true, Limit: 50, Status: waiting}},
		// Several statuses: only their rows are read, then sorted.
		{"the waiting and failed top-level runs", "runs_by_status_created", true,
			engine.RunQuery{TopLevel: true, Limit: 50, Status: append(waiting, engine.RunStatusFailed)}},
	} {
		t.Run(c.name, func(t *testing.T) {
			plan := queryPlan(t, d, c.q)
			if !strings.Contains(plan, c.index) || (!c.sorts && strings.Contains(plan, "TEMP B-TREE")) {
				t.Fatalf("plan:\n%s\nwant it to read %s", plan, c.index)
			}
		})
	}
}

func TestSeededRunsFoldAndListLikeRealOnes(t *testing.T) {
	ctx := context.Background()
	d, err := Open(ctx, filepath.Join(t.TempDir(), "tandem.db"), Options{Synchronous: SyncNormal})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close() })
	now := time.Now()
	if err := d.SeedRuns(ctx, 1500, now); err != nil {
		t.Fatal(err)
	}
	top, err := d.Runs(ctx, engine.RunQuery{TopLevel: true, Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(top) != 10 || top[0].ID != "seed0001499" || !top[0].CreatedAt.Before(now) {
		t.Fatalf("newest seeded runs: %+v", top)
	}
	all, err := d.Runs(ctx, engine.RunQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 1500+150 {
		t.Fatalf("%d runs, want 1,650 (150 children)", len(all))
	}
	evs, err := d.Events(ctx, "seed0000700", 0)
	if err != nil {
		t.Fatal(err)
	}
	st := engine.Fold(evs)
	if st.Status != engine.RunStatusSucceeded || st.Steps["hello"].Output != "hello" || st.Start.FlowName != SeedFlowName {
		t.Fatalf("folded seeded run: %s, %+v", st.Status, st.Steps["hello"])
	}
	if info, err := d.Run(ctx, "seed0000700"); err != nil || info.LastSeq != st.LastSeq {
		t.Fatalf("index row %+v (%v), log ends at %d", info, err, st.LastSeq)
	}
}
