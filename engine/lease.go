package engine

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Leases and wake-ups. One process at a time advances a run, under a lease whose epoch is a
// fencing token: every append of the advancing runner is conditional on the lease (see
// EventLog.AppendFenced), so a process stopped past its lease (Ctrl-Z, a VM pause, a long GC)
// that wakes after another took the run over writes nothing and stops its steps.
//
// Requests from other processes (continue, signals, approvals, retries, skips) are appended
// without a lease. A request appended while the runner is parking would be lost if the runner
// trusted its last read, so after releasing the lease it reads the log once more and advances
// again when anything arrived it had not seen. A requester that appends and then finds the
// lease held can therefore rely on the holder to apply its request.

// advance advances a run as long as there is news for it, and reports whether it wrote.
func (e *Engine) advance(ctx context.Context, runID string) (*State, bool, error) {
	var last *State
	wrote := false
	for round := 0; ; round++ {
		st, r, err := e.advanceOnce(ctx, runID)
		if r != nil {
			wrote = wrote || r.wrote
		}
		if round > 0 && errors.Is(err, ErrLeased) {
			// Another process took the run after the news arrived: it read the log after the
			// news, so it applies it.
			return last, wrote, nil
		}
		// A run that ended is looked at again too: a retry may have come while it ended.
		if err != nil || r == nil || ctx.Err() != nil {
			return st, wrote, err
		}
		last = st
		news, err := r.newsAfterRelease(ctx)
		if err != nil || !news {
			return st, wrote, err
		}
	}
}

// lease takes the run's lease: a free or expired one, or at once one whose owner is provably
// dead (a process on this machine that no longer exists).
func (e *Engine) takeRun(ctx context.Context, info RunInfo) (Lease, error) {
	now := e.clock.Now()
	l, ok, err := e.store.AcquireLease(ctx, info.ID, e.owner, now, now.Add(e.lease))
	if err != nil {
		return Lease{}, fmt.Errorf("execute run %s: %w", info.ID, err)
	}
	if !ok && ownerDead(info.LeaseOwner) {
		l, ok, err = e.store.TakeLease(ctx, info.ID, info.LeaseOwner, e.owner, now.Add(e.lease))
		if err != nil {
			return Lease{}, fmt.Errorf("execute run %s: %w", info.ID, err)
		}
	}
	if !ok {
		return Lease{}, fmt.Errorf("execute run %s: %w (%s, until %s)", info.ID, ErrLeased, info.LeaseOwner, info.LeaseUntil.Format(time.TimeOnly))
	}
	return l, nil
}

// keepLease renews the run's lease until ctx ends. A renewal refused because another process
// took the run stops the runner with ErrFenced; one that fails for another reason stops it
// with ErrLeased (its fenced appends then decide whether it may still write).
func (e *Engine) keepLease(ctx context.Context, l Lease, stop context.CancelCauseFunc) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-e.clock.After(e.lease / 3):
		}
		ok, err := e.store.RenewLease(ctx, l, e.clock.Now().Add(e.lease))
		if ctx.Err() != nil {
			return
		}
		switch {
		case err != nil:
			e.log.Error("renew run lease", "run", l.RunID, "err", err)
			stop(ErrLeased)
			return
		case !ok:
			e.log.Error("lost run lease", "run", l.RunID)
			stop(fmt.Errorf("renew lease of run %s: %w", l.RunID, ErrFenced))
			return
		}
	}
}

// newsAfterRelease reports whether another process appended to the run after the runner last
// read its log. Call it after the lease is released.
func (r *runner) newsAfterRelease(ctx context.Context) (bool, error) {
	events, err := r.e.store.Events(context.WithoutCancel(ctx), r.runID, r.polledSeq)
	if err != nil {
		return false, fmt.Errorf("read run %s after parking: %w", r.runID, err)
	}
	for _, ev := range events {
		if !r.own[ev.Seq] {
			return true, nil
		}
	}
	return false, nil
}
