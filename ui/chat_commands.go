package ui

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"

	"tandem/agents/model"
	"tandem/engine"
	"tandem/flows"
)

// SessionInfo describes a stored agent memory session.
type SessionInfo struct {
	Name      string
	Agent     string
	Messages  int
	UpdatedAt time.Time
}

// SessionStore lists and reads agent memory sessions, for the chat's session list and to show
// a resumed conversation. cmd/tandem adapts store.DB to it.
type SessionStore interface {
	Sessions(ctx context.Context) ([]SessionInfo, error)
	LoadSession(ctx context.Context, name string) ([]model.Message, error)
}

// ModelLister lists the model server's local models, for the chat's model switch;
// *ollama.Client implements it.
type ModelLister interface {
	List(ctx context.Context) ([]model.LocalModel, error)
}

// RunningLister names the models the server has loaded now; *model.Ollama implements it.
// A chat whose ModelLister also is one tells loading the model from reading the prompt.
type RunningLister interface {
	Running(ctx context.Context) ([]string, error)
}

// chatLoadWantedMsg asks the app whether the chat's model is loaded (again, while it loads).
type chatLoadWantedMsg struct{ model string }

type (
	chatLoadedMsg struct {
		model  string
		loaded bool
	}
	chatModelsMsg struct {
		models []string
		err    error
	}
	chatSessionsMsg struct {
		sessions []SessionInfo
		err      error
	}
	chatHistoryMsg struct {
		session string
		msgs    []model.Message
		err     error
	}
	chatStartedMsg struct {
		runID string
		err   error
	}
	chatDoneMsg struct {
		runID  string
		events []engine.Event // the run's log, to show the reply as recorded
		err    error
	}
)

func listModels(l ModelLister) tea.Cmd {
	if l == nil {
		return nil
	}
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		list, err := l.List(ctx)
		names := make([]string, len(list))
		for i, lm := range list {
			names[i] = lm.Name
		}
		return chatModelsMsg{models: names, err: err}
	}
}

// checkLoaded asks the server whether name is loaded; nothing when it cannot say.
func checkLoaded(l ModelLister, name string) tea.Cmd {
	r, ok := l.(RunningLister)
	if !ok || name == "" {
		return nil
	}
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		names, err := r.Running(ctx)
		if err != nil {
			return nil
		}
		loaded := false
		for _, n := range names {
			loaded = loaded || n == name || n == name+":latest" || strings.TrimSuffix(n, ":latest") == name
		}
		return chatLoadedMsg{model: name, loaded: loaded}
	}
}

func listSessions(s SessionStore) tea.Cmd {
	if s == nil {
		return nil
	}
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		list, err := s.Sessions(ctx)
		return chatSessionsMsg{sessions: list, err: err}
	}
}

// loadHistory reads a session's conversation; without a session store it is empty.
func loadHistory(s SessionStore, name string) tea.Cmd {
	return func() tea.Msg {
		if s == nil {
			return chatHistoryMsg{session: name}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		msgs, err := s.LoadSession(ctx, name)
		return chatHistoryMsg{session: name, msgs: msgs, err: err}
	}
}

// startChat starts the one-step run that asks the agent, as `tandem ask` does, so the reply is
// recorded, traced and listed with the other runs.
func startChat(x *executions, e *engine.Engine, req ChatSendMsg) tea.Cmd {
	return x.run(func(ctx context.Context) tea.Msg {
		// The chosen model is the agent step's model: override; the agent's file stays as it is.
		src, fpath := flows.AgentFlow(req.AgentPath, req.AgentName)
		f, err := flows.Parse(fpath, src)
		if err != nil {
			return chatStartedMsg{err: fmt.Errorf("ask %s: %w", req.AgentName, err)}
		}
		id, err := e.Start(ctx, f, flows.AgentInputs(req.Prompt, req.Session, req.Model), engine.StartOptions{Session: req.Session})
		return chatStartedMsg{runID: id, err: err}
	})
}

// executeChat advances a chat's run until it ends, the workbench quits or stop is closed
// (ctrl+c in the chat): the reply stops and the run records it as interrupted. It returns the
// run's log, so the reply shows as recorded whatever the bus delivered.
func executeChat(x *executions, e *engine.Engine, s Store, runID string, stop <-chan struct{}) tea.Cmd {
	return x.run(func(ctx context.Context) tea.Msg {
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		go func() {
			select {
			case <-stop:
				cancel()
			case <-ctx.Done():
			}
		}()
		_, err := e.Execute(ctx, runID)
		if errors.Is(err, engine.ErrLeased) || errors.Is(err, engine.ErrRunFinished) {
			err = nil // another process advances it; the bus or the log shows how it ends
		}
		if s == nil {
			return chatDoneMsg{runID: runID, err: err}
		}
		// The run's own context may be cancelled (a stopped reply): read with a fresh one.
		rctx, rcancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer rcancel()
		evs, lerr := s.Events(rctx, runID, 0)
		return chatDoneMsg{runID: runID, events: evs, err: errors.Join(err, lerr)}
	})
}
