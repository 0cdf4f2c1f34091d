package engine

import (
	"context"
	"errors"
	"fmt"

	"tandem/flows"
)

// ErrNotAwaitingApproval is returned by Approve and Reject for a step that is not waiting for
// an approval (it never was one, it has not started, or it was already answered).
var ErrNotAwaitingApproval = errors.New("the step is not waiting for an approval")

// Approve approves approval step stepID of run runID, recording who approved it, why
// (comment) and when (by the engine's clock), the same way whoever asks: the CLI, the
// workbench or a script. The step must be waiting for an approval. The decision is an event
// in the log; whichever process advances the run next applies it.
func (e *Engine) Approve(ctx context.Context, runID, stepID, who, comment string) error {
	return e.decide(ctx, runID, stepID, ApprovalData{Approved: true, Who: who, Comment: comment})
}

// Reject rejects approval step stepID of run runID, as Approve approves it.
func (e *Engine) Reject(ctx context.Context, runID, stepID, who, comment string) error {
	return e.decide(ctx, runID, stepID, ApprovalData{Approved: false, Who: who, Comment: comment})
}

func (e *Engine) decide(ctx context.Context, runID, stepID string, d ApprovalData) error {
	verb := map[bool]string{true: "approve", false: "reject"}[d.Approved]
	st, err := e.State(ctx, runID)
	if err != nil {
		return fmt.Errorf("%s %s of run %s: %w", verb, stepID, runID, err)
	}
	s, ok := st.Steps[stepID]
	if !ok || s.Waiting == nil || s.Waiting.Kind != string(flows.KindApproval) || s.Status != StatusWaiting {
		return fmt.Errorf("%s %s of run %s: %w", verb, stepID, st.ID, ErrNotAwaitingApproval)
	}
	d.When = e.clock.Now().UTC()
	if err := e.Signal(ctx, st.ID, ApprovalEvent(stepID), mustJSON(d)); err != nil {
		return fmt.Errorf("%s %s of run %s: %w", verb, stepID, st.ID, err)
	}
	return nil
}
