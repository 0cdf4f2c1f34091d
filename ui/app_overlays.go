package ui

import (
	"errors"
	"fmt"

	tea "charm.land/bubbletea/v2"

	"tandem/engine"
	"tandem/flows"
)

// The step detail, the chat, the text editor, the forms and the run diff open over the three
// panes and take every key until they close. This file opens them and routes their messages;
// app.go routes keys and lays them out.

// updateOverlay gives a message to the open overlay.
func (m *Model) updateOverlay(msg tea.Msg) tea.Cmd {
	var cmd tea.Cmd
	switch m.focus {
	case focusDetail:
		m.detail, cmd = m.detail.Update(msg)
	case focusChat:
		m.chat, cmd = m.chat.Update(msg)
	case focusEditor:
		m.editor, cmd = m.editor.Update(msg)
	case focusForm:
		m.form, cmd = m.form.Update(msg)
	case focusDiff:
		m.diff, cmd = m.diff.Update(msg)
	}
	return cmd
}

// openOverlay gives the keys to overlay f, sized to the body, until it closes.
func (m *Model) openOverlay(f focus) {
	m.back, m.focus = m.focus, f
	m.resize()
}

// closeOverlay gives the keys back to the pane that had them.
func (m *Model) closeOverlay() { m.focus = m.back }

// openInputsForm asks for the inputs of flow f to run it, prefilled with the open run's when
// it ran f (to run it again with a change), else with their defaults.
func (m *Model) openInputsForm(f *flows.Flow) tea.Cmd {
	var prev map[string]any
	if m.state != nil && m.flow != nil && (f == m.flow || f.Path == m.flow.Path) {
		prev = m.state.Start.Inputs
	}
	m.formFlow = f
	m.form = NewForm(m.theme, FormRunInputs, "run "+f.Name+" with these inputs", inputFields(f, prev))
	m.openOverlay(focusForm)
	return nil
}

// openSignalForm asks for an event (prefilled with event) and its data to send to the open run.
func (m *Model) openSignalForm(event string) tea.Cmd {
	m.formRun = m.runID
	m.form = NewForm(m.theme, FormSignal, "send an event to run "+m.runID, signalFields(event))
	if event != "" {
		m.form.setFocus(1)
	}
	m.openOverlay(focusForm)
	return nil
}

// openEditor edits text for step stepID of the open run: a retry's input or a skip's output.
func (m *Model) openEditor(p EditPurpose, stepID, title, hint, text string) tea.Cmd {
	m.editor = NewTextEditor(m.theme, p, m.runID, stepID, title, hint, text)
	m.openOverlay(focusEditor)
	return nil
}

// openDiff offers the other runs of the open run's flow to compare it with.
func (m *Model) openDiff() tea.Cmd {
	if m.state == nil {
		m.setStatus(errors.New("open a run to compare it with another run of its flow"))
		return nil
	}
	flow := m.state.Start.FlowName
	d := NewRunDiff(m.theme, m.runID, flow, m.runs)
	if d.Choices() == 0 {
		m.setStatus(fmt.Errorf("no other run of %s to compare %s with: run it again (r) or fork it (F)", flow, m.runID))
		return nil
	}
	m.diff = d
	m.openOverlay(focusDiff)
	return nil
}

// debugOverlayMsg handles the messages of the text editor, the forms and the run diff; ok
// is false for others.
func (m *Model) debugOverlayMsg(msg tea.Msg) (cmd tea.Cmd, ok bool) {
	switch msg := msg.(type) {
	case TextCancelledMsg, FormCancelledMsg, RunDiffClosedMsg:
		m.closeOverlay()
		return nil, true
	case externalEditedMsg:
		m.editor, cmd = m.editor.Update(msg)
		return cmd, true
	case TextSubmittedMsg:
		m.closeOverlay()
		if msg.Purpose == EditSkipOutput {
			m.setInfo("skipping " + msg.StepID + " with a manual output")
			return skipStep(m.exec, m.opts.Engine, msg.RunID, msg.StepID, msg.Text), true
		}
		m.setInfo("retrying " + msg.StepID + " with an edited input")
		return retryStep(m.exec, m.opts.Engine, msg.RunID, msg.StepID, msg.Text), true
	case FormSubmittedMsg:
		if msg.Purpose == FormSignal {
			event, data, err := parseSignal(msg.Values)
			if err != nil {
				m.form.SetError(err.Error())
				return nil, true
			}
			m.closeOverlay()
			m.setInfo(fmt.Sprintf("sending %q to %s", event, m.formRun))
			return signalRun(m.exec, m.opts.Engine, m.formRun, event, data), true
		}
		if msg.Purpose == FormFork {
			m.closeOverlay()
			m.setInfo(fmt.Sprintf("forking %s at %s", m.formRun, m.formStep))
			return forkRun(m.exec, m.opts.Engine, m.formRun, m.formStep, forkChanges(m.formFields, msg.Values)), true
		}
		f := m.formFlow
		inputs, err := resolveFormInputs(f, msg.Values)
		if err != nil {
			m.form.SetError(err.Error() + "; fix it and submit again, or esc")
			return nil, true
		}
		m.closeOverlay()
		return startRun(m.exec, m.opts.Engine, f, inputs, m.takeBreaks(f)), true
	case RunDiffPickedMsg:
		if m.opts.Store == nil {
			return nil, true
		}
		return loadRunDiff(m.opts.Store, msg.A, msg.B), true
	case runDiffMsg:
		if m.focus == focusDiff {
			m.diff.SetDiff(msg.b, msg.rows, msg.err)
			m.diff.SetInputs(msg.inputs)
		}
		return nil, true
	case tea.PasteMsg:
		if m.focus != focusEditor && m.focus != focusForm {
			return nil, false
		}
		return m.updateOverlay(msg), true
	}
	return nil, false
}

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
	m.now = m.opts.Now()
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
	if cmd, ok := m.approvalMsg(msg); ok {
		return cmd, true
	}
	if cmd, ok := m.debugOverlayMsg(msg); ok {
		return cmd, true
	}
	if cmd, ok := m.confirmMsg(msg); ok {
		return cmd, true
	}
	switch msg := msg.(type) {
	case AgentOpenedMsg:
		return m.openChat(msg.Entry), true
	case StepDetailClosedMsg, ChatClosedMsg:
		m.focus = m.back
		return nil, true
	case ChatOpenRunMsg: // the chat stays as it is, for C to come back to
		m.focus = focusTrace
		if m.opts.Store == nil {
			return nil, true
		}
		return loadRun(m.opts.Store, msg.RunID), true
	case ChatSendMsg:
		m.chatStop, m.chatStopped = make(chan struct{}), false
		return startChat(m.exec, m.opts.Engine, msg), true
	case ChatModelsWantedMsg:
		return listModels(m.opts.Models), true
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
		return tea.Batch(cmd, executeChat(m.exec, m.opts.Engine, m.opts.Store, msg.runID, m.chatStop), loadRuns(m.opts.Store, len(m.runs))), true
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
