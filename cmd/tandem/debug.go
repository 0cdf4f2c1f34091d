package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"
	"text/tabwriter"

	"tandem/engine"
)

func init() {
	register(command{name: "skip", summary: "complete a step by hand with a given output and continue the run", run: runSkip})
	register(command{name: "fork", summary: "start a new run from a step, reusing the outputs of the steps before it", run: runFork})
	register(command{name: "break", summary: "set (or --off clear) a breakpoint before a step of a run", run: runBreak})
	register(command{name: "pause", summary: "hold a run: running steps finish, nothing new starts", run: runPause})
	register(command{name: "continue", summary: "lift a pause or breakpoint and advance the run", run: runContinue})
	register(command{name: "step", summary: "run the next ready step of a run, then hold it again", run: runStep})
	register(command{name: "diff", summary: "compare two runs step by step", run: runDiff})
}

// debugFlags parses a debug command's flags and wants exactly n positional arguments.
func debugFlags(fs *flag.FlagSet, c *common, args []string, n int, usage string) ([]string, error) {
	c.register(fs)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: "+usage)
		fs.PrintDefaults()
	}
	pos, err := interspersed(fs, args)
	if err != nil {
		return nil, err
	}
	if len(pos) != n {
		return nil, usagef("usage: %s", usage)
	}
	return pos, nil
}

// debugError maps an engine refusal (a finished run, an unknown step) to a usage error.
func debugError(err error) error {
	if errors.Is(err, engine.ErrRunFinished) || errors.Is(err, engine.ErrStepNotFound) ||
		errors.Is(err, engine.ErrLeased) || errors.Is(err, engine.ErrRunNotFound) || errors.Is(err, engine.ErrAmbiguousRun) {
		return usageError{err}
	}
	return err
}

// advanceAfter advances a run after a debug control, like resume; when another process is
// advancing it, that process applies the control and this command just says so.
func advanceAfter(ctx context.Context, e *env, id string, jsonOut bool, header string) error {
	err := execute(ctx, e, id, jsonOut, header)
	if errors.Is(err, engine.ErrLeased) {
		fmt.Fprintf(stdout, "run %s is being advanced by another process, which applies it\n", id)
		return nil
	}
	return err
}

func runSkip(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("skip", flag.ContinueOnError)
	var c common
	c.registerParallel(fs)
	output := fs.String("output", "", "the step's output, as if it had printed it")
	detach := fs.Bool("detach", false, "record the skip only; a worker (or tandem resume) continues the run")
	jsonOut := fs.Bool("json", false, "print the final run state as JSON")
	pos, err := debugFlags(fs, &c, args, 2, "tandem skip RUN STEP --output TEXT")
	if err != nil {
		return err
	}
	e, info, err := c.openRun(ctx, pos[0])
	if err != nil {
		return err
	}
	defer e.close()
	if err := e.engine.Skip(ctx, info.ID, pos[1], *output); err != nil {
		return debugError(err)
	}
	if *detach {
		fmt.Fprintf(stdout, "skipped %s of run %s with a manual output; tandem resume %s continues it\n", pos[1], info.ID, info.ID)
		return nil
	}
	return advanceAfter(ctx, e, info.ID, *jsonOut, fmt.Sprintf("skip %s %s  %s", info.ID, pos[1], info.FlowName))
}

func runFork(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("fork", flag.ContinueOnError)
	var c common
	c.registerParallel(fs)
	var inputs multiFlag
	fs.Var(&inputs, "i", "override an input of the source run, `key=value` (repeatable)")
	detach := fs.Bool("detach", false, "record the new run and return; a `tandem worker` runs it")
	jsonOut := fs.Bool("json", false, "print the final run state as JSON instead of progress")
	pos, err := debugFlags(fs, &c, args, 2, "tandem fork RUN STEP [-i key=value]... [--detach]")
	if err != nil {
		return err
	}
	o := engine.ForkOptions{Inputs: map[string]any{}}
	for _, kv := range inputs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return usagef("-i %q: want key=value", kv)
		}
		o.Inputs[k] = v
	}
	e, err := c.open(ctx)
	if err != nil {
		return err
	}
	defer e.close()
	src, err := e.db.Run(ctx, pos[0])
	if err != nil {
		return usageError{err}
	}
	id, err := e.engine.Fork(ctx, src.ID, pos[1], o)
	if err != nil {
		if errors.Is(err, engine.ErrStepNotFound) || errors.Is(err, engine.ErrInvalidInputs) {
			return usageError{err}
		}
		return err
	}
	header := fmt.Sprintf("run %s  %s  forked from %s at %s", id, src.FlowName, src.ID, pos[1])
	if *jsonOut {
		header = ""
	} else {
		// The reused outputs were recorded before anyone watched: show them first.
		fmt.Fprintln(stdout, header)
		header = ""
		events, err := e.db.Events(ctx, id, 0)
		if err != nil {
			return err
		}
		p := newPrinter(stdout, id)
		for i := range events {
			p.notice(engine.Notice{Event: &events[i]})
		}
	}
	if *detach {
		fmt.Fprintf(stdout, "started detached: tandem worker runs it; follow it with tandem show %s\n", id)
		return nil
	}
	return execute(ctx, e, id, *jsonOut, header)
}

func runBreak(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("break", flag.ContinueOnError)
	var c common
	off := fs.Bool("off", false, "clear the breakpoint instead")
	pos, err := debugFlags(fs, &c, args, 2, "tandem break RUN STEP [--off]")
	if err != nil {
		return err
	}
	e, info, err := c.openRun(ctx, pos[0])
	if err != nil {
		return err
	}
	defer e.close()
	if err := e.engine.SetBreakpoint(ctx, info.ID, pos[1], !*off); err != nil {
		return debugError(err)
	}
	if *off {
		fmt.Fprintf(stdout, "breakpoint before %s of run %s cleared\n", pos[1], info.ID)
	} else {
		fmt.Fprintf(stdout, "breakpoint set before %s of run %s: the run holds when %s is ready to start\n", pos[1], info.ID, pos[1])
	}
	return nil
}

func runPause(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("pause", flag.ContinueOnError)
	var c common
	pos, err := debugFlags(fs, &c, args, 1, "tandem pause RUN")
	if err != nil {
		return err
	}
	e, info, err := c.openRun(ctx, pos[0])
	if err != nil {
		return err
	}
	defer e.close()
	if err := e.engine.Pause(ctx, info.ID); err != nil {
		return debugError(err)
	}
	fmt.Fprintf(stdout, "run %s pauses: running steps finish, nothing new starts; go on with tandem continue %s (or tandem step %s)\n", info.ID, info.ID, info.ID)
	return nil
}

func runContinue(ctx context.Context, args []string) error {
	return release(ctx, args, "continue", "tandem continue RUN [--detach]",
		func(e *engine.Engine, ctx context.Context, id string) error { return e.Continue(ctx, id) })
}

func runStep(ctx context.Context, args []string) error {
	return release(ctx, args, "step", "tandem step RUN [--detach]",
		func(e *engine.Engine, ctx context.Context, id string) error { return e.StepOnce(ctx, id) })
}

// release runs continue and step: record the request, then advance the run until it holds
// again or ends.
func release(ctx context.Context, args []string, verb, usage string, do func(*engine.Engine, context.Context, string) error) error {
	fs := flag.NewFlagSet(verb, flag.ContinueOnError)
	var c common
	c.registerParallel(fs)
	detach := fs.Bool("detach", false, "record the request only; a worker (or tandem resume) advances the run")
	jsonOut := fs.Bool("json", false, "print the final run state as JSON")
	pos, err := debugFlags(fs, &c, args, 1, usage)
	if err != nil {
		return err
	}
	e, info, err := c.openRun(ctx, pos[0])
	if err != nil {
		return err
	}
	defer e.close()
	if err := do(e.engine, ctx, info.ID); err != nil {
		return debugError(err)
	}
	if *detach {
		fmt.Fprintf(stdout, "%s recorded for run %s; a worker (or tandem resume %s) advances it\n", verb, info.ID, info.ID)
		return nil
	}
	return advanceAfter(ctx, e, info.ID, *jsonOut, fmt.Sprintf("%s %s  %s", verb, info.ID, info.FlowName))
}

func runDiff(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("diff", flag.ContinueOnError)
	var c common
	jsonOut := fs.Bool("json", false, "print JSON")
	pos, err := debugFlags(fs, &c, args, 2, "tandem diff RUN_A RUN_B [--json]")
	if err != nil {
		return err
	}
	e, err := c.open(ctx)
	if err != nil {
		return err
	}
	defer e.close()
	var states [2]*engine.State
	for i, ref := range pos {
		info, err := e.db.Run(ctx, ref)
		if err != nil {
			return usageError{err}
		}
		if states[i], err = e.engine.State(ctx, info.ID); err != nil {
			return err
		}
	}
	a, b := states[0], states[1]
	diffs := engine.DiffRuns(a, b)
	inputs := engine.DiffInputs(a, b)
	if *jsonOut {
		if inputs == nil {
			inputs = []engine.InputDiff{}
		}
		return printJSON(struct {
			A      string             `json:"a"`
			B      string             `json:"b"`
			Inputs []engine.InputDiff `json:"inputs"` // only those that differ
			Steps  []engine.StepDiff  `json:"steps"`
		}{a.ID, b.ID, inputs, diffs})
	}
	fmt.Fprintf(stdout, "A %s  %s %s\nB %s  %s %s\n\n", a.ID, statusIcon(a.Status), a.Status, b.ID, statusIcon(b.Status), b.Status)
	if len(inputs) > 0 { // first: most differing steps follow from them
		iw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(iw, "INPUT\tA\tB")
		for _, d := range inputs {
			fmt.Fprintf(iw, "%s\t%s\t%s\n", d.Name, d.A, d.B)
		}
		if err := iw.Flush(); err != nil {
			return err
		}
		fmt.Fprintln(stdout)
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "STEP\tA\tB\tCOMPARED")
	differ := 0
	for _, d := range diffs {
		same := "same"
		if !d.Equal {
			same, differ = "different", differ+1
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", d.StepID, diffStatus(d.StatusA), diffStatus(d.StatusB), same)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, d := range diffs {
		if d.Equal || d.OutputA == d.OutputB {
			continue
		}
		fmt.Fprintf(stdout, "\n--- %s  A %s\n+++ %s  B %s\n", d.StepID, a.ID, d.StepID, b.ID)
		for _, l := range engine.DiffLines(d.OutputA, d.OutputB) {
			fmt.Fprintf(stdout, "%c%s\n", l.Op, l.Text)
		}
	}
	if differ == 0 {
		fmt.Fprintln(stdout, "\nthe runs agree on every step")
	} else {
		fmt.Fprintf(stdout, "\n%d of %d steps differ\n", differ, len(diffs))
	}
	return nil
}

func diffStatus(s engine.StepStatus) string {
	if s == "" {
		return "-"
	}
	return stepIcon(s) + " " + string(s)
}
