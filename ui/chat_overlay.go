package ui

import (
	"time"

	"charm.land/bubbles/v2/help"
	tea "charm.land/bubbletea/v2"
)

// chatOverlay is the chat as an overlay. It outlives its time on the stack: closed (esc, or
// ctrl+t to the reply's run), it keeps its conversation and its reply streaming, and C opens
// it again. The app keeps it and gives it the bus's notices and the results of its commands
// while it is closed too.
type chatOverlay struct {
	ChatModel
	sessionStore SessionStore
	modelList    ModelLister

	// stop stops the reply on its way when closed (ctrl+c in the chat).
	stop    chan struct{}
	stopped bool
}

// newChatOverlay opens a chat with agent e at now, listing sessions and models from the
// stores given (either may be nil).
func newChatOverlay(t Theme, e FlowEntry, now time.Time, sessions SessionStore, models ModelLister) *chatOverlay {
	return &chatOverlay{ChatModel: NewChat(t, e, now), sessionStore: sessions, modelList: models}
}

// Init asks for the session's conversation and the lists of models and sessions.
func (c *chatOverlay) Init() tea.Cmd {
	return tea.Batch(c.ChatModel.Init(), listModels(c.modelList), listSessions(c.sessionStore))
}

// runsChangedMsg asks the app to list the runs again: one was started.
type runsChangedMsg struct{}

// openRunMsg asks the app to open run runID in the panes, with the keys on pane.
type openRunMsg struct {
	runID string
	pane  pane
}

func (c *chatOverlay) handle(msg tea.Msg, env overlayEnv) (tea.Cmd, bool) {
	var cmd tea.Cmd
	switch msg := msg.(type) {
	case ChatClosedMsg:
		return nil, true
	case ChatOpenRunMsg: // the chat stays as it is, for C to come back to
		id := msg.RunID
		return func() tea.Msg { return openRunMsg{runID: id, pane: paneTrace} }, true
	case ChatSendMsg:
		c.stop, c.stopped = make(chan struct{}), false
		return tea.Batch(startChat(env.exec, env.eng, msg), checkLoaded(c.modelList, c.modelName())), false
	case chatLoadWantedMsg:
		return checkLoaded(c.modelList, msg.model), false
	case ChatModelsWantedMsg:
		return listModels(c.modelList), false
	case ChatStopMsg:
		// The channel stays closed, so a reply stopped before its run started is stopped as
		// soon as it executes.
		if c.stop != nil && !c.stopped {
			close(c.stop)
			c.stopped = true
		}
		return nil, false
	case ChatSessionMsg:
		return loadHistory(c.sessionStore, msg.Name), false
	case chatStartedMsg:
		c.ChatModel, cmd = c.Update(msg)
		if msg.err != nil {
			return cmd, false
		}
		return tea.Batch(cmd, executeChat(env.exec, env.eng, env.store, msg.runID, c.stop),
			func() tea.Msg { return runsChangedMsg{} }), false
	case chatDoneMsg: // the reply saved its session: list it with its new length
		c.ChatModel, cmd = c.Update(msg)
		return tea.Batch(cmd, listSessions(c.sessionStore)), false
	case chatModelsMsg, chatSessionsMsg, chatHistoryMsg, chatLoadedMsg, tea.KeyPressMsg, tea.PasteMsg:
		c.ChatModel, cmd = c.Update(msg)
		return cmd, false
	}
	return nil, false
}

func (c *chatOverlay) help() help.KeyMap { return c.Keys }

// traits: every key is the chat's, ctrl+c too: it stops the reply, not the program.
func (c *chatOverlay) traits() overlayTraits { return overlayTraits{typing: true, allKeys: true} }
