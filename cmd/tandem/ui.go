package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"

	tea "charm.land/bubbletea/v2"

	"tandem/engine"
	"tandem/ui"
)

func init() {
	register(command{name: "ui", summary: "open the workbench on the current directory", run: runUI})
}

func runUI(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("ui", flag.ContinueOnError)
	var c common
	c.register(fs)
	c.registerParallel(fs)
	fs.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: tandem [ui] [flags]")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	dir, err := os.Getwd()
	if err != nil {
		return err
	}
	e, err := c.open(ctx)
	if err != nil {
		return err
	}
	defer e.close()
	w := &engine.Worker{Engine: e.engine, OnError: func(id string, err error) {
		e.log.Error("advance run", "run", id, "err", err)
	}}
	m := ui.New(ui.Options{Engine: e.engine, Store: e.db, Dir: dir, Worker: w})
	final, err := tea.NewProgram(m, tea.WithContext(ctx)).Run()
	// Whatever ended the program, runs advanced here must record how they stopped.
	if fm, ok := final.(ui.Model); ok {
		fm.Shutdown()
	} else {
		m.Shutdown()
	}
	if err != nil && !errors.Is(err, tea.ErrProgramKilled) {
		return fmt.Errorf("run workbench: %w", err)
	}
	return nil
}
