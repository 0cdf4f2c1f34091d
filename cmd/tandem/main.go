// Command tandem is the composition root: it parses flags, wires the store, the engine, the
// model client and the UI together, and maps results to exit codes.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"charm.land/fang/v2"
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

	root := newRoot()
	root.SetArgs(args)
	err := fang.Execute(ctx, root, fang.WithErrorHandler(printError), fang.WithoutManpage(),
		fang.WithColorSchemeFunc(helpColors))
	return exitCode(err)
}

// printError prints a failed command's error the way tandem always has: one line on stderr,
// "tandem: " first. An exitError has said what it had to already.
func printError(w io.Writer, _ fang.Styles, err error) {
	var ee exitError
	if errors.As(err, &ee) {
		return
	}
	fmt.Fprintf(termSafe{w}, "tandem: %v\n", err)
	if isUsage(err) && !errors.As(err, new(usageError)) {
		fmt.Fprintln(termSafe{w}, "see tandem --help (or tandem COMMAND --help)")
	}
}

func exitCode(err error) int {
	if err == nil {
		return exitOK
	}
	var ee exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	if isUsage(err) {
		return exitUsage
	}
	return exitFailed
}

// isUsage reports whether err is the caller's mistake: a usageError, or cobra's own word
// for an unknown command (its flag errors are usageErrors already, see newRoot).
func isUsage(err error) bool {
	var ue usageError
	return errors.As(err, &ue) || strings.HasPrefix(err.Error(), "unknown command ")
}
