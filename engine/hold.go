package engine

import (
	"context"

	"tandem/flows"
)

// Holds are how the debug controls reach the scheduler. A pause, a step-mode budget spent or
// a breakpoint keeps ready steps from starting; running steps finish; then the run parks with
// status paused (RunPaused) and no process stays busy with it. A continue or a step-once
// appended by any process moves it on.

// gate reports whether a ready step may start under the run's debug controls, and remembers
// why not. A step-mode budget lets the next ready step through, breakpoint or not (the step
// it starts is marked Stepped, which spends the budget when folded). Otherwise a pause holds
// it, its own breakpoint holds it (recorded once as BreakpointHit), and a breakpoint hit
// elsewhere holds every step, as a debugger stops every thread.
func (r *runner) gate(s *flows.Step) bool {
	st := r.st
	switch {
	case st.StepBudget > 0:
		r.stepping = true
		return true
	case st.Paused:
		r.held[s.ID] = Hold{Cause: HoldPause}
		if st.Stepping {
			r.held[s.ID] = Hold{Cause: HoldStepMode}
		}
		return false
	case st.Breakpoints[s.ID] && !st.Passed[s.ID]:
		if !st.HeldAt[s.ID] {
			r.add(Event{Type: BreakpointHit, StepID: s.ID})
		}
		r.held[s.ID] = Hold{Cause: HoldBreakpoint, Step: s.ID}
		return false
	case len(st.HeldAt) > 0:
		r.held[s.ID] = Hold{Cause: HoldBreakpoint, Step: sortedKeys(st.HeldAt)[0]}
		return false
	}
	return true
}

// parkHeld parks the run when the debug controls hold a step (or a retry that will come due
// while the run holds). It reports whether it did.
func (r *runner) parkHeld(retrying bool) bool {
	if len(r.held) == 0 && !retrying {
		return false
	}
	hold := Hold{Cause: HoldPause}
	if r.st.Stepping {
		hold = Hold{Cause: HoldStepMode}
	}
	for _, s := range r.flow.Steps { // name the first breakpoint in flow order
		if h, ok := r.held[s.ID]; ok && h.Cause == HoldBreakpoint {
			hold = h
			break
		}
	}
	if len(r.held) == 0 && len(r.st.HeldAt) > 0 {
		hold = Hold{Cause: HoldBreakpoint, Step: sortedKeys(r.st.HeldAt)[0]}
	}
	if r.st.Status != RunStatusPaused || r.st.HoldCause != hold.Cause || r.st.HoldStep != hold.Step {
		r.add(Event{Type: RunPaused, Status: RunStatusPaused, Data: mustJSON(RunPausedData{Reason: hold.String(), Cause: hold.Cause, Step: hold.Step})})
	}
	return true
}

// recheckHold reads the log once more before a held run parks, so a continue that arrived
// while the last steps finished is not missed. It reports whether there is news to schedule.
func (r *runner) recheckHold(ctx context.Context) bool {
	if len(r.held) == 0 {
		return false
	}
	if err := r.poll(ctx); err != nil {
		return false // parking is safe: the log, not this runner, decides what happens next
	}
	return r.scanAll || len(r.dirty) > 0
}

// pollDebug applies a debug-control event another process appended while this runner advances
// the run.
func (r *runner) pollDebug(ev Event) {
	switch ev.Type {
	case PauseRequested, ContinueRequested, StepOnceRequested, BreakpointSet:
		r.st.Apply(ev)
		r.scanAll = true
	case StepManual:
		// Skip only writes this for a step no runner touches again (failed or skipped) while
		// a process holds the lease; apply it and schedule what it unblocks.
		r.st.Apply(ev)
		r.touch(ev)
		r.scanAll = true
	}
}
