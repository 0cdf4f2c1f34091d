package ui

import (
	"context"
	"time"

	tea "charm.land/bubbletea/v2"

	"tandem/engine"
)

// ModelServer is the model server the status bar reports on; *ollama.Client implements it.
type ModelServer interface {
	Version(ctx context.Context) (string, error)
}

// serverMsg is the answer of a check of the model server.
type serverMsg struct {
	version string
	err     error
}

// checkServer asks the model server for its version, which answers quickly when it is up.
func checkServer(s ModelServer) tea.Cmd {
	if s == nil {
		return nil
	}
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		v, err := s.Version(ctx)
		return serverMsg{version: v, err: err}
	}
}

// serverState is what the workbench knows of the model server: checked at start and again
// after a step fails (a model call may have found it gone, or back).
type serverState struct {
	known, up bool
	checking  bool
	err       string
}

// serverMsgUpdate records a check's answer.
func (m *Model) serverMsgUpdate(msg serverMsg) {
	m.server.known, m.server.checking, m.server.up = true, false, msg.err == nil
	m.server.err = ""
	if msg.err != nil {
		m.server.err = firstLine(msg.err.Error())
	}
}

// recheckServer checks the server again after an event that may mean it changed: a failed
// step. One check is in flight at a time.
func (m *Model) recheckServer(e engine.Event) tea.Cmd {
	if m.opts.Server == nil || m.server.checking || e.Type != engine.StepFailed {
		return nil
	}
	m.server.checking = true
	return checkServer(m.opts.Server)
}

// serverBadge is the status bar's word on the model server: "ollama ✓", "ollama ✗", or
// nothing when there is no server to check or no answer yet.
func (m Model) serverBadge() string {
	switch {
	case m.opts.Server == nil || !m.server.known:
		return ""
	case m.server.up:
		return " ollama ✓ "
	}
	return " ollama ✗ "
}
