package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"tandem/cmd/tandem/internal/render"
	"tandem/engine"
)

// joinPoll is how often a joined run's log is read while another process advances it.
const joinPoll = 200 * time.Millisecond

// join attaches to a run whatever its state: it advances the run here when no process does
// (a detached run nobody picked up, a run whose process died), and otherwise follows the
// process that does, printing the run's progress from its log, until the run ends or parks
// — taking it over if that process stops holding it before then.
func (a *app) join(ctx context.Context, e *env, run engine.RunInfo) error {
	header := fmt.Sprintf("join %s  %s", run.ID, run.FlowName)
	var seen int64
	for {
		err := a.execute(ctx, e, run.ID, header)
		if !errors.Is(err, engine.ErrLeased) {
			return err
		}
		header = "" // execute printed it
		info, err := e.db.Run(ctx, run.ID)
		if err != nil {
			return err
		}
		if !a.json {
			fmt.Fprintf(stdout, "  another process advances it (%s); following its log\n", info.LeaseOwner)
		}
		done, st, err := a.follow(ctx, e, run.ID, &seen)
		if err != nil {
			return err
		}
		if done {
			return a.ended(ctx, e, st)
		}
	}
}

// follow prints a run's logged events after *seen as they are appended, until the run
// stops running (done) or no process holds it any more while it still runs (not done: the
// caller may take it over).
func (a *app) follow(ctx context.Context, e *env, id string, seen *int64) (bool, *engine.State, error) {
	p := render.NewPrinter(stdout, id)
	p.Quiet = a.json
	t := time.NewTicker(joinPoll)
	defer t.Stop()
	for {
		events, err := e.db.Events(ctx, id, *seen)
		if err != nil {
			return false, nil, err
		}
		for i := range events {
			p.Notice(engine.Notice{Event: &events[i]})
			*seen = events[i].Seq
		}
		info, err := e.db.Run(ctx, id)
		if err != nil {
			return false, nil, err
		}
		// A queued run a worker has just taken is still listed queued until its first step.
		going := info.Status == engine.RunStatusRunning || info.Status == engine.RunStatusQueued
		if !going || info.LeaseUntil.Before(time.Now()) {
			st, err := e.engine.State(ctx, id)
			return !going, st, err
		}
		select {
		case <-ctx.Done():
			// Stopping to watch stops nothing: the other process goes on.
			fmt.Fprintf(stdout, "stopped following run %s; it goes on in the other process (tandem resume %s --join follows it again)\n", id, id)
			return false, nil, exitError{code: 130}
		case <-t.C:
		}
	}
}

// ended prints how a followed run ended and maps it to an exit code as execute does.
func (a *app) ended(ctx context.Context, e *env, st *engine.State) error {
	if a.json {
		info, err := e.db.Run(ctx, st.ID)
		if err != nil {
			return err
		}
		return errors.Join(printJSON(render.NewRun(info, st)), exitFor(st.Status))
	}
	took := time.Since(st.StartedAt)
	if !st.EndedAt.IsZero() {
		took = st.EndedAt.Sub(st.StartedAt)
	}
	render.End(stdout, st, took)
	return exitFor(st.Status)
}

// exitFor maps how a run stands to an exit code: 0 succeeded or parked, 130 interrupted, 1
// otherwise.
func exitFor(s engine.RunStatus) error {
	switch s {
	case engine.RunStatusSucceeded, engine.RunStatusWaiting, engine.RunStatusPaused:
		return nil
	case engine.RunStatusInterrupted:
		return exitError{code: 130}
	}
	return exitError{code: exitFailed}
}
