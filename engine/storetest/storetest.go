// Package storetest is the conformance suite every engine.Store implementation must pass, so
// the engine behaves the same on the in-memory store of its tests and on SQLite.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"tandem/engine"
)

// Run runs the suite. newStore must return an empty store.
func Run(t *testing.T, newStore func(t *testing.T) engine.Store) {
	ctx := context.Background()
	t0 := time.UnixMilli(1_700_000_000_000)

	create := func(t *testing.T, s engine.Store, id string, at time.Time) {
		t.Helper()
		err := s.CreateRun(ctx, engine.RunInfo{ID: id, FlowName: "f", FlowPath: "/f.yaml", Status: engine.RunStatusRunning, CreatedAt: at},
			engine.Event{RunID: id, Type: engine.RunStarted, Time: at, Data: []byte(`{"flow_name":"f"}`), Status: engine.RunStatusRunning})
		if err != nil {
			t.Fatalf("create run %s: %v", id, err)
		}
	}

	t.Run("appended events come back in order with increasing seqs", func(t *testing.T) {
		s := newStore(t)
		create(t, s, "r1", t0)
		evs := []engine.Event{
			{RunID: "r1", Type: engine.StepStarted, StepID: "a", Attempt: 1, Time: t0, Data: []byte(`{"key":"r1/a/1"}`)},
			{RunID: "r1", Type: engine.StepSucceeded, StepID: "a", Attempt: 1, Time: t0.Add(time.Second), Data: []byte(`{"output":"x"}`)},
		}
		if err := s.Append(ctx, evs); err != nil {
			t.Fatal(err)
		}
		if evs[0].Seq == 0 || evs[1].Seq <= evs[0].Seq {
			t.Fatalf("seqs not assigned in order: %d, %d", evs[0].Seq, evs[1].Seq)
		}
		got, err := s.Events(ctx, "r1", 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 3 || got[0].Type != engine.RunStarted || got[2].Type != engine.StepSucceeded {
			t.Fatalf("events = %+v", got)
		}
		if got[2].StepID != "a" || got[2].Attempt != 1 || string(got[2].Data) != `{"output":"x"}` || !got[2].Time.Equal(t0.Add(time.Second)) {
			t.Fatalf("event fields not kept: %+v", got[2])
		}
		after, _ := s.Events(ctx, "r1", got[1].Seq)
		if len(after) != 1 || after[0].Seq != got[2].Seq {
			t.Fatalf("events after seq %d = %+v", got[1].Seq, after)
		}
	})

	t.Run("a status on an event moves the run index", func(t *testing.T) {
		s := newStore(t)
		create(t, s, "r1", t0)
		end := t0.Add(time.Minute)
		if err := s.Append(ctx, []engine.Event{{RunID: "r1", Type: engine.RunFailed, Time: end, Status: engine.RunStatusFailed}}); err != nil {
			t.Fatal(err)
		}
		info, err := s.Run(ctx, "r1")
		if err != nil {
			t.Fatal(err)
		}
		if info.Status != engine.RunStatusFailed || !info.EndedAt.Equal(end) || info.FlowName != "f" {
			t.Fatalf("run = %+v", info)
		}
	})

	t.Run("appending to an unknown run fails and writes nothing", func(t *testing.T) {
		s := newStore(t)
		create(t, s, "r1", t0)
		err := s.Append(ctx, []engine.Event{
			{RunID: "r1", Type: engine.StepStarted, StepID: "a", Time: t0},
			{RunID: "nope", Type: engine.StepStarted, StepID: "a", Time: t0},
		})
		if err == nil {
			t.Fatal("append to unknown run succeeded")
		}
		got, _ := s.Events(ctx, "r1", 0)
		if len(got) != 1 {
			t.Fatalf("a failed append left %d events (want 1)", len(got))
		}
	})

	t.Run("runs are found by id and unique prefix", func(t *testing.T) {
		s := newStore(t)
		create(t, s, "abc1", t0)
		create(t, s, "abc2", t0)
		create(t, s, "xyz", t0)
		if r, err := s.Run(ctx, "xy"); err != nil || r.ID != "xyz" {
			t.Fatalf("prefix xy = %v, %v", r.ID, err)
		}
		if r, err := s.Run(ctx, "abc1"); err != nil || r.ID != "abc1" {
			t.Fatalf("id abc1 = %v, %v", r.ID, err)
		}
		if _, err := s.Run(ctx, "abc"); !errors.Is(err, engine.ErrAmbiguousRun) {
			t.Fatalf("ambiguous prefix error = %v", err)
		}
		if _, err := s.Run(ctx, "q"); !errors.Is(err, engine.ErrRunNotFound) {
			t.Fatalf("missing run error = %v", err)
		}
	})

	t.Run("runs list newest first with filters", func(t *testing.T) {
		s := newStore(t)
		for i := 0; i < 5; i++ {
			create(t, s, fmt.Sprintf("r%d", i), t0.Add(time.Duration(i)*time.Second))
		}
		if err := s.Append(ctx, []engine.Event{{RunID: "r1", Type: engine.RunSucceeded, Time: t0, Status: engine.RunStatusSucceeded}}); err != nil {
			t.Fatal(err)
		}
		all, _ := s.Runs(ctx, engine.RunQuery{})
		if len(all) != 5 || all[0].ID != "r4" || all[4].ID != "r0" {
			t.Fatalf("order = %v", ids(all))
		}
		ok, _ := s.Runs(ctx, engine.RunQuery{Status: []engine.RunStatus{engine.RunStatusSucceeded}})
		if len(ok) != 1 || ok[0].ID != "r1" {
			t.Fatalf("status filter = %v", ids(ok))
		}
		lim, _ := s.Runs(ctx, engine.RunQuery{Limit: 2})
		if len(lim) != 2 {
			t.Fatalf("limit = %v", ids(lim))
		}
	})

	t.Run("runs page newest first from a cursor", func(t *testing.T) {
		s := newStore(t)
		// Two runs share each creation time, so the cursor must break ties by id.
		for i := 0; i < 7; i++ {
			create(t, s, fmt.Sprintf("r%d", i), t0.Add(time.Duration(i/2)*time.Second))
		}
		var got []string
		q := engine.RunQuery{TopLevel: true, Limit: 3}
		for page := 0; page < 5; page++ {
			runs, err := s.Runs(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			if len(runs) == 0 {
				break
			}
			got = append(got, ids(runs)...)
			q.After = runs[len(runs)-1].Cursor()
		}
		if want := "r6 r5 r4 r3 r2 r1 r0"; strings.Join(got, " ") != want {
			t.Fatalf("pages = %v, want %s", got, want)
		}
	})

	t.Run("child runs are linked to their parent", func(t *testing.T) {
		s := newStore(t)
		create(t, s, "p", t0)
		err := s.CreateRun(ctx, engine.RunInfo{ID: "p.x.1", FlowName: "c", FlowPath: "/c.yaml", Status: engine.RunStatusRunning,
			ParentRunID: "p", ParentStepID: "x", CreatedAt: t0}, engine.Event{RunID: "p.x.1", Type: engine.RunStarted, Time: t0})
		if err != nil {
			t.Fatal(err)
		}
		kids, _ := s.Runs(ctx, engine.RunQuery{ParentID: "p"})
		if len(kids) != 1 || kids[0].ParentStepID != "x" {
			t.Fatalf("children = %+v", kids)
		}
		top, _ := s.Runs(ctx, engine.RunQuery{TopLevel: true})
		if len(top) != 1 || top[0].ID != "p" {
			t.Fatalf("top level = %v", ids(top))
		}
	})

	t.Run("a run's session is kept in the index as its status moves", func(t *testing.T) {
		s := newStore(t)
		create(t, s, "plain", t0)
		for _, id := range []string{"turn1", "turn2"} {
			err := s.CreateRun(ctx, engine.RunInfo{ID: id, FlowName: "helper", FlowPath: "/.helper.yaml.ask.yaml", Status: engine.RunStatusRunning,
				CreatedAt: t0.Add(time.Second), Session: "notes"}, engine.Event{RunID: id, Type: engine.RunStarted, Time: t0})
			if err != nil {
				t.Fatal(err)
			}
		}
		if err := s.Append(ctx, []engine.Event{{RunID: "turn1", Type: engine.RunSucceeded, Time: t0.Add(2 * time.Second),
			Status: engine.RunStatusSucceeded}}); err != nil {
			t.Fatal(err)
		}
		got, err := s.Run(ctx, "turn1")
		if err != nil || got.Session != "notes" || got.Status != engine.RunStatusSucceeded {
			t.Fatalf("run = %+v, %v; want session notes, succeeded", got, err)
		}
		list, _ := s.Runs(ctx, engine.RunQuery{TopLevel: true})
		sessions := map[string]string{}
		for _, r := range list {
			sessions[r.ID] = r.Session
		}
		if sessions["turn1"] != "notes" || sessions["turn2"] != "notes" || sessions["plain"] != "" || len(sessions) != 3 {
			t.Fatalf("sessions listed = %v", sessions)
		}
	})

	runLeases(t, newStore, create)
	runTail(t, newStore, create)

	t.Run("events since a seq span every run", func(t *testing.T) {
		s := newStore(t)
		create(t, s, "a", t0)
		create(t, s, "b", t0)
		tail, ok := s.(engine.Tail)
		if !ok {
			t.Skip("store does not implement engine.Tail")
		}
		all, err := tail.EventsSince(ctx, 0, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(all) != 2 || all[0].RunID != "a" || all[1].RunID != "b" {
			t.Fatalf("events since 0 = %+v", all)
		}
		rest, _ := tail.EventsSince(ctx, all[0].Seq, 10)
		if len(rest) != 1 || rest[0].RunID != "b" {
			t.Fatalf("events since first = %+v", rest)
		}
	})
}

func ids(runs []engine.RunInfo) []string {
	out := make([]string, len(runs))
	for i, r := range runs {
		out[i] = r.ID
	}
	return out
}
