package engine_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"tandem/engine"
)

// idleClock is the wall clock, except that a worker's poll interval (an hour here) never
// ends: waiting on it tells the test the worker finished a pass and went idle, so whatever
// makes it pass again can only be a wake-up from the store.
type idleClock struct{ idle, stop chan struct{} }

func (idleClock) Now() time.Time { return time.Now() }

func (c idleClock) After(d time.Duration) <-chan time.Time {
	if d < time.Hour {
		return time.After(d)
	}
	select {
	case c.idle <- struct{}{}:
	case <-c.stop:
	}
	return nil
}

func TestAWorkerWakesAtOnceWhenNotified(t *testing.T) {
	approve, _ := json.Marshal(engine.ApprovalData{Approved: true, Who: "test", When: time.Now().UTC()})
	tests := []struct {
		name string
		// before makes a run the worker, on its first pass, cannot finish; it returns its id.
		before func(t *testing.T, person *engine.Engine) string
		// request is what another process does once the worker is idle.
		request func(t *testing.T, person *engine.Engine, id string) string
	}{
		{
			name:   "a new detached run",
			before: func(*testing.T, *engine.Engine) string { return "" },
			request: func(t *testing.T, person *engine.Engine, _ string) string {
				id := startRun(t, person, t.TempDir(), "name: d\nsteps:\n  - id: a\n    shell: echo a\n", nil)
				must(t, person.Detach(context.Background(), id))
				return id
			},
		},
		{
			name: "an approval",
			before: func(t *testing.T, person *engine.Engine) string {
				id := startRun(t, person, t.TempDir(), "name: w\nsteps:\n  - id: review\n    approval: { prompt: ok }\n  - id: publish\n    needs: [review]\n    shell: echo published\n", nil)
				st, err := person.Execute(context.Background(), id)
				must(t, err)
				if st.Status != engine.RunStatusWaiting {
					t.Fatalf("the run did not park waiting: %s", st.Status)
				}
				return id
			},
			request: func(t *testing.T, person *engine.Engine, id string) string {
				must(t, person.Signal(context.Background(), id, engine.ApprovalEvent("review"), approve))
				return id
			},
		},
		{
			name: "a continue",
			before: func(t *testing.T, person *engine.Engine) string {
				id := startRun(t, person, t.TempDir(), chainFlow, nil)
				must(t, person.Pause(context.Background(), id))
				st, err := person.Execute(context.Background(), id)
				must(t, err)
				if st.Status != engine.RunStatusPaused {
					t.Fatalf("the run did not park paused: %s", st.Status)
				}
				return id
			},
			request: func(t *testing.T, person *engine.Engine, id string) string {
				must(t, person.Continue(context.Background(), id))
				return id
			},
		},
	}
	for _, sc := range stores {
		for _, tt := range tests {
			t.Run(sc.Name+": "+tt.name, func(t *testing.T) {
				s := sc.Open(t)
				if _, ok := s.(engine.Waker); !ok {
					t.Skipf("%s wakes no one: its workers poll", sc.Name)
				}
				ctx, cancel := context.WithCancel(context.Background())
				person := process(t, s, engine.RealClock, "person")
				id := tt.before(t, person)
				clock := idleClock{idle: make(chan struct{}), stop: make(chan struct{})}
				done := make(chan error, 1)
				go func() { done <- (&engine.Worker{Engine: process(t, s, clock, "worker")}).Run(ctx, time.Hour) }()
				t.Cleanup(func() {
					cancel()
					close(clock.stop)
					if err := <-done; err != nil {
						t.Errorf("worker: %v", err)
					}
				})
				idle := func(what string) {
					t.Helper()
					select {
					case <-clock.idle:
					case <-time.After(time.Minute): // a bound on a broken test, not a measurement
						t.Fatalf("the worker never went idle %s", what)
					}
				}
				idle("after its first pass")
				id = tt.request(t, person, id)
				// The poll interval never ends, so only a wake-up makes the worker pass again.
				idle("again: nothing woke it")
				st, err := person.State(ctx, id)
				must(t, err)
				if st.Status != engine.RunStatusSucceeded {
					t.Fatalf("after the wake-up the run is %s", st.Status)
				}
			})
		}
	}
}
