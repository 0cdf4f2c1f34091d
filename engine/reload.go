package engine

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"tandem/flows"
)

// FlowReloaded replaces the flow a run goes on with by the file as it is now
// (FlowReloadedData); the run's steps keep what they did. Retry appends it with
// RetryReloaded.
const FlowReloaded EventType = "flow_reloaded"

// FlowReloadedData is the payload of FlowReloaded: the flow file's new source.
type FlowReloadedData struct {
	Source string `json:"source"`
}

// ReloadProblem says why run st cannot go on with flow f in place of the flow it started
// with, nil when it can: every step the run completed is still in f with the same needs,
// so what it did stays true. A running run cannot reload: its runner holds the old flow.
func ReloadProblem(st *State, f *flows.Flow) error {
	if st.Status == RunStatusRunning || st.Status == RunStatusPending || st.Status == RunStatusQueued {
		return fmt.Errorf("run %s is %s: reload a failed, interrupted or finished run", st.ID, st.Status)
	}
	var changed []string
	for _, id := range st.StepIDs() {
		s := st.Steps[id]
		if s.Parent != "" || !s.Status.Done() || s.Status == StatusFailed {
			continue
		}
		was, now := stepOf(st, id), f.StepByID(id)
		switch {
		case now == nil:
			changed = append(changed, id+" (removed)")
		case was != nil && !sameNeeds(was.Needs, now.Needs):
			changed = append(changed, id+" (needs changed)")
		}
	}
	if len(changed) > 0 {
		return fmt.Errorf("the file changed steps the run completed: %s; fork the run or start it again", strings.Join(changed, ", "))
	}
	return nil
}

// stepOf returns step id of the flow run st started with, nil when it does not parse.
func stepOf(st *State, id string) *flows.Step {
	f, err := flows.Parse(st.Start.FlowPath, []byte(st.Start.Source))
	if err != nil {
		return nil
	}
	return f.StepByID(id)
}

func sameNeeds(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// RetryReloaded retries stepID of run runID, as Retry does, with flow f (the file as it is
// now) in place of the flow the run started with, when ReloadProblem allows it.
func (e *Engine) RetryReloaded(ctx context.Context, runID, stepID string, f *flows.Flow) error {
	st, err := e.State(ctx, runID)
	if err != nil {
		return err
	}
	if err := ReloadProblem(st, f); err != nil {
		return fmt.Errorf("retry %s in run %s with %s as it is now: %w", stepID, runID, f.Path, err)
	}
	if f.StepByID(stepID) == nil {
		return fmt.Errorf("retry %s in run %s: %s has no step %s", stepID, runID, f.Path, stepID)
	}
	if err := e.append(ctx, []Event{{RunID: runID, Type: FlowReloaded, Time: e.clock.Now(),
		Data: mustJSON(FlowReloadedData{Source: string(f.Source)})}}); err != nil {
		return err
	}
	return e.Retry(ctx, runID, stepID, "")
}
