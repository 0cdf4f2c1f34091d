package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"tandem/promote"
)

func init() {
	register(command{name: "promote", summary: "turn a successful agent run into a flow file", run: runPromote})
}

func runPromote(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("promote", flag.ContinueOnError)
	var c common
	c.register(fs)
	out := fs.String("out", "", "the flow file to write (default: AGENT-promoted.yaml beside the agent file; - prints it)")
	pos, err := interspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("usage: tandem promote RUN [--out FILE]")
	}
	e, info, err := c.openRun(ctx, pos[0])
	if err != nil {
		return err
	}
	defer e.close()
	path := *out
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
	if *out == "-" {
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
