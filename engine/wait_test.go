package engine_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"tandem/engine"
	"tandem/flows"
	"tandem/store"
)

// manualClock is a Clock tests move by hand; After channels fire when time passes them.
type manualClock struct {
	mu      sync.Mutex
	now     time.Time
	waiters []waiter
}

type waiter struct {
	at time.Time
	c  chan time.Time
}

func newManualClock() *manualClock {
	return &manualClock{now: time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)}
}

func (c *manualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *manualClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := make(chan time.Time, 1)
	if d <= 0 {
		ch <- c.now
		return ch
	}
	c.waiters = append(c.waiters, waiter{c.now.Add(d), ch})
	return ch
}

// waiting reports whether someone waits on the clock for d from now.
func (c *manualClock) waiting(d time.Duration) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, w := range c.waiters {
		if w.at.Equal(c.now.Add(d)) {
			return true
		}
	}
	return false
}

func (c *manualClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	kept := c.waiters[:0]
	for _, w := range c.waiters {
		if !w.at.After(c.now) {
			w.c <- c.now
		} else {
			kept = append(kept, w)
		}
	}
	c.waiters = kept
}

// process is one "process": an engine with its own owner name over a shared store.
func process(t *testing.T, s engine.Store, clock engine.Clock, owner string) *engine.Engine {
	t.Helper()
	e, err := engine.New(engine.Options{Store: s, Clock: clock, Owner: owner, PollEvery: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func startRun(t *testing.T, e *engine.Engine, dir, src string, inputs map[string]string) string {
	t.Helper()
	path := filepath.Join(dir, fmt.Sprintf("flow%d.yaml", time.Now().UnixNano()))
	must(t, os.WriteFile(path, []byte(src), 0o644))
	f, err := flows.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	in, err := flows.ResolveInputs(f, inputs)
	must(t, err)
	id, err := e.Start(context.Background(), f, in, engine.StartOptions{})
	must(t, err)
	return id
}

func TestASleepWhoseTimePassedWhileNothingRanFiresOnTheNextWorker(t *testing.T) {
	onEveryStore(t, func(t *testing.T, open opener) {
		s, clock, dir := open(t), newManualClock(), t.TempDir()
		first := process(t, s, clock, "first")
		id := startRun(t, first, dir, "name: nap\nsteps:\n  - id: nap\n    sleep: 2h\n  - id: after\n    needs: [nap]\n    shell: echo woke\n", nil)
		st, err := first.Execute(context.Background(), id)
		must(t, err)
		if st.Status != engine.RunStatusWaiting || st.Steps["nap"].Waiting.Until != clock.Now().Add(2*time.Hour) {
			t.Fatalf("parked as %s, waiting %+v", st.Status, st.Steps["nap"].Waiting)
		}
		// An hour later a worker finds nothing to do, and writes nothing.
		clock.Advance(time.Hour)
		w := &engine.Worker{Engine: process(t, s, clock, "second")}
		n, err := w.Pass(context.Background())
		if err != nil || n != 0 {
			t.Fatalf("early pass changed %d runs (%v)", n, err)
		}
		// Three hours later (no process ran meanwhile) the next worker fires the timer.
		clock.Advance(2 * time.Hour)
		must(t, (&engine.Worker{Engine: process(t, s, clock, "third")}).UntilIdle(context.Background()))
		st, _ = first.State(context.Background(), id)
		if st.Status != engine.RunStatusSucceeded || st.Steps["after"].Output != "woke" {
			t.Fatalf("after the timer: %s %q", st.Status, st.Steps["after"].Output)
		}
		if d := st.Steps["nap"].LastAttempt().Duration; d != 3*time.Hour {
			t.Errorf("the sleep took %s, want the 3h it waited", d)
		}
	})
}

const paymentFlow = `
name: pay
steps:
  - id: payment
    wait: { event: paid, timeout: 72h }
  - id: ship
    needs: [payment]
    shell: echo "shipping order {{ .steps.payment.json.order }}"
`

func TestASignalSentWhileNothingRanIsApplied(t *testing.T) {
	onEveryStore(t, func(t *testing.T, open opener) {
		s, clock, dir := open(t), newManualClock(), t.TempDir()
		e := process(t, s, clock, "a")
		id := startRun(t, e, dir, paymentFlow, nil)
		st, _ := e.Execute(context.Background(), id)
		if st.Status != engine.RunStatusWaiting {
			t.Fatalf("status %s", st.Status)
		}
		clock.Advance(5 * time.Hour)
		must(t, process(t, s, clock, "cli").Signal(context.Background(), id, "paid", []byte(`{"order":42}`)))
		must(t, (&engine.Worker{Engine: process(t, s, clock, "worker")}).UntilIdle(context.Background()))
		st, _ = e.State(context.Background(), id)
		if st.Status != engine.RunStatusSucceeded || st.Steps["ship"].Output != "shipping order 42" {
			t.Fatalf("%s %q", st.Status, st.Steps["ship"].Output)
		}
		if d := st.Steps["payment"].LastAttempt().Duration; d != 5*time.Hour {
			t.Errorf("the wait took %s, want the 5h until its signal", d)
		}
	})
}

func TestAnEarlySignalIsKeptUntilAStepWaitsForIt(t *testing.T) {
	onEveryStore(t, func(t *testing.T, open opener) {
		s, clock, dir := open(t), newManualClock(), t.TempDir()
		e := process(t, s, clock, "a")
		id := startRun(t, e, dir, "name: early\nsteps:\n  - id: first\n    shell: 'true'\n  - id: second\n    needs: [first]\n    sleep: 1h\n  - id: payment\n    needs: [second]\n    wait: paid\n", nil)
		// The signal arrives before the run even reached its wait.
		must(t, e.Signal(context.Background(), id, "paid", []byte(`"early"`)))
		st, _ := e.Execute(context.Background(), id)
		if st.Status != engine.RunStatusWaiting || len(st.Signals) != 1 {
			t.Fatalf("status %s, kept signals %d", st.Status, len(st.Signals))
		}
		clock.Advance(time.Hour)
		st, _ = e.Execute(context.Background(), id)
		if st.Status != engine.RunStatusSucceeded || st.Steps["payment"].Output != `"early"` || len(st.Signals) != 0 {
			t.Fatalf("%s payment=%q signals=%d", st.Status, st.Steps["payment"].Output, len(st.Signals))
		}
	})
}

func TestASignalForAFinishedRunIsRejected(t *testing.T) {
	onEveryStore(t, func(t *testing.T, open opener) {
		h := newHarness(t, open)
		st := h.run(h.flow("f.yaml", "name: done\nsteps:\n  - id: a\n    shell: 'true'\n"), nil)
		err := h.eng.Signal(context.Background(), st.ID, "late", nil)
		if err == nil || !strings.Contains(err.Error(), "has finished") {
			t.Fatalf("err = %v", err)
		}
	})
}

const reviewFlow = `
name: review
steps:
  - id: review
    approval: { prompt: "Publish?", timeout: 24h }
  - id: publish
    needs: [review]
    when: steps.review.json.approved
    shell: echo published
  - id: archive
    needs: [review]
    when: '!steps.review.json.approved'
    shell: echo "archived ({{ .steps.review.json.comment }})"
`

func TestApproveAndRejectBranch(t *testing.T) {
	onEveryStore(t, func(t *testing.T, open opener) {
		for _, approved := range []bool{true, false} {
			t.Run(fmt.Sprintf("approved=%v", approved), func(t *testing.T) {
				s, clock, dir := open(t), newManualClock(), t.TempDir()
				e := process(t, s, clock, "a")
				id := startRun(t, e, dir, reviewFlow, nil)
				st, _ := e.Execute(context.Background(), id)
				if w := st.Steps["review"].Waiting; w == nil || w.Prompt != "Publish?" {
					t.Fatalf("review waiting = %+v", w)
				}
				decide := e.Reject
				if approved {
					decide = e.Approve
				}
				must(t, decide(context.Background(), id, "review", "ana", "looks off"))
				st, _ = e.Execute(context.Background(), id)
				var got engine.ApprovalData
				must(t, json.Unmarshal([]byte(st.Steps["review"].Output), &got))
				if got.Approved != approved || got.Who != "ana" || got.Comment != "looks off" || !got.When.Equal(clock.Now().UTC()) {
					t.Fatalf("recorded %+v, want approved=%v by ana at the engine's clock %v", got, approved, clock.Now())
				}
				if err := decide(context.Background(), id, "review", "bo", ""); !errors.Is(err, engine.ErrRunFinished) && !errors.Is(err, engine.ErrNotAwaitingApproval) {
					t.Fatalf("an answer to an answered step: %v", err)
				}
				if st.Status != engine.RunStatusSucceeded {
					t.Fatalf("%s %s", st.Status, st.Error)
				}
				pub, arch := st.Steps["publish"].Status, st.Steps["archive"].Status
				if approved && (pub != engine.StatusSucceeded || arch != engine.StatusSkipped) {
					t.Fatalf("approved: publish %s archive %s", pub, arch)
				}
				if !approved && (pub != engine.StatusSkipped || st.Steps["archive"].Output != "archived (looks off)") {
					t.Fatalf("rejected: publish %s archive %q", pub, st.Steps["archive"].Output)
				}
			})
		}
	})
}

func TestOnlyAStepWaitingForAnApprovalCanBeApproved(t *testing.T) {
	onEveryStore(t, func(t *testing.T, open opener) {
		s, clock, dir := open(t), newManualClock(), t.TempDir()
		e := process(t, s, clock, "a")
		id := startRun(t, e, dir, "name: w\nsteps:\n  - id: hold\n    wait: { event: go }\n  - id: review\n    needs: [hold]\n    approval: { prompt: \"ok?\" }\n", nil)
		_, _ = e.Execute(context.Background(), id)
		for _, step := range []string{"hold", "review", "nope"} {
			if err := e.Approve(context.Background(), id, step, "ana", ""); !errors.Is(err, engine.ErrNotAwaitingApproval) {
				t.Errorf("approve %s: %v, want ErrNotAwaitingApproval", step, err)
			}
		}
	})
}

func TestAWaitThatTimesOutFailsWithReasonTimeout(t *testing.T) {
	onEveryStore(t, func(t *testing.T, open opener) {
		s, clock, dir := open(t), newManualClock(), t.TempDir()
		e := process(t, s, clock, "a")
		id := startRun(t, e, dir, paymentFlow, nil)
		_, _ = e.Execute(context.Background(), id)
		clock.Advance(73 * time.Hour)
		st, _ := e.Execute(context.Background(), id)
		a := st.Steps["payment"].LastAttempt()
		if st.Status != engine.RunStatusFailed || a.Reason != "timeout" || st.Steps["ship"].Status != engine.StatusSkipped {
			t.Fatalf("%s reason=%q ship=%s", st.Status, a.Reason, st.Steps["ship"].Status)
		}
	})
}

// TestTwoWorkersNeverExecuteAStepTwice runs many runs through two workers on one SQLite
// file and counts each step's side effects.
func TestTwoWorkersNeverExecuteAStepTwice(t *testing.T) {
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "tandem.db")
	open := func() *store.DB {
		db, err := store.Open(context.Background(), dbPath, store.Options{Synchronous: store.SyncNormal})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = db.Close() })
		return db
	}
	db1, db2 := open(), open()
	e1, _ := engine.New(engine.Options{Store: db1, Owner: "w1"})
	e2, _ := engine.New(engine.Options{Store: db2, Owner: "w2"})
	src := "name: count\nsteps:\n  - id: a\n    shell: echo \"$TANDEM_RUN_ID/a\" >> effects.log\n  - id: b\n    needs: [a]\n    shell: echo \"$TANDEM_RUN_ID/b\" >> effects.log\n  - id: fan\n    needs: [b]\n    map: '[1,2,3]'\n    shell: echo \"$TANDEM_RUN_ID/fan{{ .item }}\" >> effects.log\n"
	const runs = 30
	ids := make([]string, runs)
	for i := range ids {
		ids[i] = startRun(t, e1, dir, src, nil)
	}
	var wg sync.WaitGroup
	for _, e := range []*engine.Engine{e1, e2} {
		wg.Add(1)
		go func(e *engine.Engine) {
			defer wg.Done()
			_ = (&engine.Worker{Engine: e}).UntilIdle(context.Background())
		}(e)
	}
	wg.Wait()
	b, _ := os.ReadFile(filepath.Join(dir, "effects.log"))
	counts := map[string]int{}
	for _, l := range strings.Fields(string(b)) {
		counts[l]++
	}
	for _, id := range ids {
		info, err := db1.Run(context.Background(), id)
		if err != nil || info.Status != engine.RunStatusSucceeded {
			st, _ := e1.State(context.Background(), id)
			t.Errorf("run %s: %s %v: %s", id, info.Status, err, describeFailure(st))
		}
		for _, step := range []string{"a", "b", "fan1", "fan2", "fan3"} {
			if n := counts[id+"/"+step]; n != 1 {
				t.Errorf("%s/%s ran %d times", id, step, n)
			}
		}
	}
}

// describeFailure says why a run did not succeed: its error and every failed attempt's.
func describeFailure(st *engine.State) string {
	if st == nil {
		return "no state"
	}
	var b strings.Builder
	b.WriteString(st.Error)
	for id, ss := range st.Steps {
		for _, a := range ss.Attempts {
			if a.Error != "" {
				fmt.Fprintf(&b, "; %s#%d: %s %s", id, a.N, a.Error, a.StderrTail)
			}
		}
	}
	return b.String()
}

func TestSignalAllStoresEverySignalAndResolvesEachWait(t *testing.T) {
	onEveryStore(t, func(t *testing.T, open opener) {
		s, clock, dir := open(t), newManualClock(), t.TempDir()
		e := process(t, s, clock, "a")
		id := startRun(t, e, dir, "name: two\nsteps:\n  - id: x\n    wait: ex\n  - id: y\n    wait: why\n", nil)
		if st, _ := e.Execute(context.Background(), id); st.Status != engine.RunStatusWaiting {
			t.Fatalf("status %s", st.Status)
		}
		must(t, e.SignalAll(context.Background(), id, []engine.SignalData{{Event: "ex", Data: []byte(`1`)}, {Event: "why", Data: []byte(`2`)}}))
		st, _ := e.Execute(context.Background(), id)
		if st.Status != engine.RunStatusSucceeded || st.Steps["x"].Output != "1" || st.Steps["y"].Output != "2" {
			t.Fatalf("%s x=%q y=%q", st.Status, st.Steps["x"].Output, st.Steps["y"].Output)
		}
		if err := e.SignalAll(context.Background(), id, []engine.SignalData{{Event: "ex"}}); err == nil || !strings.Contains(err.Error(), "has finished") {
			t.Fatalf("a finished run took signals: %v", err)
		}
	})
}

// Waits take no slot of the parallelism limit: with Parallel 1, four waits whose signals are
// already in the log all start in the first commit, and a shell step beside them still runs.
func TestWaitsStartTogetherWhateverTheParallelismLimit(t *testing.T) {
	onEveryStore(t, func(t *testing.T, open opener) {
		s := open(t)
		e, err := engine.New(engine.Options{Store: s, Parallel: 1, PollEvery: 10 * time.Millisecond})
		must(t, err)
		src := "name: many\nsteps:\n"
		var sigs []engine.SignalData
		for _, id := range []string{"a", "b", "c", "d"} {
			src += fmt.Sprintf("  - id: %s\n    wait: { event: %s }\n", id, id)
			sigs = append(sigs, engine.SignalData{Event: id, Data: []byte(`"` + id + `"`)})
		}
		src += "  - id: work\n    shell: echo done\n"
		id := startRun(t, e, t.TempDir(), src, nil)
		must(t, e.SignalAll(context.Background(), id, sigs))
		st, err := e.Execute(context.Background(), id)
		must(t, err)
		if st.Status != engine.RunStatusSucceeded || st.Steps["d"].Output != `"d"` || st.Steps["work"].Output != "done" {
			t.Fatalf("%s d=%q work=%q", st.Status, st.Steps["d"].Output, st.Steps["work"].Output)
		}
		events, err := s.Events(context.Background(), id, 0)
		must(t, err)
		var firstSteps []string
		for _, ev := range events {
			if ev.StepID != "" && len(firstSteps) < 4 {
				firstSteps = append(firstSteps, string(ev.Type)+" "+ev.StepID)
			}
		}
		if want := "step_started a,step_started b,step_started c,step_started d"; strings.Join(firstSteps, ",") != want {
			t.Fatalf("first step events %v, want %s", firstSteps, want)
		}
	})
}
