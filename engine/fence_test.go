package engine_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"tandem/engine"
)

// laterClock is the wall clock shifted by d: a process that sees every lease as expired.
type laterClock struct{ d time.Duration }

func (c laterClock) Now() time.Time                         { return time.Now().Add(c.d) }
func (c laterClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// gate blocks a shell step until the test creates the file named by the step's attempt key.
const gatedFlow = `
name: gated
steps:
  - id: a
    shell: 'echo "a $TANDEM_IDEMPOTENCY_KEY" >> effects.log; echo started; while [ ! -f open ]; do sleep 0.01; done; echo a'
  - id: b
    needs: [a]
    shell: 'echo "b $TANDEM_IDEMPOTENCY_KEY" >> effects.log; echo b'
`

func TestARunnerStoppedPastItsLeaseWritesNothingOnceTakenOver(t *testing.T) {
	for _, sc := range stores {
		t.Run(sc.Name, func(t *testing.T) { stoppedPastLease(t, sc.Open(t)) })
	}
}

func stoppedPastLease(t *testing.T, s engine.Store) {
	ctx := context.Background()
	dir := t.TempDir()
	// The first process's lease is long, so only fencing (not a renewal) can stop it.
	stale, err := engine.New(engine.Options{Store: s, Owner: "stale", Lease: time.Hour, PollEvery: 10 * time.Millisecond})
	must(t, err)
	id := startRun(t, stale, dir, gatedFlow, nil)
	sub := stale.Bus().Subscribe(id)
	defer sub.Close()
	staleDone := make(chan error, 1)
	go func() { _, err := stale.Execute(ctx, id); staleDone <- err }()
	waitForOutput(t, sub, "a") // its side effect is written

	// The stale process is stopped (Ctrl-Z, a VM pause) past its lease; a worker whose clock
	// is past the lease takes the run over and re-runs the step in flight.
	worker, err := engine.New(engine.Options{Store: s, Owner: "worker", Clock: laterClock{2 * time.Hour}, PollEvery: 10 * time.Millisecond})
	must(t, err)
	wsub := worker.Bus().Subscribe(id)
	defer wsub.Close()
	workerDone := make(chan error, 1)
	go func() { _, err := worker.Execute(ctx, id); workerDone <- err }()
	waitForEvent(t, wsub, engine.StepStarted, "a")

	// The worker's attempt finishes (the stale one finishes too, or the worker killed it as a
	// leftover of the cut attempt); the stale process wakes with a result to record.
	must(t, os.WriteFile(filepath.Join(dir, "open"), nil, 0o644))
	if err := receive(t, staleDone, "the stale Execute"); !errors.Is(err, engine.ErrFenced) {
		t.Fatalf("stale Execute: err = %v, want ErrFenced", err)
	}
	must(t, receive(t, workerDone, "the worker's Execute"))

	evs, err := s.Events(ctx, id, 0)
	must(t, err)
	var types []string
	for i, e := range evs {
		types = append(types, string(e.Type)+" "+e.StepID)
		if e.Type == engine.RunSucceeded && i != len(evs)-1 {
			t.Errorf("events after the run's terminal event: %v", evs[i+1:])
		}
	}
	if n := strings.Count(strings.Join(types, ","), "run_succeeded"); n != 1 {
		t.Errorf("%d run_succeeded events, want 1: %v", n, types)
	}
	effects, err := os.ReadFile(filepath.Join(dir, "effects.log"))
	must(t, err)
	lines := strings.Split(strings.TrimSpace(string(effects)), "\n")
	want := []string{"a " + id + "/a/1", "a " + id + "/a/1", "b " + id + "/b/1"}
	if strings.Join(lines, "|") != strings.Join(want, "|") {
		t.Errorf("side effects %q, want %q: the step in flight once more under its key, the rest once", lines, want)
	}
}

func TestARunnerThatLosesItsLeaseKillsItsStepsAndWritesNothing(t *testing.T) {
	for _, sc := range stores {
		t.Run(sc.Name, func(t *testing.T) { losesItsLease(t, sc.Open(t)) })
	}
}

func losesItsLease(t *testing.T, s engine.Store) {
	ctx := context.Background()
	dir := t.TempDir()
	e, err := engine.New(engine.Options{Store: s, Owner: "stale", Lease: 300 * time.Millisecond, PollEvery: 10 * time.Millisecond})
	must(t, err)
	id := startRun(t, e, dir, `
name: long
steps:
  - id: long
    shell: 'echo $$ > pid; sleep 20; echo done >> effects.log'
`, nil)
	sub := e.Bus().Subscribe(id)
	defer sub.Close()
	done := make(chan error, 1)
	go func() { _, err := e.Execute(ctx, id); done <- err }()
	waitForEvent(t, sub, engine.StepStarted, "long")
	var pid int
	for pid == 0 { // the shell writes its pid first thing
		b, _ := os.ReadFile(filepath.Join(dir, "pid"))
		pid, _ = strconv.Atoi(strings.TrimSpace(string(b)))
		time.Sleep(5 * time.Millisecond)
	}
	before, err := s.Events(ctx, id, 0)
	must(t, err)
	// Another process takes the run as if the lease had expired under it.
	if _, ok, err := s.AcquireLease(ctx, id, "worker", time.Now().Add(time.Hour), time.Now().Add(2*time.Hour)); !ok || err != nil {
		t.Fatalf("take the run: %v %v", ok, err)
	}
	if err := receive(t, done, "Execute after losing the lease"); !errors.Is(err, engine.ErrFenced) {
		t.Fatalf("err = %v, want ErrFenced", err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "effects.log")); len(b) > 0 {
		t.Errorf("the step ran to its end (%q): losing the lease must kill it", b)
	}
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("the step's process %d is still there after Execute returned (kill -0: %v)", pid, err)
	}
	after, err := s.Events(ctx, id, 0)
	must(t, err)
	if len(after) != len(before) {
		t.Errorf("the runner wrote %v after losing its lease", after[len(before):])
	}
}

// waitForOutput waits for the first live output of a step.
func waitForOutput(t *testing.T, sub *engine.Subscription, step string) {
	t.Helper()
	deadline := time.After(time.Minute)
	for {
		select {
		case <-sub.Ready():
		case <-deadline:
			t.Fatalf("no output from step %s within a minute", step)
		}
		for _, n := range sub.Next() {
			if n.Delta != nil && n.Delta.StepID == step {
				return
			}
		}
	}
}

// receive waits for one value or fails the test after a minute instead of hanging the suite.
func receive(t *testing.T, c <-chan error, what string) error {
	t.Helper()
	select {
	case err := <-c:
		return err
	case <-time.After(time.Minute):
		t.Fatalf("%s did not return within a minute", what)
		return nil
	}
}
