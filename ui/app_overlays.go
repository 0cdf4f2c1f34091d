package ui

import (
	"errors"
	"fmt"

	tea "charm.land/bubbletea/v2"
)

// The keys that open an overlay over the panes: each builds its overlay with what it is
// for and puts it on the stack (overlay.go), which routes its keys and messages until it
// closes.

// openDetail shows the detail of the DAG's selected step of the open run.
func (m *Model) openDetail() tea.Cmd {
	step := m.selectedStep()
	if step == nil {
		m.setStatus(errors.New("open a run and select a step to see its detail"))
		return nil
	}
	d := NewStepDetail(m.theme)
	m.openOverlay(&d)
	d.SetStep(m.run.id, m.run.stepKind(step), step)
	return nil
}

// openEditor edits text for step stepID of the open run: a retry's input or a skip's output.
func (m *Model) openEditor(p EditPurpose, stepID, title, hint, text string) tea.Cmd {
	e := NewTextEditor(m.theme, p, m.run.id, stepID, title, hint, text)
	m.openOverlay(&e)
	return nil
}

// openDiff offers the other runs of the open run's flow to compare it with.
func (m *Model) openDiff() tea.Cmd {
	if m.run.state == nil {
		m.setStatus(errors.New("open a run to compare it with another run of its flow"))
		return nil
	}
	flow := m.run.state.Start.FlowName
	d := NewRunDiff(m.theme, m.run.id, flow, m.runs)
	if d.Choices() == 0 {
		m.setStatus(fmt.Errorf("no other run of %s to compare %s with: run it again (r) or fork it (F)", flow, m.run.id))
		return nil
	}
	m.openOverlay(&d)
	return nil
}

// openChat opens the chat with an agent, in session when it names one (a chat row of the
// sidebar), keeping the conversation when it is the agent and session the chat last had.
func (m *Model) openChat(e FlowEntry, session string) tea.Cmd {
	if e.AgentDef == nil {
		m.setStatus(errors.New("select an agent in the sidebar to chat with it"))
		return nil
	}
	if m.opts.Engine == nil {
		m.setStatus(errors.New("the workbench is read-only: no engine to run the agent"))
		return nil
	}
	if m.chat != nil && m.chat.Agent() == e.Path && (session == "" || session == m.chat.Session()) {
		m.openOverlay(m.chat)
		return nil
	}
	m.now = m.opts.Now()
	m.chat = newChatOverlay(m.theme, e, m.now, m.opts.Sessions, m.opts.Models)
	if session != "" {
		m.chat.inSession(session)
	}
	m.openOverlay(m.chat)
	return m.chat.Init()
}
