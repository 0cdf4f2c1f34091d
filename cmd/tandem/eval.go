package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"

	"tandem/eval"
	"tandem/flows"
)

func init() {
	register(command{name: "eval", summary: "run an eval suite on an agent or flow; compare, show or resume eval runs", run: runEval})
}

const evalUsage = `usage: tandem eval SUITE.yaml [--model M]... [--repeat N] [--parallel K] [--json]
       tandem eval show RUN [--json]
       tandem eval resume RUN [--json]
       tandem eval compare RUN_A RUN_B [--json]`

func runEval(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("eval", flag.ContinueOnError)
	var c common
	c.register(fs)
	var models multiFlag
	fs.Var(&models, "model", "run every case on this model (repeatable; default: the suite's models)")
	repeat := fs.Int("repeat", 0, "runs per case and model (default: the suite's repeat)")
	parallel := fs.Int("parallel", 1, "cases run at once")
	work := fs.String("work", "", "directory for each run's fresh workspace copy (default: under the system temp dir)")
	jsonOut := fs.Bool("json", false, "print the results as JSON")
	junit := fs.String("junit", "", "also write the results as JUnit XML to this file")
	pos, err := interspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) == 0 {
		return usagef(evalUsage)
	}
	verb := pos[0]
	switch {
	case verb == "compare" && len(pos) == 3:
	case (verb == "show" || verb == "resume") && len(pos) == 2:
	case len(pos) == 1:
		verb = "run"
	default:
		return usagef(evalUsage)
	}
	var suite *eval.Suite
	if verb == "run" {
		// Validate before opening anything: a bad suite never half-runs.
		if suite, err = eval.Load(pos[0]); err != nil {
			var diags flows.Diagnostics
			if errors.As(err, &diags) {
				fmt.Fprintln(stderr, diags.Error())
				return exitError{code: exitUsage}
			}
			return usageError{err}
		}
	}
	e, err := c.open(ctx)
	if err != nil {
		return err
	}
	defer e.close()
	r := &eval.Runner{Engine: e.engine, Parallel: *parallel, WorkDir: *work, Progress: func(res eval.CellResult) {
		if *jsonOut {
			return
		}
		mark := "✓"
		if !res.Pass {
			mark = "✗"
		}
		fmt.Fprintf(stderr, "%s %s on %s, repeat %d: %d turns, %.1fs (run %s)\n", mark, res.Case, orDefaultModel(res.Model), res.Repeat, res.Turns, res.Seconds, res.RunID)
	}}
	var rep *eval.Report
	switch verb {
	case "compare":
		a, err := eval.LoadReport(ctx, e.engine, pos[1])
		if err != nil {
			return usageError{err}
		}
		b, err := eval.LoadReport(ctx, e.engine, pos[2])
		if err != nil {
			return usageError{err}
		}
		changes := eval.Compare(a, b)
		if *jsonOut {
			return printJSON(map[string]any{"a": a.RunID, "b": b.RunID, "changes": changes})
		}
		return eval.WriteCompare(stdout, a, b, changes)
	case "show":
		if rep, err = eval.LoadReport(ctx, e.engine, pos[1]); err != nil {
			return usageError{err}
		}
	case "resume":
		if rep, err = r.Resume(ctx, pos[1]); err != nil {
			return err
		}
	case "run":
		if rep, err = r.Start(ctx, suite, eval.Options{Models: models, Repeat: *repeat}); err != nil {
			return err
		}
	}
	if *junit != "" {
		if err := writeJUnit(*junit, rep); err != nil {
			return err
		}
	}
	if *jsonOut {
		err = printJSON(rep)
	} else {
		err = eval.WriteTable(stdout, rep)
	}
	if err != nil {
		return err
	}
	if rep.Failed() {
		return exitError{code: exitFailed}
	}
	return nil
}

func writeJUnit(path string, rep *eval.Report) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("write junit: %w", err)
	}
	if err := eval.WriteJUnit(f, rep); err != nil {
		_ = f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write junit: %w", err)
	}
	return nil
}

func orDefaultModel(m string) string {
	if m == "" {
		return "the default model"
	}
	return m
}
