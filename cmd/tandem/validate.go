package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"tandem/eval"
	"tandem/flows"
)

// fileCommands check flow files and write the example workspace.
func (a *app) fileCommands() []*cobra.Command {
	return []*cobra.Command{
		a.command(spec{use: "validate FILE...", short: "check flow and agent files; report file:line:col problems",
			args: atLeastOne, json: "print problems as JSON", complete: completeFlowFile,
			run: func(_ context.Context, pos []string) error { return a.validate(pos) }}),
		a.command(spec{use: "init [DIR]", short: "write the example workspace (flows, agents, data) into DIR to start from",
			long: "DIR defaults to the current directory.", args: func(n int) bool { return n <= 1 }, complete: completeDir,
			run: func(_ context.Context, pos []string) error { return runInit(pos) }}),
	}
}

func (a *app) validate(pos []string) error {
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
					if !a.json {
						fmt.Fprintln(stderr, d.Error())
					}
				}
				errorsFound = true
			case err != nil:
				return err
			case !a.json:
				fmt.Fprintf(stdout, "%s: ok (eval suite %s, %d cases)\n", path, s.Name, len(s.Cases))
			}
			continue
		}
		f, ag, err := flows.LoadAny(path)
		var diags flows.Diagnostics
		switch {
		case errors.As(err, &diags):
			for _, d := range diags {
				problems = append(problems, problem{d.File, d.Pos.Line, d.Pos.Col, d.Msg, "error"})
				errorsFound = true
				if !a.json {
					fmt.Fprintln(stderr, d.Error())
				}
			}
		case err != nil:
			problems = append(problems, problem{path, 1, 1, err.Error(), "error"})
			errorsFound = true
			if !a.json {
				fmt.Fprintf(stderr, "%s:1:1: %v\n", path, err)
			}
		case f != nil && len(f.Warnings) > 0:
			for _, d := range f.Warnings {
				problems = append(problems, problem{d.File, d.Pos.Line, d.Pos.Col, d.Msg, "warning"})
				if !a.json {
					fmt.Fprintf(stderr, "%s:%d:%d: warning: %s\n", d.File, d.Pos.Line, d.Pos.Col, d.Msg)
				}
			}
			if !a.json {
				fmt.Fprintf(stdout, "%s: ok with %d warning(s) (flow %s, %s)\n", path, len(f.Warnings), f.Name, count(len(f.Steps), "step"))
			}
		case a.json:
		case f != nil:
			fmt.Fprintf(stdout, "%s: ok (flow %s, %s)\n", path, f.Name, count(len(f.Steps), "step"))
		case ag != nil:
			fmt.Fprintf(stdout, "%s: ok (agent %s, %s)\n", path, ag.Name, count(len(ag.Tools), "tool"))
		}
	}
	if a.json {
		if err := printJSON(problems); err != nil {
			return err
		}
	}
	if errorsFound {
		return exitError{code: exitUsage}
	}
	return nil
}

// count is "1 step" or "N steps".
func count(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
