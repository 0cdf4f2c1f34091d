package engine

import (
	"context"
	"errors"
)

// Advance goes on with a run after a control was recorded (continue, step, retry, skip, an
// approval, a signal). When no process is advancing the run, it advances here until the run
// finishes or parks, like Execute. When another process holds the run's lease, that process
// applies the control (it reads the log again after it parks), so Advance returns at once
// with elsewhere set and no error: the CLI and the workbench say so instead of failing.
func (e *Engine) Advance(ctx context.Context, runID string) (st *State, elsewhere bool, err error) {
	st, err = e.Execute(ctx, runID)
	if errors.Is(err, ErrLeased) {
		return nil, true, nil
	}
	return st, false, err
}
