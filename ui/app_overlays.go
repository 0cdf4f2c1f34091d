package ui

import (
	"errors"

	tea "charm.land/bubbletea/v2"

	"tandem/engine"
)

// The step detail and the chat open over the three panes and take every key until they
// close. This file routes their messages; app.go routes keys and lays them out.

// overlayOpen reports whether the step detail or the chat has the keys.
func (m *Model) overlayOpen() bool { return m.focus == focusDetail || m.focus == focusChat }

// openDetail shows the detail of the DAG's selected step of the open run.
func (m *Model) openDetail() tea.Cmd {
	step := m.selectedStep()
	if step == nil {
		m.setStatus(errors.New("open a run and select a step to see its detail"))
		return nil
	}
	m.detail.SetStep(m.runID, m.stepKind(step), step)
	m.back, m.focus = m.focus, focusDetail
	return nil
}

// refreshDetail shows the open step's latest state while the detail is open.
func (m *Model) refreshDetail() {
	if m.focus != focusDetail || m.state == nil {
		return
	}
	if st := m.state.Steps[m.detail.Step()]; st != nil {
		m.detail.SetStep(m.runID, m.stepKind(st), st)
	}
}

// stepKind is a step's kind from the run's flow; map children have their map step's.
func (m *Model) stepKind(st *engine.StepState) string {
	if m.flow == nil {
		return ""
	}
	id := st.ID
	if st.Parent != "" {
		id = st.Parent
	}
	for _, s := range m.flow.Steps {
		if s.ID == id {
			return string(s.Kind)
		}
	}
	return ""
}

// openChat opens the chat with an agent, keeping the conversation when it is the agent the
// chat last talked to.
func (m *Model) openChat(e FlowEntry) tea.Cmd {
	if e.AgentDef == nil {
		m.setStatus(errors.New("select an agent in the sidebar to chat with it"))
		return nil
	}
	if m.opts.Engine == nil {
		m.setStatus(errors.New("the workbench is read-only: no engine to run the agent"))
		return nil
	}
	m.back, m.focus = m.focus, focusChat
	if m.chatOpened() && m.chat.Agent() == e.Path {
		return nil
	}
	m.chat = NewChat(m.theme, e, m.now)
	m.resize()
	return tea.Batch(m.chat.Init(), listModels(m.opts.Models), listSessions(m.opts.Sessions))
}

// chatOpened reports whether a chat was opened (its model is not the zero value).
func (m *Model) chatOpened() bool { return m.chat.Agent() != "" }

// stopChat stops the reply on its way, if any. The channel stays closed, so a reply stopped
// before its run started is stopped as soon as it executes.
func (m *Model) stopChat() {
	if m.chatStop != nil && !m.chatStopped {
		close(m.chatStop)
		m.chatStopped = true
	}
}

// overlayMsg handles the messages of the step detail and the chat; ok is false for others.
func (m *Model) overlayMsg(msg tea.Msg) (cmd tea.Cmd, ok bool) {
	switch msg := msg.(type) {
	case AgentOpenedMsg:
		return m.openChat(msg.Entry), true
	case StepDetailClosedMsg, ChatClosedMsg:
		m.focus = m.back
		return nil, true
	case ChatSendMsg:
		m.chatStop, m.chatStopped = make(chan struct{}), false
		return startChat(m.exec, m.opts.Engine, msg), true
	case ChatStopMsg:
		m.stopChat()
		return nil, true
	case ChatSessionMsg:
		return loadHistory(m.opts.Sessions, msg.Name), true
	case chatStartedMsg:
		m.chat, cmd = m.chat.Update(msg)
		if msg.err != nil {
			return cmd, true
		}
		return tea.Batch(cmd, executeChat(m.exec, m.opts.Engine, m.opts.Store, msg.runID, m.chatStop), loadRuns(m.opts.Store)), true
	case tea.PasteMsg:
		if m.focus != focusChat {
			return nil, false
		}
		m.chat, cmd = m.chat.Update(msg)
		return cmd, true
	case chatDoneMsg: // the reply saved its session: list it with its new length
		m.chat, cmd = m.chat.Update(msg)
		return tea.Batch(cmd, listSessions(m.opts.Sessions)), true
	case chatModelsMsg, chatSessionsMsg, chatHistoryMsg:
		m.chat, cmd = m.chat.Update(msg)
		return cmd, true
	}
	return nil, false
}
