package ui

import (
	"tandem/engine"
)

// Follow mode moves the DAG's selection, and so the trace, to where the work is: the step
// running (the most recently started when several are), the failed step once the run
// failed, the waiting step once it parked. It is on by default and shown in the status bar;
// f toggles it and any move of the selection by hand turns it off.

// followWork selects the step the work is at, when follow is on.
func (m *Model) followWork() {
	if !m.follow || m.run.state == nil {
		return
	}
	id := followTarget(m.run.state)
	if id == "" || id == m.dag.Selected() {
		return
	}
	if !m.dag.Select(id) {
		// A map item of a collapsed map: its map step stands for it.
		if st := m.run.state.Steps[id]; st == nil || st.Parent == "" || !m.dag.Select(st.Parent) {
			return
		}
	}
	m.trace.Show(m.dag.Selected())
}

// followOff turns follow off after a move by hand.
func (m *Model) followOff() {
	if m.follow {
		m.follow = false
		m.setInfo("follow off: f follows the work again")
	}
}

// toggleFollow turns follow on (selecting the work at once) or off.
func (m *Model) toggleFollow() {
	m.follow = !m.follow
	if m.follow {
		m.setInfo("follow on: the selection moves to the step at work")
		m.followWork()
		return
	}
	m.setInfo("follow off: f follows the work again")
}

// followTarget is the step the work of run st is at: the run's failed step once it failed,
// its waiting step while it is parked, else the running step started last, else a failed
// step the run goes on without; "" when there is none (a run that succeeded).
func followTarget(st *engine.State) string {
	var running, failed, waiting string
	var runAt, failAt int64 = -1, -1
	for _, id := range st.StepIDs() {
		s := st.Steps[id]
		a := s.LastAttempt()
		switch s.Status {
		case engine.StatusRunning, engine.StatusRetrying:
			if a != nil && a.StartedAt.UnixNano() > runAt {
				running, runAt = id, a.StartedAt.UnixNano()
			} else if running == "" {
				running = id
			}
		case engine.StatusFailed:
			at := int64(0)
			if a != nil {
				at = a.EndedAt.UnixNano()
			}
			if at > failAt || failed == "" {
				failed, failAt = id, at
			}
		case engine.StatusWaiting:
			if waiting == "" {
				waiting = id
			}
		}
	}
	switch {
	case st.Status == engine.RunStatusFailed && failed != "":
		return failed
	case st.Status == engine.RunStatusWaiting && waiting != "":
		return waiting
	case running != "":
		return running
	case waiting != "":
		return waiting
	}
	return failed
}
