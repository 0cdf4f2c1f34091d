package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	tea "charm.land/bubbletea/v2"
	"github.com/spf13/cobra"

	"tandem/agents/model"
	"tandem/agents/ollama"
	"tandem/engine"
	"tandem/promote"
	"tandem/ui"
)

func (a *app) uiCommand() *cobra.Command {
	return a.command(spec{use: "ui", short: "open the workbench on the current directory (what tandem alone does)", advances: true,
		run: a.workbench})
}

func (a *app) workbench(ctx context.Context, _ []string) error {
	dir, err := os.Getwd()
	if err != nil {
		return err
	}
	// Without --allow-shell, every shell call an agent makes here is asked of the person at
	// the workbench, in place.
	var approvals *ui.Approvals
	if !a.agent.allowShell {
		approvals = ui.NewApprovals()
		a.ask = approvals.Approve
	}
	e, err := a.open(ctx)
	if err != nil {
		return err
	}
	defer e.close()
	w := &engine.Worker{Engine: e.engine, OnError: func(id string, err error) {
		e.log.Error("advance run", "run", id, "err", err)
	}}
	opts := ui.Options{Engine: e.engine, Store: e.db, Dir: dir, Worker: w, Sessions: uiSessions{e.db}, Approvals: approvals,
		Who: approver(), Watch: true, Promote: promoteInto(e.engine)}
	if o, err := ollama.FromEnvironment(); err == nil {
		opts.Models, opts.Server = o, o
	}
	m := ui.New(opts)
	final, err := tea.NewProgram(m, tea.WithContext(ctx)).Run()
	// Whatever ended the program, runs advanced here must record how they stopped.
	if fm, ok := final.(ui.Model); ok {
		fm.Shutdown()
	} else {
		m.Shutdown()
	}
	if err != nil && !errors.Is(err, tea.ErrProgramKilled) {
		return fmt.Errorf("run workbench: %w", err)
	}
	return nil
}

// uiSessions shows the store's memory sessions to the workbench's chat.
type uiSessions struct{ db database }

func (s uiSessions) Sessions(ctx context.Context) ([]ui.SessionInfo, error) {
	list, err := s.db.Sessions(ctx)
	out := make([]ui.SessionInfo, len(list))
	for i, si := range list {
		out[i] = ui.SessionInfo{Name: si.Name, Agent: si.Agent, Messages: si.Messages, UpdatedAt: si.UpdatedAt}
	}
	return out, err
}

func (s uiSessions) LoadSession(ctx context.Context, name string) ([]model.Message, error) {
	return s.db.LoadSession(ctx, name)
}

// promoteInto promotes a passing agent run into a flow file in dir (the agent's directory
// when dir is ""), under AGENT-promoted.yaml or the first free AGENT-promoted-N.yaml.
func promoteInto(eng *engine.Engine) ui.Promoter {
	return func(ctx context.Context, runID, dir string) (string, error) {
		_, _, _, a, err := promote.Agent(ctx, eng, runID)
		if err != nil {
			return "", err
		}
		if dir == "" {
			dir = a.Dir
		}
		path := filepath.Join(dir, a.Name+"-promoted.yaml")
		for i := 2; ; i++ {
			if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
				break
			}
			path = filepath.Join(dir, fmt.Sprintf("%s-promoted-%d.yaml", a.Name, i))
		}
		src, err := promote.Flow(ctx, eng, runID, path)
		if err != nil {
			return "", err
		}
		if err := os.WriteFile(path, src, 0o644); err != nil {
			return "", fmt.Errorf("write %s: %w", path, err)
		}
		return path, nil
	}
}
