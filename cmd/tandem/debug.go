package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"tandem/cmd/tandem/internal/render"
	"tandem/engine"
)

// debugCommands step through, steer, fork and compare runs.
func (a *app) debugCommands() []*cobra.Command {
	var output string
	var detach, off bool
	var given []string
	detachFlag := func(help string) func(f *pflag.FlagSet) {
		return func(f *pflag.FlagSet) { f.BoolVar(&detach, "detach", false, help) }
	}
	return []*cobra.Command{
		a.command(spec{use: "skip RUN STEP --output TEXT", short: "complete a step by hand with a given output and continue the run",
			json: "print the final run as JSON", advances: true, complete: completeRunStep,
			flags: func(f *pflag.FlagSet) {
				f.StringVar(&output, "output", "", "the step's output, as if it had printed it")
				detachFlag("record the skip only; a worker (or tandem resume) continues the run")(f)
			},
			onRun: func(ctx context.Context, e *env, run engine.RunInfo, args []string) error {
				if err := e.engine.Skip(ctx, run.ID, args[0], output); err != nil {
					return debugError(err)
				}
				if detach {
					fmt.Fprintf(stdout, "skipped %s of run %s with a manual output; tandem resume %s continues it\n", args[0], run.ID, run.ID)
					return nil
				}
				return a.advanceAfter(ctx, e, run.ID, fmt.Sprintf("skip %s %s  %s", run.ID, args[0], run.FlowName))
			}}),
		a.command(spec{use: "fork RUN STEP [-i key=value] [--detach]", short: "start a new run from a step, reusing the outputs of the steps before it",
			json: "print the final run (the run shape of show --json) instead of progress", advances: true, complete: completeRunStep,
			flags: func(f *pflag.FlagSet) {
				f.StringArrayVarP(&given, "input", "i", nil, "override an input of the source run, key=value (repeatable)")
				detachFlag("record the new run and return; tandem worker runs it")(f)
			},
			onRun: func(ctx context.Context, e *env, src engine.RunInfo, args []string) error {
				return a.fork(ctx, e, src, args[0], given, detach)
			}}),
		a.command(spec{use: "break RUN STEP [--off]", short: "set (or --off clear) a breakpoint before a step of a run", complete: completeRunStep,
			flags: func(f *pflag.FlagSet) { f.BoolVar(&off, "off", false, "clear the breakpoint instead") },
			onRun: func(ctx context.Context, e *env, run engine.RunInfo, args []string) error {
				if err := e.engine.SetBreakpoint(ctx, run.ID, args[0], !off); err != nil {
					return debugError(err)
				}
				if off {
					fmt.Fprintf(stdout, "breakpoint before %s of run %s cleared\n", args[0], run.ID)
				} else {
					fmt.Fprintf(stdout, "breakpoint set before %s of run %s: the run holds when %s is ready to start\n", args[0], run.ID, args[0])
				}
				return nil
			}}),
		a.command(spec{use: "pause RUN", short: "hold a run: running steps finish, nothing new starts", complete: completeRun,
			onRun: func(ctx context.Context, e *env, run engine.RunInfo, _ []string) error {
				if err := e.engine.Pause(ctx, run.ID); err != nil {
					return debugError(err)
				}
				fmt.Fprintf(stdout, "run %s pauses: running steps finish, nothing new starts; go on with tandem continue %s (or tandem step %s)\n", run.ID, run.ID, run.ID)
				return nil
			}}),
		a.release("continue", "lift a pause or breakpoint and advance the run", &detach, (*engine.Engine).Continue),
		a.release("step", "run the next ready step of a run, then hold it again", &detach, (*engine.Engine).StepOnce),
		a.command(spec{use: "diff RUN_A RUN_B [--json]", short: "compare two runs step by step", json: "print JSON", complete: completeRuns,
			onDB: a.diff}),
	}
}

// release makes continue and step: record the request, then advance the run until it holds
// again or ends.
func (a *app) release(verb, short string, detach *bool, do func(*engine.Engine, context.Context, string) error) *cobra.Command {
	return a.command(spec{use: verb + " RUN [--detach]", short: short, json: "print the final run as JSON", advances: true, complete: completeRun,
		flags: func(f *pflag.FlagSet) {
			f.BoolVar(detach, "detach", false, "record the request only; a worker (or tandem resume) advances the run")
		},
		onRun: func(ctx context.Context, e *env, run engine.RunInfo, _ []string) error {
			if err := do(e.engine, ctx, run.ID); err != nil {
				return debugError(err)
			}
			if *detach {
				fmt.Fprintf(stdout, "%s recorded for run %s; a worker (or tandem resume %s) advances it\n", verb, run.ID, run.ID)
				return nil
			}
			return a.advanceAfter(ctx, e, run.ID, fmt.Sprintf("%s %s  %s", verb, run.ID, run.FlowName))
		}})
}

// debugError maps an engine refusal (a finished run, an unknown step) to a usage error.
func debugError(err error) error {
	if errors.Is(err, engine.ErrRunFinished) || errors.Is(err, engine.ErrStepNotFound) ||
		errors.Is(err, engine.ErrLeased) || errors.Is(err, engine.ErrRunNotFound) || errors.Is(err, engine.ErrAmbiguousRun) {
		return usageError{err}
	}
	return err
}

func (a *app) fork(ctx context.Context, e *env, src engine.RunInfo, step string, kvs []string, detach bool) error {
	given, err := inputs(kvs)
	if err != nil {
		return err
	}
	o := engine.ForkOptions{Inputs: map[string]any{}, Queued: detach}
	for k, v := range given {
		o.Inputs[k] = v
	}
	id, err := e.engine.Fork(ctx, src.ID, step, o)
	if err != nil {
		if errors.Is(err, engine.ErrStepNotFound) || errors.Is(err, engine.ErrInvalidInputs) {
			return usageError{err}
		}
		return err
	}
	if !a.json {
		// The reused outputs were recorded before anyone watched: show them first.
		fmt.Fprintf(stdout, "run %s  %s  forked from %s at %s\n", id, src.FlowName, src.ID, step)
		events, err := e.db.Events(ctx, id, 0)
		if err != nil {
			return err
		}
		p := render.NewPrinter(stdout, id)
		for i := range events {
			p.Notice(engine.Notice{Event: &events[i]})
		}
	}
	if detach {
		if err := e.engine.Detach(ctx, id); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "started detached: queued until a worker (tandem worker, or the workbench) takes it; follow it with tandem show %s\n", id)
		return nil
	}
	return a.execute(ctx, e, id, "")
}

func (a *app) diff(ctx context.Context, e *env, refs []string) error {
	var states [2]*engine.State
	for i, ref := range refs {
		info, err := e.db.Run(ctx, ref)
		if err != nil {
			return usageError{err}
		}
		if states[i], err = e.engine.State(ctx, info.ID); err != nil {
			return err
		}
	}
	x, y := states[0], states[1]
	diffs := engine.DiffRuns(x, y)
	inputs := engine.DiffInputs(x, y)
	if a.json {
		if inputs == nil {
			inputs = []engine.InputDiff{}
		}
		return printJSON(struct {
			A      string             `json:"a"`
			B      string             `json:"b"`
			Inputs []engine.InputDiff `json:"inputs"` // only those that differ
			Steps  []engine.StepDiff  `json:"steps"`
		}{x.ID, y.ID, inputs, diffs})
	}
	return render.Diff(stdout, x, y, inputs, diffs)
}
