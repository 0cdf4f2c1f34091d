package engine

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// Worker advances every run in a store that can move: runs started detached, runs whose
// owner died (after its lease expires, or at once when it was a process on this host),
// waiting runs whose timer is due or whose signal arrived. Several workers may share one
// database: the run lease lets only one of them advance a run at a time.
type Worker struct {
	Engine *Engine
	// Runs at most this many runs at once; default 4.
	Concurrency int
	// OnError receives errors advancing a run (the worker goes on).
	OnError func(runID string, err error)
	// ResumeInterrupted makes the worker resume interrupted runs too (Ctrl-C, SIGTERM, a
	// quit workbench). By default it leaves them to an explicit tandem resume: a person
	// stopped them.
	ResumeInterrupted bool
}

// Pass advances each candidate run once and reports how many changed.
func (w *Worker) Pass(ctx context.Context) (int, error) {
	// Paused runs need a continue, which lists them running again (Engine.Continue), or is
	// applied by the process parking them (Engine.advance); either way they are not looked at.
	statuses := []RunStatus{RunStatusQueued, RunStatusRunning, RunStatusWaiting}
	if w.ResumeInterrupted {
		statuses = append(statuses, RunStatusInterrupted)
	}
	runs, err := w.Engine.store.Runs(ctx, RunQuery{Status: statuses})
	if err != nil {
		return 0, fmt.Errorf("worker: list runs: %w", err)
	}
	now := w.Engine.clock.Now()
	sem := make(chan struct{}, max(w.Concurrency, 4))
	var mu sync.Mutex
	changed := 0
	var wg sync.WaitGroup
	for _, info := range runs {
		if info.ParentRunID != "" {
			continue // children advance with their parent step
		}
		if info.LeaseOwner != "" && info.LeaseUntil.After(now) && !ownerDead(info.LeaseOwner) {
			continue // someone is advancing it
		}
		wg.Add(1)
		sem <- struct{}{}
		go func(info RunInfo) {
			defer wg.Done()
			defer func() { <-sem }()
			_, wrote, err := w.Engine.advance(ctx, info.ID)
			if errors.Is(err, ErrLeased) || (err != nil && ctx.Err() != nil) {
				return
			}
			if err != nil && w.OnError != nil {
				w.OnError(info.ID, err)
			}
			if wrote {
				mu.Lock()
				changed++
				mu.Unlock()
			}
		}(info)
	}
	wg.Wait()
	return changed, ctx.Err()
}

// UntilIdle repeats passes until one changes nothing: everything that can advance now has.
func (w *Worker) UntilIdle(ctx context.Context) error {
	for {
		n, err := w.Pass(ctx)
		if err != nil || n == 0 {
			return err
		}
	}
}

// Waker is implemented by stores that can tell a worker at once that a run may move: a
// request appended by another process (a signal, an approval, a continue) or a new run to
// start. Wakeups' channel receives a value for each such change (values may coalesce) until
// ctx ends; a store may also send when it cannot be sure it missed none.
type Waker interface {
	Wakeups(ctx context.Context) <-chan struct{}
}

// Announcer is implemented by stores that can wake other processes' workers at once (the
// other half of Waker).
type Announcer interface {
	AnnounceRun(ctx context.Context, runID string) error
}

// Detach hands a run recorded with Start or Fork, and not executed here, to the workers: on a
// store that is an Announcer they are woken at once, elsewhere the next poll finds it. A run
// the starting process executes itself is not announced, so no worker races it for the lease.
func (e *Engine) Detach(ctx context.Context, runID string) error {
	if a, ok := e.store.(Announcer); ok {
		if err := a.AnnounceRun(ctx, runID); err != nil {
			return fmt.Errorf("detach run %s: %w", runID, err)
		}
	}
	return nil
}

// Run passes every poll interval until ctx ends. On a store that is a Waker it also passes
// as soon as it is woken, and polling is only the fallback for what no wake-up announces
// (expired leases, due timers, a lost listening connection).
func (w *Worker) Run(ctx context.Context, poll time.Duration) error {
	var wake <-chan struct{}
	if wk, ok := w.Engine.store.(Waker); ok {
		wake = wk.Wakeups(ctx)
	}
	for {
		if _, err := w.Pass(ctx); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		select {
		case <-ctx.Done():
			return nil
		case <-w.Engine.clock.After(poll):
		case <-wake:
		}
	}
}
