package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"tandem/cmd/tandem/internal/render"
	"tandem/engine"
	"tandem/store"
	"tandem/store/postgres"
)

// completion says what a command's arguments are, for `tandem completion bash|zsh|fish`.
type completion int

const (
	completeNothing   completion = iota
	completeRun                  // RUN
	completeRunStep              // RUN STEP
	completeRunEvent             // RUN EVENT: the events the run's waiting steps wait for
	completeRuns                 // RUN_A RUN_B
	completeFlowFile             // FILE... (flow, agent and suite files)
	completeAgentFile            // AGENT.yaml, then a prompt
	completeEval                 // SUITE.yaml, or show|resume|compare and runs
	completeDir                  // DIR
)

// completer completes a command's arguments: run ids (with their flow and status), the
// steps of the run named before, and YAML files.
func (a *app) completer(kind completion) cobra.CompletionFunc {
	yaml := func() ([]cobra.Completion, cobra.ShellCompDirective) {
		return []cobra.Completion{"yaml", "yml"}, cobra.ShellCompDirectiveFilterFileExt
	}
	return func(c *cobra.Command, args []string, prefix string) ([]cobra.Completion, cobra.ShellCompDirective) {
		switch {
		case kind == completeRun && len(args) == 0,
			kind == completeRunStep && len(args) == 0,
			kind == completeRuns && len(args) < 2:
			return a.completeRuns(c.Context()), cobra.ShellCompDirectiveNoFileComp
		case kind == completeRunEvent && len(args) == 0:
			return a.completeRuns(c.Context()), cobra.ShellCompDirectiveNoFileComp
		case kind == completeRunStep && len(args) == 1:
			return a.completeSteps(c.Context(), args[0]), cobra.ShellCompDirectiveNoFileComp
		case kind == completeRunEvent && len(args) == 1:
			return a.completeEvents(c.Context(), args[0]), cobra.ShellCompDirectiveNoFileComp
		case kind == completeFlowFile, kind == completeAgentFile && len(args) == 0:
			return yaml()
		case kind == completeEval && len(args) == 0:
			comps, _ := yaml()
			return append([]cobra.Completion{"show", "resume", "compare"}, comps...), cobra.ShellCompDirectiveFilterFileExt
		case kind == completeEval && args[0] != "show" && args[0] != "resume" && args[0] != "compare":
			return nil, cobra.ShellCompDirectiveNoFileComp
		case kind == completeEval && (len(args) == 1 || args[0] == "compare" && len(args) == 2):
			return a.completeRuns(c.Context()), cobra.ShellCompDirectiveNoFileComp
		case kind == completeDir && len(args) == 0:
			return nil, cobra.ShellCompDirectiveFilterDirs
		}
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
}

// completionDB opens the workspace's database for completing, or nil when there is none yet:
// completing never creates one.
func (a *app) completionDB(ctx context.Context) database {
	if postgres.IsURL(a.db) {
		ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		db, err := postgres.Open(ctx, a.db)
		if err != nil {
			return nil
		}
		return db
	}
	if _, err := os.Stat(a.db); err != nil {
		return nil
	}
	db, err := store.Open(ctx, a.db, store.Options{BusyTimeout: time.Second})
	if err != nil {
		return nil
	}
	return db
}

// completeRuns lists the newest runs, each described by its flow and status.
func (a *app) completeRuns(ctx context.Context) []cobra.Completion {
	db := a.completionDB(ctx)
	if db == nil {
		return nil
	}
	defer db.Close()
	runs, err := db.Runs(ctx, engine.RunQuery{Limit: 200})
	if err != nil {
		return nil
	}
	out := make([]cobra.Completion, len(runs))
	for i, r := range runs {
		out[i] = cobra.CompletionWithDesc(r.ID, fmt.Sprintf("%s %s", r.FlowName, r.Status))
	}
	return out
}

// runState folds the log of the run ref names, or nil when there is no such run.
func (a *app) runState(ctx context.Context, ref string) *engine.State {
	db := a.completionDB(ctx)
	if db == nil {
		return nil
	}
	defer db.Close()
	info, err := db.Run(ctx, ref)
	if err != nil {
		return nil
	}
	events, err := db.Events(ctx, info.ID, 0)
	if err != nil {
		return nil
	}
	return engine.Fold(events)
}

// completeSteps lists the steps of a run, in the flow's order, each with its status.
func (a *app) completeSteps(ctx context.Context, ref string) []cobra.Completion {
	st := a.runState(ctx, ref)
	if st == nil {
		return nil
	}
	var out []cobra.Completion
	for _, id := range render.StepOrder(st) {
		out = append(out, cobra.CompletionWithDesc(id, string(st.Step(id).Status)))
	}
	return out
}

// completeEvents lists the events a run's waiting steps wait for, each with its step.
func (a *app) completeEvents(ctx context.Context, ref string) []cobra.Completion {
	st := a.runState(ctx, ref)
	if st == nil {
		return nil
	}
	var out []cobra.Completion
	for _, id := range render.StepOrder(st) {
		if s := st.Step(id); s.Status == engine.StatusWaiting && s.Waiting != nil {
			for _, ev := range s.Waiting.Events {
				out = append(out, cobra.CompletionWithDesc(ev, "step "+id+" waits for it"))
			}
		}
	}
	return out
}
