package main

import (
	"context"
	"errors"
	"flag"
	"fmt"

	"tandem/eval"
	"tandem/flows"
)

func init() {
	register(command{name: "validate", summary: "check flow and agent files; report file:line:col problems", run: runValidate})
}

func runValidate(_ context.Context, args []string) error {
	fs := flag.NewFlagSet("validate", flag.ContinueOnError)
	jsonOut := fs.Bool("json", false, "print problems as JSON")
	pos, err := interspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) == 0 {
		return usagef("usage: tandem validate FILE...")
	}
	type problem struct {
		File    string `json:"file"`
		Line    int    `json:"line"`
		Col     int    `json:"col"`
		Message string `json:"message"`
		// Severity is "error" (the file will not run) or "warning" (it runs, but probably
		// not as meant).
		Severity string `json:"severity"`
	}
	problems := []problem{}
	errorsFound := false
	for _, path := range pos {
		if eval.IsSuite(path) {
			s, err := eval.Load(path)
			var diags flows.Diagnostics
			switch {
			case errors.As(err, &diags):
				for _, d := range diags {
					problems = append(problems, problem{d.File, d.Pos.Line, d.Pos.Col, d.Msg, "error"})
					if !*jsonOut {
						fmt.Fprintln(stderr, d.Error())
					}
				}
				errorsFound = true
			case err != nil:
				return err
			case !*jsonOut:
				fmt.Fprintf(stdout, "%s: ok (eval suite %s, %d cases)\n", path, s.Name, len(s.Cases))
			}
			continue
		}
		f, a, err := flows.LoadAny(path)
		var diags flows.Diagnostics
		switch {
		case errors.As(err, &diags):
			for _, d := range diags {
				problems = append(problems, problem{d.File, d.Pos.Line, d.Pos.Col, d.Msg, "error"})
				errorsFound = true
				if !*jsonOut {
					fmt.Fprintln(stderr, d.Error())
				}
			}
		case err != nil:
			problems = append(problems, problem{path, 1, 1, err.Error(), "error"})
			errorsFound = true
			if !*jsonOut {
				fmt.Fprintf(stderr, "%s:1:1: %v\n", path, err)
			}
		case f != nil && len(f.Warnings) > 0:
			for _, d := range f.Warnings {
				problems = append(problems, problem{d.File, d.Pos.Line, d.Pos.Col, d.Msg, "warning"})
				if !*jsonOut {
					fmt.Fprintf(stderr, "%s:%d:%d: warning: %s\n", d.File, d.Pos.Line, d.Pos.Col, d.Msg)
				}
			}
			if !*jsonOut {
				fmt.Fprintf(stdout, "%s: ok with %d warning(s) (flow %s, %d steps)\n", path, len(f.Warnings), f.Name, len(f.Steps))
			}
		case *jsonOut:
		case f != nil:
			fmt.Fprintf(stdout, "%s: ok (flow %s, %d steps)\n", path, f.Name, len(f.Steps))
		case a != nil:
			fmt.Fprintf(stdout, "%s: ok (agent %s, %d tools)\n", path, a.Name, len(a.Tools))
		}
	}
	if *jsonOut {
		if err := printJSON(problems); err != nil {
			return err
		}
	}
	if errorsFound {
		return exitError{code: exitUsage}
	}
	return nil
}
