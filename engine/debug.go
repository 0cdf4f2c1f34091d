package engine

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"

	"tandem/flows"
)

// The debug controls: skip a step with a manual output, fork a run from a step, breakpoints,
// pause, continue and step mode. Each is an event appended to the run's log, so a command in
// one process steers a run another process advances; the scheduler reads them (hold.go).

// ErrStepNotFound is returned when a run's flow has no step with the given id.
var ErrStepNotFound = errors.New("no such step")

// ErrInvalidInputs is returned when inputs given for a run do not fit its flow.
var ErrInvalidInputs = errors.New("invalid inputs")

// Skip completes a step with output given by a person instead of running it; dependents run
// with that output. The step must be failed, retrying, interrupted, skipped, waiting or not
// yet started, in a run that has not succeeded or been cancelled; a failed run goes on at its
// next Execute. While another process advances the run, only failed and skipped steps (which
// no process touches again) can be skipped: pause the run first for the others.
func (e *Engine) Skip(ctx context.Context, runID, stepID, output string) error {
	st, s, err := e.skipTarget(ctx, runID, stepID)
	if err != nil {
		return err
	}
	runID = st.ID
	now := e.clock.Now()
	owner := e.owner + ":skip"
	lease, ok, err := e.store.AcquireLease(ctx, runID, owner, now, now.Add(e.lease))
	if err != nil {
		return fmt.Errorf("skip %s in run %s: %w", stepID, runID, err)
	}
	if ok {
		defer func() { _ = e.store.ReleaseLease(context.WithoutCancel(ctx), lease) }()
	} else if s.Status != StatusFailed && s.Status != StatusSkipped {
		// The advancing process may start or resolve this step at any moment.
		return fmt.Errorf("skip %s in run %s: %w; pause it (tandem pause %s) and skip the step once the run is paused",
			stepID, runID, ErrLeased, runID)
	}
	// Read again now that nothing else advances the run (or, leased elsewhere, as late as
	// possible): another process may have resolved the step or finished the run meanwhile.
	if st, s, err = e.skipTarget(ctx, runID, stepID); err != nil {
		return err
	}
	events := []Event{{RunID: runID, Type: StepManual, StepID: stepID, Attempt: attemptN(s), Time: now,
		Data: mustJSON(StepManualData{Output: output})}}
	if st.Status != RunStatusRunning {
		events = append(events, Event{RunID: runID, Type: RunResumed, Time: now, Status: RunStatusRunning})
	}
	if ok {
		return e.appendFenced(ctx, lease, events)
	}
	return e.append(ctx, events)
}

// skipTarget reads the run and the step Skip would complete, refusing a step in a state a
// person cannot complete by hand.
func (e *Engine) skipTarget(ctx context.Context, runID, stepID string) (*State, *StepState, error) {
	st, f, err := e.debugTarget(ctx, runID, "skip "+stepID)
	if err != nil {
		return nil, nil, err
	}
	s, ok := st.Steps[stepID]
	if !ok {
		if f == nil || f.StepByID(stepID) == nil {
			return nil, nil, fmt.Errorf("skip %s in run %s: %w (steps: %s)", stepID, st.ID, ErrStepNotFound, strings.Join(flowStepIDs(f, st), ", "))
		}
		s = &StepState{ID: stepID, Status: StatusPending}
	}
	switch s.Status {
	case StatusFailed, StatusRetrying, StatusInterrupted, StatusSkipped, StatusPending, StatusWaiting:
		return st, s, nil
	case StatusSucceeded:
		return nil, nil, fmt.Errorf("skip %s in run %s: the step already succeeded; fork the run to change it", stepID, st.ID)
	default:
		return nil, nil, fmt.Errorf("skip %s in run %s: the step is %s; pause the run and skip it when it has stopped", stepID, st.ID, s.Status)
	}
}

// ForkOptions change how a forked run starts.
type ForkOptions struct {
	// Inputs override the source run's inputs by name; strings are typed by the flow's
	// declared inputs. A step that reads an input whose value changes runs again, and so
	// does everything after it; the other steps before the fork step keep their outputs.
	Inputs map[string]any
	// Queued lists the fork queued, not running, until a process advances it (fork --detach).
	Queued bool
}

// Fork starts a new run of the source run's flow (as recorded with it) that reuses the
// committed outputs of every step that is neither stepID nor downstream of it (through needs),
// recorded as StepSucceeded events with ReusedFrom set, so they never run again. stepID and
// everything after it run fresh when the new run is executed, and so does every step that
// reads an input o changes, with everything after it (ForkRerun). Steps the source run had
// not completed successfully run fresh too.
func (e *Engine) Fork(ctx context.Context, runID, stepID string, o ForkOptions) (string, error) {
	info, err := e.store.Run(ctx, runID)
	if err != nil {
		return "", fmt.Errorf("fork run %s: %w", runID, err)
	}
	src, err := e.State(ctx, info.ID)
	if err != nil {
		return "", fmt.Errorf("fork run %s: %w", info.ID, err)
	}
	f, err := flows.Parse(src.Start.FlowPath, []byte(src.Start.Source))
	if err != nil {
		return "", fmt.Errorf("fork run %s: the flow recorded with it no longer parses: %w", info.ID, err)
	}
	if f.StepByID(stepID) == nil {
		return "", fmt.Errorf("fork run %s at %s: %w (steps: %s)", info.ID, stepID, ErrStepNotFound, strings.Join(flowStepIDs(f, nil), ", "))
	}
	given := map[string]any{}
	for k, v := range src.Start.Inputs {
		given[k] = v
	}
	for _, in := range f.Inputs {
		if in.Secret { // the log holds flows.Redacted; the value is in memory or the environment
			given[in.Name] = e.secrets.value(info.ID, in.Name)
		}
	}
	// The source's inputs as its steps saw them, to tell which inputs the fork changes.
	before, berr := flows.CoerceInputs(f, given)
	for k, v := range o.Inputs {
		given[k] = v
	}
	inputs, err := flows.CoerceInputs(f, given)
	if err != nil {
		return "", fmt.Errorf("fork run %s: %w: %v", info.ID, ErrInvalidInputs, err)
	}
	var changed []string
	for k := range o.Inputs {
		if berr != nil || !reflect.DeepEqual(before[k], inputs[k]) {
			changed = append(changed, k)
		}
	}
	rerun := ForkRerun(f, stepID, changed)
	id := e.newID()
	inputs, secrets := redactSecrets(f, inputs)
	e.secrets.put(id, secrets)
	now := e.clock.Now()
	var reused []Event
	for _, s := range f.Steps {
		if ss, ok := src.Steps[s.ID]; ok && !rerun[s.ID] && ss.Status == StatusSucceeded {
			reused = append(reused, Event{RunID: id, Type: StepSucceeded, StepID: s.ID, Time: now,
				Data: mustJSON(StepResultData{Output: ss.Output, ReusedFrom: src.ID})})
		}
	}
	// With reused outputs to record, the run is listed as pending until they are committed,
	// so no worker advances it half-made (which would re-run the steps it should reuse).
	ready := RunStatusRunning
	if o.Queued {
		ready = RunStatusQueued
	}
	status := ready
	if len(reused) > 0 {
		status = RunStatusPending
		reused[len(reused)-1].Status = ready
	}
	start := Event{RunID: id, Type: RunStarted, Time: now, Status: status, Data: mustJSON(RunStartedData{
		FlowName: f.Name, FlowPath: f.Path, Source: src.Start.Source, Inputs: inputs,
		ForkedFrom: src.ID, ForkedFromStep: stepID, Queued: o.Queued})}
	err = e.store.CreateRun(ctx, RunInfo{ID: id, FlowName: f.Name, FlowPath: f.Path, Status: status,
		CreatedAt: now, UpdatedAt: now}, start)
	if err != nil {
		return "", fmt.Errorf("fork run %s: %w", info.ID, err)
	}
	e.bus.PublishEvents([]Event{start})
	if len(reused) > 0 {
		if err := e.append(ctx, reused); err != nil {
			return "", fmt.Errorf("fork run %s: record reused outputs in %s: %w", info.ID, id, err)
		}
	}
	return id, nil
}

// ForkRerun returns the steps a fork of a run of f from stepID runs again rather than
// reuses: stepID, every step whose templates, when: or map: read an input named in changed,
// and every step that needs one of those, directly or not. A step reusing an output made
// from an input the fork changed would show a result the fork's inputs never produce.
func ForkRerun(f *flows.Flow, stepID string, changed []string) map[string]bool {
	seeds := []string{stepID}
	if len(changed) > 0 {
		for _, s := range f.Steps {
			if s.InputsAll || slices.ContainsFunc(s.InputRefs, func(in string) bool { return slices.Contains(changed, in) }) {
				seeds = append(seeds, s.ID)
			}
		}
	}
	return downstream(f, seeds...)
}

// downstream returns the seeds and every step that needs one of them, directly or not.
func downstream(f *flows.Flow, seeds ...string) map[string]bool {
	out := map[string]bool{}
	for _, id := range seeds {
		out[id] = true
	}
	for changed := true; changed; {
		changed = false
		for _, s := range f.Steps {
			if out[s.ID] {
				continue
			}
			for _, n := range s.Needs {
				if out[n] {
					out[s.ID], changed = true, true
					break
				}
			}
		}
	}
	return out
}

// SetBreakpoint sets (on) or clears a breakpoint before a step of a run: when the step is
// ready to start, the run holds (nothing new starts) and parks paused once its running steps
// finish, until Continue or StepOnce.
func (e *Engine) SetBreakpoint(ctx context.Context, runID, stepID string, on bool) error {
	st, f, err := e.debugTarget(ctx, runID, "set a breakpoint at "+stepID)
	if err != nil {
		return err
	}
	if f == nil || f.StepByID(stepID) == nil {
		return fmt.Errorf("set a breakpoint at %s in run %s: %w (steps: %s)", stepID, st.ID, ErrStepNotFound, strings.Join(flowStepIDs(f, st), ", "))
	}
	return e.append(ctx, []Event{{RunID: st.ID, Type: BreakpointSet, StepID: stepID, Time: e.clock.Now(),
		Data: mustJSON(BreakpointData{On: on})}})
}

// Pause holds a run: steps already running finish, nothing new starts, and the run parks with
// status paused until Continue (or StepOnce).
func (e *Engine) Pause(ctx context.Context, runID string) error {
	st, _, err := e.debugTarget(ctx, runID, "pause")
	if err != nil {
		return err
	}
	return e.append(ctx, []Event{{RunID: st.ID, Type: PauseRequested, Time: e.clock.Now()}})
}

// Continue lifts a pause, step mode and the breakpoints the run stopped at (the breakpoints
// stay set for later steps). A parked run becomes running again; the next Execute (or a
// worker) advances it.
func (e *Engine) Continue(ctx context.Context, runID string) error {
	return e.release(ctx, runID, ContinueRequested, "continue")
}

// StepOnce lets exactly one more ready step start (past a breakpoint, if it is held at one),
// then holds the run again: step mode. The next Execute (or a worker) runs it.
func (e *Engine) StepOnce(ctx context.Context, runID string) error {
	return e.release(ctx, runID, StepOnceRequested, "step")
}

func (e *Engine) release(ctx context.Context, runID string, typ EventType, verb string) error {
	st, _, err := e.debugTarget(ctx, runID, verb)
	if err != nil {
		return err
	}
	runID = st.ID
	now := e.clock.Now()
	ev := Event{RunID: runID, Type: typ, Time: now}
	owner := e.owner + ":" + verb
	lease, ok, err := e.store.AcquireLease(ctx, runID, owner, now, now.Add(e.lease))
	if err != nil {
		return fmt.Errorf("%s run %s: %w", verb, runID, err)
	}
	if !ok {
		// The process advancing the run reads its log after it parks, so it applies this.
		return e.append(ctx, []Event{ev})
	}
	defer func() { _ = e.store.ReleaseLease(context.WithoutCancel(ctx), lease) }()
	// Nobody advances the run now: read it again, since it may have parked since the first
	// read, and list it running again if it is parked, so a worker finds it.
	if st, _, err = e.debugTarget(ctx, runID, verb); err != nil {
		return err
	}
	if st.Status == RunStatusPaused {
		ev.Status = RunStatusRunning
	}
	return e.appendFenced(ctx, lease, []Event{ev})
}

// debugTarget reads a run a debug control applies to, with its flow when the recorded source
// still parses. Succeeded and cancelled runs are refused; failed runs are not, since a skip
// or a retry moves them on.
func (e *Engine) debugTarget(ctx context.Context, runID, verb string) (*State, *flows.Flow, error) {
	info, err := e.store.Run(ctx, runID)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", verb, err)
	}
	st, err := e.State(ctx, info.ID)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", verb, err)
	}
	if st.Status == RunStatusSucceeded || st.Status == RunStatusCancelled {
		return nil, nil, fmt.Errorf("%s in run %s: %w (%s)", verb, info.ID, ErrRunFinished, st.Status)
	}
	f, err := flows.Parse(st.Start.FlowPath, []byte(st.Start.Source))
	if err != nil {
		f = nil
	}
	return st, f, nil
}

// flowStepIDs lists step ids for error messages: the flow's, else the run's.
func flowStepIDs(f *flows.Flow, st *State) []string {
	if f != nil {
		ids := make([]string, len(f.Steps))
		for i, s := range f.Steps {
			ids[i] = s.ID
		}
		return ids
	}
	if st != nil {
		return st.StepIDs()
	}
	return nil
}
