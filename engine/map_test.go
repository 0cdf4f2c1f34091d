package engine_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"tandem/engine"
)

// retryingItemsFlow maps over two items with a retry policy; %s is the shell condition an
// attempt must pass, and the item's output follows it.
const retryingItemsFlow = `
name: items
steps:
  - id: each
    map: '[1,2]'
    shell: '%s && echo "item {{ .item }}"'
    retry: { max_attempts: 3, backoff: 50ms }
  - id: after
    needs: [each]
    shell: echo 'after {{ json .steps.each.json }}'
`

// executeTicking executes a run to its end. With a manual clock it moves the clock on a
// second at a time meanwhile, so retry timers come due without real waiting.
func executeTicking(t *testing.T, e *engine.Engine, id string, clock *manualClock) *engine.State {
	t.Helper()
	type result struct {
		st  *engine.State
		err error
	}
	done := make(chan result, 1)
	go func() {
		st, err := e.Execute(context.Background(), id)
		done <- result{st, err}
	}()
	deadline := time.After(20 * time.Second)
	for {
		select {
		case r := <-done:
			if r.err != nil {
				t.Fatalf("execute: %v", r.err)
			}
			return r.st
		case <-time.After(2 * time.Millisecond):
			if clock != nil {
				clock.Advance(time.Second)
			}
		case <-deadline:
			t.Fatal("the run never finished")
		}
	}
}

func TestAMapStepWaitsForItsRetryingItems(t *testing.T) {
	onEveryStore(t, func(t *testing.T, open opener) {
		tests := []struct {
			name      string
			condition string // the shell test an item's attempt must pass
			run       engine.RunStatus
			each      engine.StepStatus
			eachOut   string
			after     engine.StepStatus
			afterOut  string
			attempts  int // of each[1], the item that fails
		}{
			{
				name:      "an item that fails once is retried and the run goes on with every output",
				condition: `{ test "$TANDEM_ATTEMPT" -gt 1 || [ {{ .item }} = 1 ]; }`,
				run:       engine.RunStatusSucceeded,
				each:      engine.StatusSucceeded,
				eachOut:   `["item 1","item 2"]`,
				after:     engine.StatusSucceeded,
				afterOut:  `after ["item 1","item 2"]`,
				attempts:  2,
			},
			{
				name:      "an item that exhausts its retries fails the map step and skips its dependents",
				condition: `[ {{ .item }} = 1 ]`,
				run:       engine.RunStatusFailed,
				each:      engine.StatusFailed,
				after:     engine.StatusSkipped,
				attempts:  3,
			},
		}
		clocks := []struct {
			name   string
			manual bool
		}{{"wall clock", false}, {"manual clock", true}}
		for _, tt := range tests {
			for _, c := range clocks {
				t.Run(tt.name+" ("+c.name+")", func(t *testing.T) {
					t.Parallel()
					var clock engine.Clock = engine.RealClock
					var ticking *manualClock
					if c.manual {
						ticking = newManualClock()
						clock = ticking
					}
					e := process(t, open(t), clock, "runner")
					id := startRun(t, e, t.TempDir(), fmt.Sprintf(retryingItemsFlow, tt.condition), nil)
					st := executeTicking(t, e, id, ticking)

					if st.Status != tt.run {
						t.Fatalf("run %s (%s), want %s; each %s, each[1] %s, after %s", st.Status, st.Error, tt.run,
							st.Steps["each"].Status, st.Steps["each[1]"].Status, st.Steps["after"].Status)
					}
					if got := st.Steps["each"].Status; got != tt.each {
						t.Errorf("each = %s, want %s", got, tt.each)
					}
					if got := st.Steps["each"].Output; got != tt.eachOut {
						t.Errorf("each output = %q, want %q", got, tt.eachOut)
					}
					if got := st.Steps["after"].Status; got != tt.after {
						t.Errorf("after = %s, want %s", got, tt.after)
					}
					if got := st.Steps["after"].Output; got != tt.afterOut {
						t.Errorf("after output = %q, want %q", got, tt.afterOut)
					}
					if got := len(st.Steps["each[0]"].Attempts); got != 1 {
						t.Errorf("each[0] attempts = %d, want 1", got)
					}
					if got := len(st.Steps["each[1]"].Attempts); got != tt.attempts {
						t.Errorf("each[1] attempts = %d, want %d", got, tt.attempts)
					}
					// The map step took as long as its items: the first one's start to the last one's end.
					var first, last time.Time
					for _, id := range []string{"each[0]", "each[1]"} {
						c := st.Steps[id]
						if t := c.Attempts[0].StartedAt; first.IsZero() || t.Before(first) {
							first = t
						}
						if t := c.LastAttempt().EndedAt; t.After(last) {
							last = t
						}
					}
					want := time.Duration(last.Sub(first).Milliseconds()) * time.Millisecond
					if got := st.Steps["each"].LastAttempt().Duration; got != want || c.manual && want < time.Second {
						t.Errorf("each took %s, want %s (its items' span; with the manual clock the retry waits at least 1s)", got, want)
					}
					if tt.run == engine.RunStatusFailed && !strings.Contains(st.Error, "each[1]") {
						t.Errorf("run error %q does not name the failed item", st.Error)
					}
				})
			}
		}
	})
}

func TestAPausedRunParksWhileAnItemWaitsToRetry(t *testing.T) {
	onEveryStore(t, func(t *testing.T, open opener) {
		s, clock := open(t), newManualClock()
		e := process(t, s, clock, "runner")
		id := startRun(t, e, t.TempDir(), fmt.Sprintf(retryingItemsFlow, `{ test "$TANDEM_ATTEMPT" -gt 1 || [ {{ .item }} = 1 ]; }`), nil)
		sub := e.Bus().Subscribe(id)
		defer sub.Close()
		done := make(chan *engine.State, 1)
		go func() {
			st, err := e.Execute(context.Background(), id)
			if err != nil {
				t.Errorf("execute: %v", err)
			}
			done <- st
		}()
		// The clock stands still, so the item's retry never comes due while the run is paused.
		waitFor(t, sub, func(ev engine.Event) bool { return ev.Type == engine.StepFailed && ev.StepID == "each[1]" })
		// The runner's poll (every 10ms here) and live-output flush (every 250ms) wait on the
		// engine's clock too: the pause is read only once the clock moves one poll on.
		if !clock.waiting(10*time.Millisecond) || !clock.waiting(250*time.Millisecond) {
			t.Fatal("the runner's poll and flush do not wait on the engine's clock")
		}
		must(t, process(t, s, clock, "cli").Pause(context.Background(), id))
		clock.Advance(10 * time.Millisecond)
		var st *engine.State
		select {
		case st = <-done:
		case <-time.After(20 * time.Second):
			t.Fatal("the paused run never parked")
		}
		if st.Status != engine.RunStatusPaused || st.Steps["each"].Status != engine.StatusRunning ||
			st.Steps["each[1]"].Status != engine.StatusRetrying || st.Steps["after"].Status != engine.StatusPending {
			t.Fatalf("parked as %s (%s): each %s, each[1] %s, after %s", st.Status, st.Error,
				st.Steps["each"].Status, st.Steps["each[1]"].Status, st.Steps["after"].Status)
		}

		must(t, process(t, s, clock, "cli").Continue(context.Background(), id))
		clock.Advance(time.Minute)
		st = executeTicking(t, e, id, clock)
		if st.Status != engine.RunStatusSucceeded || st.Steps["after"].Output != `after ["item 1","item 2"]` {
			t.Fatalf("after continue: %s (%s), after %q", st.Status, st.Error, st.Steps["after"].Output)
		}
	})
}
