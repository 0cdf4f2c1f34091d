package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"tandem/engine"
	"tandem/flows"
)

func init() {
	register(command{name: "run", summary: "run a flow to the end (or until it waits), printing progress", run: runRun})
	register(command{name: "resume", summary: "continue an interrupted or waiting run; finished steps never re-run", run: runResume})
	register(command{name: "retry", summary: "re-run a failed step of a run and continue the run", run: runRetry})
	register(command{name: "cancel", summary: "stop a run; running steps are recorded as interrupted", run: runCancel})
}

func runRun(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	var c common
	c.register(fs)
	c.registerParallel(fs)
	var inputs multiFlag
	fs.Var(&inputs, "i", "input `key=value` (repeatable)")
	var breaks multiFlag
	fs.Var(&breaks, "break", "hold the run before `STEP` from its start (repeatable); tandem continue RUN goes on")
	jsonOut := fs.Bool("json", false, "print the final run state as JSON instead of progress")
	detach := fs.Bool("detach", false, "record the run and return; a `tandem worker` runs it")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: tandem run FILE [-i key=value]... [--break STEP]... [flags]")
		fs.PrintDefaults()
	}
	pos, err := interspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		fs.Usage()
		return exitError{code: exitUsage}
	}
	f, err := flows.Load(pos[0])
	if err != nil {
		var diags flows.Diagnostics
		if errors.As(err, &diags) {
			fmt.Fprintln(stderr, diags.Error())
			fmt.Fprintf(stderr, "tandem: %s is not valid; nothing was run\n", pos[0])
			return exitError{code: exitUsage}
		}
		return usageError{err}
	}
	given := map[string]string{}
	for _, kv := range inputs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return usagef("-i %q: want key=value", kv)
		}
		given[k] = v
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
		return usagef("%s: %v", pos[0], err)
	}
	e, err := c.open(ctx)
	if err != nil {
		return err
	}
	defer e.close()
	id, err := e.engine.Start(ctx, f, resolved, engine.StartOptions{Breakpoints: breaks})
	if errors.Is(err, engine.ErrStepNotFound) {
		return usageError{err}
	}
	if err != nil {
		return err
	}
	if *detach {
		fmt.Fprintf(stdout, "run %s  %s\nstarted detached: tandem worker runs it; follow it with tandem show %s\n", id, f.Name, id)
		return nil
	}
	return execute(ctx, e, id, *jsonOut, fmt.Sprintf("run %s  %s", id, f.Name))
}

// execute advances a run while printing its progress, then prints how it ended and maps the
// end to an exit code: 0 succeeded or parked waiting, 1 failed or cancelled, 130 interrupted.
func execute(ctx context.Context, e *env, id string, jsonOut bool, header string) error {
	p := newPrinter(stdout, id)
	p.quiet = jsonOut
	if !jsonOut && header != "" {
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
					p.notice(n)
				}
			case <-done:
				for _, n := range sub.Next() {
					p.notice(n)
				}
				return
			}
		}
	}()
	start := time.Now()
	st, err := e.engine.Execute(ctx, id)
	close(done)
	<-printed
	if errors.Is(err, engine.ErrFenced) {
		fmt.Fprintf(os.Stderr, "tandem: run %s was taken over by another process while this one was stopped past its lease; "+
			"this one stopped its steps and wrote nothing more; follow the run with: tandem show %s\n", id, id)
		return exitError{code: exitFailed}
	}
	if st == nil {
		return err
	}
	if jsonOut {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(st)
	} else {
		printEnd(st, time.Since(start))
	}
	switch {
	case errors.Is(err, context.Canceled):
		return exitError{code: 130}
	case err != nil:
		return err
	}
	switch st.Status {
	case engine.RunStatusSucceeded, engine.RunStatusWaiting, engine.RunStatusPaused:
		return nil
	case engine.RunStatusInterrupted:
		return exitError{code: 130}
	}
	return exitError{code: exitFailed}
}

func printEnd(st *engine.State, took time.Duration) {
	short := took.Round(time.Millisecond)
	switch st.Status {
	case engine.RunStatusSucceeded:
		fmt.Fprintf(stdout, "run %s succeeded in %s\n", st.ID, short)
		if st.Output != nil {
			b, _ := json.Marshal(st.Output)
			if len(b) > 400 {
				b = append(b[:400], "…"...)
			}
			fmt.Fprintf(stdout, "output: %s\n", b)
		}
	case engine.RunStatusWaiting:
		fmt.Fprintf(stdout, "run %s is waiting:\n", st.ID)
		worker := false // a wait that only a worker passing by resolves (a timer, a signal)
		for _, id := range st.StepIDs() {
			s := st.Steps[id]
			if s.Status != engine.StatusWaiting || s.Waiting == nil {
				continue
			}
			fmt.Fprintf(stdout, "  %s: %s\n", id, waitText(*s.Waiting))
			switch s.Waiting.Kind {
			case "approval":
				fmt.Fprintf(stdout, "    answer it: tandem approve %s %s [--comment TEXT] (or tandem reject %s %s)\n", st.ID, id, st.ID, id)
			case "sleep":
				worker = true
			default:
				if len(s.Waiting.Events) > 0 {
					fmt.Fprintf(stdout, "    send it: tandem signal %s %s, then tandem resume %s\n", st.ID, s.Waiting.Events[0], st.ID)
				}
				worker = true
			}
		}
		if worker {
			fmt.Fprintf(stdout, "it goes on when a worker advances it: tandem worker (or tandem resume %s)\n", st.ID)
		}
	case engine.RunStatusInterrupted:
		fmt.Fprintf(stdout, "run %s interrupted after %s; resume with: tandem resume %s\n", st.ID, short, st.ID)
	case engine.RunStatusPaused:
		fmt.Fprintf(stdout, "run %s is paused (%s)\n", st.ID, st.HoldReason)
		fmt.Fprintf(stdout, "go on with: tandem continue %s (or one step: tandem step %s)\n", st.ID, st.ID)
	default:
		fmt.Fprintf(stdout, "run %s %s after %s: %s\n", st.ID, st.Status, short, st.Error)
		if st.Status == engine.RunStatusFailed {
			for _, id := range st.StepIDs() {
				if st.Steps[id].Status == engine.StatusFailed && !strings.Contains(id, "[") {
					fmt.Fprintf(stdout, "retry with: tandem retry %s %s\n", st.ID, id)
					break
				}
			}
		}
	}
}

func runResume(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("resume", flag.ContinueOnError)
	var c common
	c.register(fs)
	c.registerParallel(fs)
	jsonOut := fs.Bool("json", false, "print the final run state as JSON")
	pos, err := interspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("usage: tandem resume RUN")
	}
	e, info, err := c.openRun(ctx, pos[0])
	if err != nil {
		return err
	}
	defer e.close()
	return execute(ctx, e, info.ID, *jsonOut, fmt.Sprintf("resume %s  %s", info.ID, info.FlowName))
}

func runRetry(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("retry", flag.ContinueOnError)
	var c common
	c.register(fs)
	c.registerParallel(fs)
	input := fs.String("input", "", "replace the step's templated input (command or prompt) for this attempt")
	reload := fs.Bool("reload", false, "go on with the flow file as it is now instead of as the run recorded it")
	jsonOut := fs.Bool("json", false, "print the final run state as JSON")
	pos, err := interspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 2 || (*reload && *input != "") {
		return usagef("usage: tandem retry RUN STEP [--input TEXT | --reload]")
	}
	e, info, err := c.openRun(ctx, pos[0])
	if err != nil {
		return err
	}
	defer e.close()
	if *reload {
		st, err := e.engine.State(ctx, info.ID)
		if err != nil {
			return err
		}
		f, err := flows.Load(st.Start.FlowPath)
		if err != nil {
			return usageError{fmt.Errorf("reload %s: %w", st.Start.FlowPath, err)}
		}
		if err := e.engine.RetryReloaded(ctx, info.ID, pos[1], f); err != nil {
			return usageError{err}
		}
	} else if err := e.engine.Retry(ctx, info.ID, pos[1], *input); err != nil {
		return usageError{err}
	}
	return execute(ctx, e, info.ID, *jsonOut, fmt.Sprintf("retry %s %s  %s", info.ID, pos[1], info.FlowName))
}

func runCancel(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("cancel", flag.ContinueOnError)
	var c common
	c.register(fs)
	pos, err := interspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("usage: tandem cancel RUN")
	}
	e, info, err := c.openRun(ctx, pos[0])
	if err != nil {
		return err
	}
	defer e.close()
	if err := e.engine.Cancel(ctx, info.ID); err != nil {
		return err
	}
	after, err := e.db.Run(ctx, info.ID)
	if err != nil {
		return err
	}
	if after.Status == engine.RunStatusCancelled {
		fmt.Fprintf(stdout, "run %s cancelled\n", info.ID)
	} else {
		fmt.Fprintf(stdout, "cancel requested: the process running %s stops it within a second\n", info.ID)
	}
	return nil
}
