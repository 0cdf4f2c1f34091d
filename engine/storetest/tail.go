package storetest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"tandem/engine"
)

// runTail checks that a follower reading "events after the last seq I saw" while several
// writers append never skips one: seqs must become visible in order.
func runTail(t *testing.T, newStore func(t *testing.T) engine.Store, create func(*testing.T, engine.Store, string, time.Time)) {
	t.Run("a follower of the tail sees every event of concurrent writers once", func(t *testing.T) {
		ctx := context.Background()
		s := newStore(t)
		tail, ok := s.(engine.Tail)
		if !ok {
			t.Skip("store does not implement engine.Tail")
		}
		const writers, each = 4, 40
		t0 := time.UnixMilli(1_700_000_000_000)
		for w := 0; w < writers; w++ {
			create(t, s, fmt.Sprint("w", w), t0)
		}
		seen := map[int64]bool{}
		var last int64
		follow := func() {
			evs, err := tail.EventsSince(ctx, last, 1000)
			if err != nil {
				t.Error(err)
				return
			}
			for _, e := range evs {
				if e.Seq <= last || seen[e.Seq] {
					t.Errorf("seq %d after %d, or twice", e.Seq, last)
				}
				seen[e.Seq], last = true, e.Seq
			}
		}
		var wg sync.WaitGroup
		for w := 0; w < writers; w++ {
			wg.Add(1)
			go func(run string) {
				defer wg.Done()
				for i := 0; i < each; i++ {
					if err := s.Append(ctx, []engine.Event{{RunID: run, Type: engine.SignalReceived, Time: t0}}); err != nil {
						t.Error(err)
						return
					}
				}
			}(fmt.Sprint("w", w))
		}
		done := make(chan struct{})
		go func() { wg.Wait(); close(done) }()
		for running := true; running; {
			select {
			case <-done:
				running = false
			default:
			}
			follow()
		}
		follow()
		if want := writers * (each + 1); len(seen) != want {
			t.Fatalf("the follower saw %d events, want %d: it skipped seqs that committed late", len(seen), want)
		}
	})
}
