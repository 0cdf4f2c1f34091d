package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"tandem/engine"
	"tandem/promote"
)

func (a *app) promoteCommand() *cobra.Command {
	var out string
	return a.command(spec{use: "promote RUN [--out FILE]", short: "turn a successful agent run into a flow file", complete: completeRun,
		flags: func(f *pflag.FlagSet) {
			f.StringVar(&out, "out", "", "the flow file to write (default: AGENT-promoted.yaml beside the agent file; - prints it)")
		},
		onRun: func(ctx context.Context, e *env, run engine.RunInfo, _ []string) error {
			return promoteRun(ctx, e, run, out)
		}})
}

func promoteRun(ctx context.Context, e *env, info engine.RunInfo, out string) error {
	var err error
	path := out
	if path == "" || path == "-" {
		_, _, _, a, err := promote.Agent(ctx, e.engine, info.ID)
		if err != nil {
			return promoteError(err)
		}
		if path == "" {
			path = filepath.Join(a.Dir, a.Name+"-promoted.yaml")
		} else {
			path = filepath.Join(a.Dir, "promoted.yaml") // paths are relative to the agent's directory
		}
	}
	if path, err = filepath.Abs(path); err != nil {
		return err
	}
	src, err := promote.Flow(ctx, e.engine, info.ID, path)
	if err != nil {
		return promoteError(err)
	}
	if out == "-" {
		_, err := os.Stdout.Write(src)
		return err
	}
	if _, err := os.Stat(path); err == nil {
		return usagef("promote: %s exists; choose another with --out", path)
	}
	if err := os.WriteFile(path, src, 0o644); err != nil {
		return fmt.Errorf("write promoted flow: %w", err)
	}
	fmt.Fprintf(stdout, "wrote %s (run it with: tandem run %s)\n", path, path)
	return nil
}

func promoteError(err error) error {
	if errors.Is(err, promote.ErrNotPromotable) {
		return usageError{err}
	}
	return err
}
