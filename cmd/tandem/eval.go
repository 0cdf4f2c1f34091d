package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"tandem/eval"
	"tandem/flows"
)

const evalUsage = `usage: tandem eval SUITE.yaml [--model M]... [--repeat N] [--parallel K] [--json] [--junit FILE]
       tandem eval show RUN [--json]
       tandem eval resume RUN [--json]
       tandem eval compare RUN_A RUN_B [--json]`

func (a *app) evalCommand() *cobra.Command {
	var models []string
	var repeat, parallel int
	var work, junit string
	return a.command(spec{use: "eval SUITE.yaml [--model M] [--repeat N] [--parallel K] [--json]",
		short: "run an eval suite on an agent or flow; compare, show or resume eval runs",
		long:  evalUsage, args: func(n int) bool { return n >= 1 && n <= 3 }, json: "print the results as JSON", agent: true,
		complete: completeEval,
		flags: func(f *pflag.FlagSet) {
			f.StringArrayVar(&models, "model", nil, "run every case on this model (repeatable; default: the suite's models)")
			f.IntVar(&repeat, "repeat", 0, "runs per case and model (default: the suite's repeat)")
			f.IntVar(&parallel, "parallel", 1, "cases run at once")
			f.StringVar(&work, "work", "", "directory for each run's fresh workspace copy (default: under the system temp dir)")
			f.StringVar(&junit, "junit", "", "also write the results as JUnit XML to this file")
		},
		run: func(ctx context.Context, pos []string) error {
			return a.eval(ctx, pos, evalOptions{models: models, repeat: repeat, parallel: parallel, work: work, junit: junit})
		}})
}

// evalOptions are eval's own flags.
type evalOptions struct {
	models           []string
	repeat, parallel int
	work, junit      string
}

func (a *app) eval(ctx context.Context, pos []string, o evalOptions) error {
	var err error
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
	e, err := a.open(ctx)
	if err != nil {
		return err
	}
	defer e.close()
	r := &eval.Runner{Engine: e.engine, Parallel: o.parallel, WorkDir: o.work}
	stopProgress := func() {}
	if !a.json {
		p := newEvalProgress(os.Stderr, stderr)
		defer p.close() // also before the report below; closing twice is harmless
		r.Planned, r.Started, r.Progress = p.planned, p.started, p.finished
		stopProgress = p.close
	}
	var rep *eval.Report
	var unreachable *eval.UnreachableError // the model server was down: the report, then why
	switch verb {
	case "compare":
		ra, err := eval.LoadReport(ctx, e.engine, pos[1])
		if err != nil {
			return usageError{err}
		}
		rb, err := eval.LoadReport(ctx, e.engine, pos[2])
		if err != nil {
			return usageError{err}
		}
		changes := eval.Compare(ra, rb)
		if a.json {
			return printJSON(map[string]any{"a": ra.RunID, "b": rb.RunID, "changes": changes})
		}
		return eval.WriteCompare(stdout, ra, rb, changes)
	case "show":
		if rep, err = eval.LoadReport(ctx, e.engine, pos[1]); err != nil {
			return usageError{err}
		}
	case "resume":
		if rep, err = r.Resume(ctx, pos[1]); err != nil && !errors.As(err, &unreachable) {
			return err
		}
	case "run":
		if rep, err = r.Start(ctx, suite, eval.Options{Models: o.models, Repeat: o.repeat}); err != nil && !errors.As(err, &unreachable) {
			return err
		}
	}
	stopProgress()
	if o.junit != "" {
		if err := writeJUnit(o.junit, rep); err != nil {
			return err
		}
	}
	if a.json {
		err = printJSON(rep)
	} else {
		err = eval.WriteTable(stdout, rep)
	}
	if err != nil {
		return err
	}
	if unreachable != nil {
		return unreachable // one message after the table; exit 1
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

// onModel is " on M" for a cell's model, or "" when the cell names none (a flow's steps name
// their own; an agent without one runs on $TANDEM_MODEL, which its finished line names).
func onModel(m string) string {
	if m == "" {
		return ""
	}
	return " on " + m
}
