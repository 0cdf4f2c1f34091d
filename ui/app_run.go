package ui

import (
	"errors"

	tea "charm.land/bubbletea/v2"

	"tandem/engine"
	"tandem/flows"
)

// The messages about runs: the bus's notices, the log tailed for other processes' runs,
// the runs list, and opening, starting and advancing runs. The open run is m.run; the
// panes are told what changed.

// runMsg handles the messages about runs; ok is false for others.
func (m *Model) runMsg(msg tea.Msg) (tea.Cmd, bool) {
	switch msg := msg.(type) {
	case noticesMsg:
		return m.notices(msg), true
	case pollTickMsg:
		if m.quitting || !m.run.tailSet {
			return m.pollTick(), true
		}
		return tailLog(m.tail, m.run.tailSeq), true
	case tailMsg:
		if msg.err != nil {
			m.setStatus(msg.err)
			return m.pollTick(), true
		}
		var refresh bool
		changed := map[string]bool{}
		for _, e := range msg.events {
			m.run.tailSeq = max(m.run.tailSeq, e.Seq)
			refresh = m.apply(e, changed) || refresh
		}
		if len(msg.events) > 0 {
			m.runChanged(changed)
		}
		return tea.Batch(m.pollTick(), m.reloadRuns(refresh)), true
	case runsMsg:
		if msg.err != nil {
			m.setStatus(msg.err)
			return nil, true
		}
		if msg.after {
			m.loadingMore = false
			msg.runs = appendNewRuns(m.runs, msg.runs)
		}
		m.runs = msg.runs
		m.sidebar.SetMore(msg.more)
		if !m.run.tailSet {
			for _, r := range msg.runs {
				m.run.tailSeq = max(m.run.tailSeq, r.LastSeq)
			}
			m.run.tailSet = true
		}
		m.sidebar.SetRuns(msg.runs, m.now)
		return m.sidebar.loadEvalSummaries(m.opts.Store), true
	case evalSummariesMsg:
		m.sidebar.setEvalSummaries(msg)
	case runsChangedMsg:
		return m.reloadRuns(true), true
	case MoreRunsMsg:
		if m.opts.Store == nil || m.loadingMore || len(m.runs) == 0 {
			return nil, true
		}
		m.loadingMore = true
		return loadMoreRuns(m.opts.Store, m.runs[len(m.runs)-1].Cursor()), true
	case RunSelectedMsg:
		if m.opts.Store == nil {
			return nil, true
		}
		return loadRun(m.opts.Store, msg.RunID), true
	case TraceOpenRunMsg:
		return m.runMsg(openRunMsg{runID: msg.RunID, pane: paneDAG})
	case openRunMsg:
		m.focus = msg.pane
		if m.opts.Store == nil {
			return nil, true
		}
		return loadRun(m.opts.Store, msg.runID), true
	case runLoadedMsg:
		if msg.err != nil {
			m.setStatus(msg.err)
			return nil, true
		}
		m.openRun(msg)
		if isEvalFlow(msg.flow) {
			return m.openEval(msg.runID), true
		}
	case StepSelectedMsg:
		m.trace.Show(msg.StepID)
	case runStartedMsg:
		if msg.err != nil {
			m.setStatus(msg.err)
			return nil, true
		}
		if msg.note == "" {
			msg.note = "started run " + msg.runID
		}
		m.setInfo(msg.note)
		m.trace.Watch(msg.runID) // its deltas are counted from its first, before its log loads
		return tea.Batch(loadRun(m.opts.Store, msg.runID), executeRun(m.exec, m.opts.Engine, msg.runID),
			loadRuns(m.opts.Store, len(m.runs))), true
	case execDoneMsg:
		switch {
		case msg.elsewhere:
			m.setInfo("run " + msg.runID + " is advanced by another process, which applies it")
		case msg.err != nil && !errors.Is(msg.err, engine.ErrRunFinished):
			m.setStatus(msg.err)
		case m.status.done != "" && msg.status != "":
			m.setInfo(m.status.done + " · run " + string(msg.status))
		}
	default:
		return nil, false
	}
	return nil, true
}

// notices applies a batch of the bus's notices: deltas to the trace, events to the open
// run, and both to the chat.
func (m *Model) notices(msg noticesMsg) tea.Cmd {
	var refresh bool
	var check tea.Cmd
	changed := map[string]bool{}
	for _, n := range msg.notices {
		if n.Delta != nil {
			m.trace.AppendDelta(*n.Delta)
		}
		if n.Event != nil {
			refresh = m.apply(*n.Event, changed) || refresh
			if check == nil {
				check = m.recheckServer(*n.Event)
			}
		}
	}
	m.runChanged(changed)
	if m.chat != nil {
		m.chat.AppendNotices(msg.notices)
	}
	return tea.Batch(m.waitNotices(), check, m.reloadRuns(refresh))
}

// reloadRuns lists the runs again when refresh is set.
func (m *Model) reloadRuns(refresh bool) tea.Cmd {
	if !refresh || m.opts.Store == nil {
		return nil
	}
	return loadRuns(m.opts.Store, len(m.runs))
}

// apply folds an event into the open run (skipping what it has already seen), noting the
// steps it changed, and reports whether the runs list should be reloaded.
func (m *Model) apply(e engine.Event, changed map[string]bool) bool {
	if m.run.apply(e) {
		m.trace.AppendEvent(e)
		changed[e.StepID] = true
		if e.Type == engine.FlowReloaded { // the run goes on with the file as it is now
			if f, err := flows.Parse(m.run.state.Start.FlowPath, []byte(m.run.state.Start.Source)); err == nil {
				m.run.flow = f
				m.dag.SetRun(m.run.id, f, m.run.state, m.now)
			}
			m.run.noteDisk(m.files)
		}
	}
	return listsRun(e.Type)
}

// runChanged redraws the DAG from the open run's state, follows the work, and tells the
// overlays that show the run which steps changed. Tokens alone change no step, so a long
// output is not re-wrapped per batch.
func (m *Model) runChanged(steps map[string]bool) {
	m.dag.SetState(m.run.dagState(), m.now)
	if len(steps) == 0 {
		return
	}
	m.followWork()
	m.overlays.runChanged(&m.run, steps)
}

// openRun shows a loaded run in the DAG and the trace.
func (m *Model) openRun(msg runLoadedMsg) {
	m.run.open(msg.runID, msg.flow, msg.events)
	m.run.noteDisk(m.files)
	m.trace.SetRun(msg.runID)
	m.trace.Reset()
	for _, e := range msg.events {
		m.trace.AppendEvent(e)
	}
	m.trace.AlignDeltas()
	m.dag.SetRun(msg.runID, msg.flow, m.run.state, m.now)
	m.trace.Show(m.dag.Selected())
	if m.focus == paneSidebar {
		m.focus = paneDAG
		m.resize()
	}
	m.followWork()
}

// closeRun stops showing the open run (enter on a flow previews it instead); the log's tail
// position is the workbench's, not the run's, and stays.
func (m *Model) closeRun() {
	if m.run.id == "" {
		return
	}
	m.run.id, m.run.state, m.run.disk = "", nil, nil
	m.trace.SetRun("")
	m.trace.Reset()
}

// preview shows the flow of sidebar entry e in the DAG while no run is open; an agent or
// a file that does not parse shows nothing, so r and the status bar never name another.
func (m *Model) preview(e FlowEntry) {
	if m.run.id != "" && m.run.state != nil {
		return
	}
	m.run.flow = e.Flow
	m.dag.SetRun("", m.run.flow, m.run.dagState(), m.now)
	m.dag.SetProblem(e.Err)
}
