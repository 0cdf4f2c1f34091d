package engine

import (
	"context"
	"errors"
)

// A run's loop runs a quick sequential step in its own goroutine (see launch): it starts an
// attempt, finds nothing else to do, and would otherwise only wait for that attempt's result.
// A goroutine per attempt and the wake-up to hand its result back cost a no-op step about as
// much CPU as its commit. The loop's other duties while an attempt runs, reading what other
// processes appended (a cancel request) and moving live output into the log, are the
// standby's: a goroutine per runner on the engine's clock that takes the runner's lock for
// each, whether the loop is running an attempt or waiting.

// attempt is a launched attempt with the context it runs under.
type attempt struct {
	x     *StepRun
	ctx   context.Context
	exec  Executor
	clock Clock
}

// run executes the attempt; ctx is the run's.
func (a *attempt) run(ctx context.Context) stepResult {
	start := a.clock.Now()
	res, err := a.exec.Execute(a.ctx, a.x)
	timedOut := errors.Is(a.ctx.Err(), context.DeadlineExceeded) && ctx.Err() == nil
	return stepResult{x: a.x, res: res, err: err, started: start, timedOut: timedOut}
}

// runInline runs an attempt in the loop's goroutine, letting go of the runner's lock
// meanwhile so the standby can serve the run.
func (r *runner) runInline(ctx context.Context, a *attempt) stepResult {
	r.mu.Unlock()
	defer r.mu.Lock()
	return a.run(ctx)
}

// quiet reports whether nothing but the attempt being started needs the loop before it
// ends: no retry or wait is due meanwhile.
func (r *runner) quiet() bool { return len(r.timed) == 0 }

// standby polls the log and flushes live output on the engine's clock until stop closes or
// ctx ends (the loop sees that itself). Each time it holds the runner's lock, does what the
// loop would, starts what that made ready (in goroutines) and commits, then wakes the loop.
func (r *runner) standby(ctx context.Context, stop <-chan struct{}) {
	poll := r.e.clock.After(r.e.pollEvery)
	flush := r.e.clock.After(flushEvery)
	for {
		var do func() error
		select {
		case <-stop:
			return
		case <-ctx.Done():
			return
		case <-poll:
			poll = r.e.clock.After(r.e.pollEvery)
			do = func() error { return r.poll(ctx) }
		case <-flush:
			flush = r.e.clock.After(flushEvery)
			do = func() error { r.flushLive(false, ""); return nil }
		}
		r.mu.Lock()
		if r.stopped {
			r.mu.Unlock()
			return
		}
		if err := r.serve(ctx, do); err != nil && ctx.Err() == nil && r.standbyErr == nil {
			r.standbyErr = err
		}
		r.mu.Unlock()
		select {
		case r.kick <- struct{}{}:
		default:
		}
	}
}

// serve runs one of the standby's duties under the runner's lock, then schedules and commits
// what it changed as the loop would.
func (r *runner) serve(ctx context.Context, do func() error) error {
	if err := do(); err != nil {
		return err
	}
	if !r.cancelling {
		for r.scanAll || len(r.dirty) > 0 || r.canUndefer() {
			r.schedule()
		}
	}
	if err := r.commit(ctx); err != nil {
		return err
	}
	r.launch(ctx, false)
	return nil
}
