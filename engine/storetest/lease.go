package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"tandem/engine"
)

// runLeases checks leases and the appends they fence.
func runLeases(t *testing.T, newStore func(t *testing.T) engine.Store, create func(*testing.T, engine.Store, string, time.Time)) {
	ctx := context.Background()
	t0 := time.UnixMilli(1_700_000_000_000)
	acquire := func(t *testing.T, s engine.Store, owner string, now time.Time) engine.Lease {
		t.Helper()
		l, ok, err := s.AcquireLease(ctx, "r1", owner, now, now.Add(10*time.Second))
		if err != nil || !ok {
			t.Fatalf("%s could not acquire the lease at %s: %v, %v", owner, now.Format(time.TimeOnly), ok, err)
		}
		return l
	}
	step := func(typ engine.EventType) []engine.Event {
		return []engine.Event{{RunID: "r1", Type: typ, StepID: "a", Attempt: 1, Time: t0}}
	}
	count := func(t *testing.T, s engine.Store) int {
		t.Helper()
		evs, err := s.Events(ctx, "r1", 0)
		if err != nil {
			t.Fatal(err)
		}
		return len(evs)
	}

	t.Run("a lease excludes every other taker until it expires", func(t *testing.T) {
		s := newStore(t)
		create(t, s, "r1", t0)
		a := acquire(t, s, "a", t0)
		if _, ok, _ := s.AcquireLease(ctx, "r1", "b", t0.Add(5*time.Second), t0.Add(15*time.Second)); ok {
			t.Fatal("b took a live lease")
		}
		if _, ok, _ := s.AcquireLease(ctx, "r1", "a", t0.Add(5*time.Second), t0.Add(15*time.Second)); ok {
			t.Fatal("a took its own live lease a second time: two runners of one process would advance the run")
		}
		if ok, err := s.RenewLease(ctx, a, t0.Add(15*time.Second)); !ok || err != nil {
			t.Fatalf("a could not renew its lease: %v, %v", ok, err)
		}
		b := acquire(t, s, "b", t0.Add(16*time.Second))
		if b.Epoch <= a.Epoch {
			t.Fatalf("b's epoch %d is not after a's %d", b.Epoch, a.Epoch)
		}
		if err := s.ReleaseLease(ctx, a); err != nil {
			t.Fatal(err)
		}
		if _, ok, _ := s.AcquireLease(ctx, "r1", "a", t0.Add(17*time.Second), t0.Add(30*time.Second)); ok {
			t.Fatal("a's release freed b's lease")
		}
		if err := s.ReleaseLease(ctx, b); err != nil {
			t.Fatal(err)
		}
		acquire(t, s, "a", t0.Add(17*time.Second))
	})

	t.Run("a holder that lost its lease cannot renew it, even once the taker released it", func(t *testing.T) {
		s := newStore(t)
		create(t, s, "r1", t0)
		stale := acquire(t, s, "a", t0)
		b := acquire(t, s, "b", t0.Add(11*time.Second)) // a was stopped past its lease
		if err := s.ReleaseLease(ctx, b); err != nil {
			t.Fatal(err)
		}
		if ok, err := s.RenewLease(ctx, stale, t0.Add(30*time.Second)); ok || err != nil {
			t.Fatalf("the stale holder renewed a lease it lost: %v, %v", ok, err)
		}
		info, _ := s.Run(ctx, "r1")
		if info.LeaseOwner != "" {
			t.Fatalf("the refused renewal left the lease to %q", info.LeaseOwner)
		}
	})

	t.Run("an expired lease nobody took can still be renewed", func(t *testing.T) {
		s := newStore(t)
		create(t, s, "r1", t0)
		a := acquire(t, s, "a", t0)
		if ok, err := s.RenewLease(ctx, a, t0.Add(time.Hour)); !ok || err != nil {
			t.Fatalf("renew after expiry with nobody else: %v, %v", ok, err)
		}
	})

	t.Run("a fenced append commits while its lease is the run's", func(t *testing.T) {
		s := newStore(t)
		create(t, s, "r1", t0)
		a := acquire(t, s, "a", t0)
		evs := step(engine.StepStarted)
		if err := s.AppendFenced(ctx, a, evs); err != nil {
			t.Fatal(err)
		}
		if evs[0].Seq == 0 || count(t, s) != 2 {
			t.Fatalf("seq %d, %d events", evs[0].Seq, count(t, s))
		}
	})

	fencedOut := []struct {
		name  string
		after func(t *testing.T, s engine.Store, a engine.Lease)
	}{
		{"another owner holds the lease", func(t *testing.T, s engine.Store, a engine.Lease) {
			acquire(t, s, "b", t0.Add(11*time.Second))
		}},
		{"another owner took and released the lease", func(t *testing.T, s engine.Store, a engine.Lease) {
			b := acquire(t, s, "b", t0.Add(11*time.Second))
			if err := s.ReleaseLease(ctx, b); err != nil {
				t.Fatal(err)
			}
		}},
		{"the same owner took the lease again under a new epoch", func(t *testing.T, s engine.Store, a engine.Lease) {
			if err := s.ReleaseLease(ctx, a); err != nil {
				t.Fatal(err)
			}
			acquire(t, s, "a", t0.Add(time.Second))
		}},
		{"a dead owner's lease was taken over", func(t *testing.T, s engine.Store, a engine.Lease) {
			if _, ok, err := s.TakeLease(ctx, "r1", "a", "b", t0.Add(time.Hour)); !ok || err != nil {
				t.Fatalf("take over: %v, %v", ok, err)
			}
		}},
		{"the holder released it", func(t *testing.T, s engine.Store, a engine.Lease) {
			if err := s.ReleaseLease(ctx, a); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tt := range fencedOut {
		t.Run("a fenced append is refused and writes nothing when "+tt.name, func(t *testing.T) {
			s := newStore(t)
			create(t, s, "r1", t0)
			a := acquire(t, s, "a", t0)
			tt.after(t, s, a)
			err := s.AppendFenced(ctx, a, append(step(engine.StepSucceeded), engine.Event{RunID: "r1", Type: engine.RunSucceeded,
				Time: t0, Status: engine.RunStatusSucceeded}))
			if !errors.Is(err, engine.ErrFenced) {
				t.Fatalf("err = %v, want ErrFenced", err)
			}
			if n := count(t, s); n != 1 {
				t.Fatalf("a refused append left %d events (want 1)", n)
			}
			if info, _ := s.Run(ctx, "r1"); info.Status != engine.RunStatusRunning {
				t.Fatalf("a refused append moved the index to %s", info.Status)
			}
		})
	}

	t.Run("a fenced append refuses events of another run", func(t *testing.T) {
		s := newStore(t)
		create(t, s, "r1", t0)
		create(t, s, "r2", t0)
		a := acquire(t, s, "a", t0)
		if err := s.AppendFenced(ctx, a, []engine.Event{{RunID: "r2", Type: engine.StepStarted, Time: t0}}); err == nil {
			t.Fatal("r1's lease fenced an append to r2")
		}
	})

	t.Run("a dead owner's lease can be taken over, a live one's only by its holder", func(t *testing.T) {
		s := newStore(t)
		create(t, s, "r1", t0)
		if _, ok, _ := s.AcquireLease(ctx, "r1", "dead", t0, t0.Add(time.Hour)); !ok {
			t.Fatal("acquire")
		}
		info, _ := s.Run(ctx, "r1")
		if info.LeaseOwner != "dead" || !info.LeaseUntil.Equal(t0.Add(time.Hour)) {
			t.Fatalf("lease not visible in the run: %+v", info)
		}
		if _, ok, _ := s.TakeLease(ctx, "r1", "someone-else", "me", t0.Add(time.Hour)); ok {
			t.Fatal("took a lease from an owner that does not hold it")
		}
		if _, ok, _ := s.TakeLease(ctx, "r1", "dead", "me", t0.Add(time.Hour)); !ok {
			t.Fatal("could not take the dead owner's lease")
		}
		if _, ok, _ := s.AcquireLease(ctx, "r1", "dead", t0, t0.Add(time.Hour)); ok {
			t.Fatal("the old owner got the lease back")
		}
	})

	t.Run("concurrent leasers never both win", func(t *testing.T) {
		s := newStore(t)
		create(t, s, "r1", t0)
		var wg sync.WaitGroup
		wins := make(chan string, 8)
		for i := 0; i < 8; i++ {
			wg.Add(1)
			go func(owner string) {
				defer wg.Done()
				if _, ok, err := s.AcquireLease(ctx, "r1", owner, t0, t0.Add(time.Minute)); err == nil && ok {
					wins <- owner
				}
			}(fmt.Sprint("w", i))
		}
		wg.Wait()
		close(wins)
		n := 0
		for range wins {
			n++
		}
		if n != 1 {
			t.Fatalf("%d owners got the lease", n)
		}
	})
}
