package ui

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"tandem/engine"
)

// The debug controls' keys: pause and continue, step once, breakpoints, an edited retry, a
// skip with a manual output, a fork, a signal and a run diff. Each checks what it can from
// the open run's state and leaves the rest to the engine, whose refusals show in the status
// bar. The editors and forms they open are routed in app_overlays.go.

// debugKey handles the debug controls' keys on the DAG's selected step (st is its state, nil
// when it has not started); ok is false for other keys.
func (m *Model) debugKey(k tea.KeyPressMsg, st *engine.StepState) (tea.Cmd, bool) {
	id := m.dag.Selected()
	switch {
	case key.Matches(k, m.keys.Diff):
		return m.openDiff(), true
	case key.Matches(k, m.keys.Fork):
		return m.forkKey(id), true
	case key.Matches(k, m.keys.EditRetry):
		if st == nil || !retryable(st.Status) {
			m.setStatus(errors.New("select a failed, interrupted, skipped or succeeded step to retry it with an edited input"))
			return nil, true
		}
		input := st.InputOverride
		if a := st.LastAttempt(); input == "" && a != nil {
			input = a.Input
		}
		return m.openEditor(EditRetryInput, id, "retry "+id+" with this input",
			"the step's last input; ctrl+s retries the step with the text as its input (its command or prompt)", input), true
	case key.Matches(k, m.keys.Skip):
		if m.run.state == nil || id == "" {
			m.setStatus(errors.New("open a run and select the step to skip"))
			return nil, true
		}
		if st != nil && (st.Status == engine.StatusSucceeded || st.Status == engine.StatusRunning) {
			m.setStatus(fmt.Errorf("%s is %s: only a step that has not succeeded and is not running can be skipped (pause the run first)", id, st.Status))
			return nil, true
		}
		return m.openEditor(EditSkipOutput, id, "skip "+id+" with this output",
			"type the output dependents get instead of running the step; ctrl+s skips it", ""), true
	}

	// The rest steer the open run as a whole.
	var verb string
	switch {
	case key.Matches(k, m.keys.Pause):
		verb = "pause"
	case key.Matches(k, m.keys.Step):
		verb = "step"
	case key.Matches(k, m.keys.Breakpoint):
		verb = "set a breakpoint in"
	case key.Matches(k, m.keys.Signal):
		verb = "signal"
	default:
		return nil, false
	}
	if key.Matches(k, m.keys.Breakpoint) && m.run.state == nil && m.run.flow != nil {
		return m.previewBreakpoint(id), true
	}
	if !m.run.live() {
		m.setStatus(fmt.Errorf("open an unfinished run to %s it", verb))
		return nil, true
	}
	switch {
	case key.Matches(k, m.keys.Pause):
		if held(m.run.state) {
			m.setInfo("continuing " + m.run.id)
			return continueRun(m.exec, m.opts.Engine, m.run.id), true
		}
		return pauseRun(m.exec, m.opts.Engine, m.run.id), true
	case key.Matches(k, m.keys.Step):
		m.setInfo("running the next ready step of " + m.run.id)
		return stepRun(m.exec, m.opts.Engine, m.run.id), true
	case key.Matches(k, m.keys.Breakpoint):
		if id == "" {
			m.setStatus(errors.New("select a step in the DAG to set a breakpoint before it"))
			return nil, true
		}
		return setBreakpoint(m.exec, m.opts.Engine, m.run.id, id, !m.run.state.Breakpoints[id]), true
	default: // signal
		event := ""
		if st != nil && st.Waiting != nil && len(st.Waiting.Events) > 0 {
			event = st.Waiting.Events[0]
		}
		m.openOverlay(newSignalForm(m.theme, m.run.id, event))
		return nil, true
	}
}

// previewBreakpoint sets or clears a breakpoint before step id of the flow previewed in the
// DAG (no run yet): r starts the flow with them recorded at its start.
func (m *Model) previewBreakpoint(id string) tea.Cmd {
	f := m.run.flow
	if id == "" || f.StepByID(id) == nil {
		m.setStatus(errors.New("select a step in the DAG to set a breakpoint before it"))
		return nil
	}
	ids := m.run.setBreak(id)
	m.dag.SetState(m.run.dagState(), m.now)
	if len(ids) == 0 {
		m.setInfo("no breakpoints: r runs " + f.Name + " straight through")
	} else {
		m.setInfo(fmt.Sprintf("r runs %s holding before %s", f.Name, strings.Join(ids, ", ")))
	}
	return nil
}

// retryable reports whether a step may be retried with an edited input.
func retryable(s engine.StepStatus) bool {
	switch s {
	case engine.StatusFailed, engine.StatusInterrupted, engine.StatusSkipped, engine.StatusRetrying, engine.StatusSucceeded:
		return true
	}
	return false
}

// held reports whether a run is paused, in step mode or stopped at a breakpoint, so p
// continues it rather than pausing it.
func held(st *engine.State) bool {
	return st.Paused || len(st.HeldAt) > 0 || st.Status == engine.RunStatusPaused
}

// holdStatus is a run's status for the status bar, with what its debug controls do to it:
// "paused (breakpoint at x)", "running, pausing".
func holdStatus(st *engine.State) string {
	s := string(st.Status)
	switch {
	case st.Status == engine.RunStatusPaused:
		if st.HoldReason != "" && st.HoldReason != "paused" {
			s += " (" + st.HoldReason + ")"
		}
	case st.Status.Terminal():
	case len(st.HeldAt) > 0:
		ids := make([]string, 0, len(st.HeldAt))
		for id := range st.HeldAt {
			ids = append(ids, id)
		}
		sort.Strings(ids)
		s += ", breakpoint at " + strings.Join(ids, ", ")
	case st.Stepping:
		s += ", step mode"
	case st.Paused:
		s += ", pausing"
	}
	return s
}
