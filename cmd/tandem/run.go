package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"tandem/cmd/tandem/internal/render"
	"tandem/engine"
	"tandem/flows"
)

// runCommands start, continue, stop and look at runs.
func (a *app) runCommands() []*cobra.Command {
	var given, breaks []string
	var detach bool
	var input string
	var full, join, reload bool
	return []*cobra.Command{
		a.command(spec{use: "run FILE [-i key=value] [--break STEP]", short: "run a flow to the end (or until it waits), printing progress",
			json: "print the final run (the run shape of show --json) instead of progress", advances: true, complete: completeFlowFile,
			flags: func(f *pflag.FlagSet) {
				f.StringArrayVarP(&given, "input", "i", nil, "input key=value (repeatable)")
				f.StringArrayVar(&breaks, "break", nil, "hold the run before STEP from its start (repeatable); tandem continue RUN goes on")
				f.BoolVar(&detach, "detach", false, "record the run and return; tandem worker runs it")
			},
			run: func(ctx context.Context, args []string) error { return a.runFlow(ctx, args[0], given, breaks, detach) }}),
		a.command(spec{use: "resume RUN [--join]", short: "continue an interrupted or waiting run; finished steps never re-run",
			json: "print the final run as JSON", advances: true, complete: completeRun,
			flags: func(f *pflag.FlagSet) {
				f.BoolVar(&join, "join", false, "when another process advances the run (a worker, a detached run), follow it to its end instead of refusing")
			},
			onRun: func(ctx context.Context, e *env, run engine.RunInfo, _ []string) error {
				if join {
					return a.join(ctx, e, run)
				}
				return a.execute(ctx, e, run.ID, fmt.Sprintf("resume %s  %s", run.ID, run.FlowName))
			}}),
		a.command(spec{use: "retry RUN STEP [--input TEXT | --reload]", short: "run a failed step of a run again and continue the run",
			json: "print the final run as JSON", advances: true, complete: completeRunStep,
			flags: func(f *pflag.FlagSet) {
				f.StringVar(&input, "input", "", "replace the step's templated input (command or prompt) for this attempt")
				f.BoolVar(&reload, "reload", false, "go on with the flow file as it is now instead of as the run recorded it")
			},
			onRun: func(ctx context.Context, e *env, run engine.RunInfo, args []string) error {
				if reload && input != "" {
					return usagef("usage: tandem retry RUN STEP [--input TEXT | --reload]")
				}
				if err := retryStep(ctx, e, run.ID, args[0], input, reload); err != nil {
					return err
				}
				return a.execute(ctx, e, run.ID, fmt.Sprintf("retry %s %s  %s", run.ID, args[0], run.FlowName))
			}}),
		a.command(spec{use: "cancel RUN", short: "stop a run; running steps are recorded as interrupted", complete: completeRun,
			onRun: cancelRun}),
		a.runsCommand(),
		a.command(spec{use: "show RUN [--json]", short: "show a run: every step with its attempts and output", json: "print JSON",
			complete: completeRun,
			flags: func(f *pflag.FlagSet) {
				f.BoolVar(&full, "full", false, "print whole outputs instead of the first lines")
			},
			onRun: func(ctx context.Context, e *env, run engine.RunInfo, _ []string) error {
				st, err := e.engine.State(ctx, run.ID)
				if err != nil {
					return err
				}
				if a.json {
					return printJSON(render.NewRun(run, st))
				}
				render.Show(stdout, run, st, full, time.Now())
				return nil
			}}),
		a.command(spec{use: "events RUN [--json]", short: "print a run's raw event log", json: "print JSON (one array)",
			complete: completeRun,
			onRun: func(ctx context.Context, e *env, run engine.RunInfo, _ []string) error {
				events, err := e.db.Events(ctx, run.ID, 0)
				if err != nil {
					return err
				}
				if a.json {
					if events == nil {
						events = []engine.Event{}
					}
					return printJSON(events)
				}
				render.Events(stdout, events)
				return nil
			}}),
		a.traceCommand(),
	}
}

// retryStep asks for a new attempt of step; with reload the run goes on with its flow file as
// it is now (when the steps it finished are unchanged) instead of as the run recorded it.
func retryStep(ctx context.Context, e *env, runID, step, input string, reload bool) error {
	if !reload {
		if err := e.engine.Retry(ctx, runID, step, input); err != nil {
			return usageError{err}
		}
		return nil
	}
	st, err := e.engine.State(ctx, runID)
	if err != nil {
		return err
	}
	f, err := flows.Load(st.Start.FlowPath)
	if err != nil {
		return usageError{fmt.Errorf("reload %s: %w", st.Start.FlowPath, err)}
	}
	if err := e.engine.RetryReloaded(ctx, runID, step, f); err != nil {
		return usageError{err}
	}
	return nil
}

func (a *app) runFlow(ctx context.Context, path string, kvs, breaks []string, detach bool) error {
	f, err := flows.Load(path)
	if err != nil {
		var diags flows.Diagnostics
		if errors.As(err, &diags) {
			fmt.Fprintln(stderr, diags.Error())
			fmt.Fprintf(stderr, "tandem: %s is not valid; nothing was run\n", path)
			return exitError{code: exitUsage}
		}
		return usageError{err}
	}
	given, err := inputs(kvs)
	if err != nil {
		return err
	}
	// A secret may come from the environment instead, so it stays out of shell history.
	for _, in := range f.Inputs {
		if _, ok := given[in.Name]; !ok && in.Secret {
			if v, ok := os.LookupEnv(flows.SecretEnv(in.Name)); ok {
				given[in.Name] = v
			}
		}
	}
	resolved, err := flows.ResolveInputs(f, given)
	if err != nil {
		return usagef("%s: %v", path, err)
	}
	e, err := a.open(ctx)
	if err != nil {
		return err
	}
	defer e.close()
	id, err := e.engine.Start(ctx, f, resolved, engine.StartOptions{Breakpoints: breaks, Queued: detach})
	if errors.Is(err, engine.ErrStepNotFound) {
		return usageError{err}
	}
	if err != nil {
		return err
	}
	if detach {
		if err := e.engine.Detach(ctx, id); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "run %s  %s\nstarted detached: queued until a worker (tandem worker, or the workbench) takes it; follow it with tandem show %s\n", id, f.Name, id)
		return nil
	}
	return a.execute(ctx, e, id, fmt.Sprintf("run %s  %s", id, f.Name))
}

// execute advances a run while printing its progress, then prints how it ended (as the run
// shape with --json) and maps the end to an exit code: 0 succeeded or parked waiting, 1
// failed or cancelled, 130 interrupted.
func (a *app) execute(ctx context.Context, e *env, id string, header string) error {
	return a.advance(ctx, e, id, header, false)
}

// advanceAfter advances a run after a control (continue, step, skip, an approval) like
// execute; when another process is advancing the run, that process applies the control and
// this command just says so (engine.Engine.Advance).
func (a *app) advanceAfter(ctx context.Context, e *env, id string, header string) error {
	return a.advance(ctx, e, id, header, true)
}

func (a *app) advance(ctx context.Context, e *env, id string, header string, afterControl bool) error {
	p := render.NewPrinter(stdout, id)
	p.Quiet = a.json
	if !a.json && header != "" {
		fmt.Fprintln(stdout, header)
	}
	sub := e.engine.Bus().Subscribe("")
	defer sub.Close()
	done := make(chan struct{})
	printed := make(chan struct{})
	go func() {
		defer close(printed)
		for {
			select {
			case <-sub.Ready():
				for _, n := range sub.Next() {
					p.Notice(n)
				}
			case <-done:
				for _, n := range sub.Next() {
					p.Notice(n)
				}
				return
			}
		}
	}()
	start := time.Now()
	var st *engine.State
	var err error
	elsewhere := false
	if afterControl {
		st, elsewhere, err = e.engine.Advance(ctx, id)
	} else {
		st, err = e.engine.Execute(ctx, id)
	}
	close(done)
	<-printed
	if elsewhere {
		fmt.Fprintf(stdout, "run %s is being advanced by another process, which applies it\n", id)
		return nil
	}
	if errors.Is(err, engine.ErrFenced) {
		fmt.Fprintf(stderr, "tandem: run %s was taken over by another process while this one was stopped past its lease; "+
			"this one stopped its steps and wrote nothing more; follow the run with: tandem show %s\n", id, id)
		return exitError{code: exitFailed}
	}
	if st == nil || errors.Is(err, engine.ErrStoreFull) {
		return err // the error says why the run stopped and how to go on
	}
	if a.json {
		// The index row as the log now stands; a run still leased elsewhere is still shown.
		info, ierr := e.db.Run(context.WithoutCancel(ctx), id)
		if ierr != nil {
			return ierr
		}
		_ = printJSON(render.NewRun(info, st))
	} else {
		render.End(stdout, st, time.Since(start))
	}
	switch {
	case errors.Is(err, context.Canceled):
		return exitError{code: 130}
	case err != nil:
		return err
	}
	return exitFor(st.Status)
}

func cancelRun(ctx context.Context, e *env, run engine.RunInfo, _ []string) error {
	if err := e.engine.Cancel(ctx, run.ID); err != nil {
		return err
	}
	after, err := e.db.Run(ctx, run.ID)
	if err != nil {
		return err
	}
	if after.Status == engine.RunStatusCancelled {
		fmt.Fprintf(stdout, "run %s cancelled\n", run.ID)
	} else {
		fmt.Fprintf(stdout, "cancel requested: the process running %s stops it within a second\n", run.ID)
	}
	return nil
}
