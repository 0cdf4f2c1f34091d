package engine

import (
	"context"
	"encoding/json"
	"time"

	"tandem/flows"
)

// Waits park a step in the log: the executor returns at once with what the step waits for,
// and the scheduler resolves it when a matching signal is in the log or its time comes. No
// process has to stay alive meanwhile; whichever process advances the run next resolves it.

// ApprovalEvent is the signal name that resolves an approval step.
func ApprovalEvent(stepID string) string { return "approval:" + stepID }

// ApprovalData is the payload of an approval signal and the output of an approval step.
type ApprovalData struct {
	Approved bool      `json:"approved"`
	Comment  string    `json:"comment"`
	Who      string    `json:"who"`
	When     time.Time `json:"when"`
}

type waitExecutor struct{ clock Clock }

func (w waitExecutor) Prepare(s *flows.Step, data map[string]any) (string, error) {
	if s.Kind == flows.KindApproval && s.Approval != nil {
		return flows.Render(s.Approval.Prompt, data)
	}
	return "", nil
}

func (w waitExecutor) Execute(_ context.Context, x *StepRun) (Result, error) {
	now := w.clock.Now()
	p := &StepWaitingData{Kind: string(x.Step.Kind)}
	switch x.Step.Kind {
	case flows.KindSleep:
		if sl := x.Step.Sleep; sl != nil {
			p.Until = sl.Until
			if sl.Duration > 0 {
				p.Until = now.Add(sl.Duration)
			}
		}
	case flows.KindWait:
		if wt := x.Step.Wait; wt != nil {
			p.Events = wt.Events
			if wt.Timeout > 0 {
				p.Until = now.Add(wt.Timeout)
			}
		}
	case flows.KindApproval:
		p.Events, p.Prompt = []string{ApprovalEvent(x.StepID)}, x.Input
		if a := x.Step.Approval; a != nil && a.Timeout > 0 {
			p.Until = now.Add(a.Timeout)
		}
	}
	return Result{Park: p}, nil
}

// checkWait resolves a parked step when its signal or its time has come.
func (r *runner) checkWait(s *flows.Step, ss *StepState, now time.Time) {
	w := ss.Waiting
	if w == nil {
		return
	}
	n := attemptN(ss)
	var waited int64 // how long the step waited, as its attempt's duration
	if a := ss.LastAttempt(); a != nil && !a.StartedAt.IsZero() {
		waited = now.Sub(a.StartedAt).Milliseconds()
	}
	if w.Kind == string(flows.KindSleep) {
		if !now.Before(w.Until) {
			r.add(Event{Type: StepSucceeded, StepID: ss.ID, Attempt: n,
				Data: mustJSON(StepResultData{Output: w.Until.UTC().Format(time.RFC3339), DurationMS: waited})})
		}
		return
	}
	for _, sig := range r.st.Signals {
		for _, want := range w.Events {
			if sig.Event != want {
				continue
			}
			out := string(sig.Data)
			if len(w.Events) > 1 { // a deferred choice: say which event won
				out = string(mustJSON(map[string]any{"event": sig.Event, "data": json.RawMessage(orNull(sig.Data))}))
			}
			r.add(Event{Type: StepSucceeded, StepID: ss.ID, Attempt: n,
				Data: mustJSON(StepResultData{Output: out, ConsumedSignal: sig.Seq, DurationMS: waited})})
			return
		}
	}
	if !w.Until.IsZero() && !now.Before(w.Until) {
		d := StepResultData{Error: "timed out waiting for " + joinEvents(w.Events), Reason: "timeout", DurationMS: waited}
		d.Final = ss.Failures+1 >= maxAttempts(s)
		if !d.Final {
			d.RetryInMS = backoff(s.Retry, ss.Failures+1).Milliseconds()
		}
		r.add(Event{Type: StepFailed, StepID: ss.ID, Attempt: n, Data: mustJSON(d)})
	}
}

func orNull(b []byte) []byte {
	if len(b) == 0 {
		return []byte("null")
	}
	return b
}

func joinEvents(evs []string) string {
	out := ""
	for i, e := range evs {
		if i > 0 {
			out += " or "
		}
		out += e
	}
	return out
}
