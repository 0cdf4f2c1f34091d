// Command tandem is the composition root: it parses flags, wires the store, the engine, the
// model client and the UI together, and maps results to exit codes.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"sort"
	"syscall"
)

// Exit codes shared by every command.
const (
	exitOK      = 0
	exitFailed  = 1 // the run (or check) failed
	exitUsage   = 2 // usage or validation error
	exitUnknown = 3
)

// usageError marks an error as the caller's mistake (exit code 2).
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error { return usageError{fmt.Errorf(format, args...)} }

// exitError carries a specific exit code with an optional message already printed.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit %d", e.code) }

// command is one CLI verb. Commands register themselves in init functions of their own files.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string) error
}

var commands = map[string]command{}

func register(c command) { commands[c.name] = c }

func main() {
	os.Exit(mainCode(os.Args[1:]))
}

func mainCode(args []string) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// A closed stdout (tandem run f.yaml | head -1) must not kill a process advancing a run:
	// with SIGPIPE handled, writes to it fail and the run goes on. Handled, not ignored, so
	// step processes still start with the default action.
	signal.Notify(make(chan os.Signal, 1), syscall.SIGPIPE)

	name := "ui"
	if len(args) > 0 {
		name, args = args[0], args[1:]
	}
	if name == "-h" || name == "--help" || name == "help" {
		printUsage()
		return exitOK
	}
	cmd, ok := commands[name]
	if !ok {
		fmt.Fprintf(stderr, "tandem: unknown command %q\n\n", name)
		printUsage()
		return exitUsage
	}
	err := cmd.run(ctx, args)
	return exitCode(err)
}

func exitCode(err error) int {
	if err == nil {
		return exitOK
	}
	var ee exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	fmt.Fprintf(stderr, "tandem: %v\n", err)
	var ue usageError
	if errors.As(err, &ue) {
		return exitUsage
	}
	return exitFailed
}

func printUsage() {
	fmt.Fprintln(stderr, "tandem: a terminal workbench for durable flows and local agents")
	fmt.Fprintln(stderr, "\nusage: tandem [command] [flags]   (no command opens the workbench)")
	fmt.Fprintln(stderr, "\ncommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(stderr, "  %-10s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(stderr, "\nrun 'tandem COMMAND -h' for a command's flags")
}
