package engine

import (
	"context"
	"errors"

	"tandem/flows"
)

// Executor runs one kind of step.
type Executor interface {
	// Prepare renders the step's templated input (a command, argv, prompt, sub-flow inputs)
	// from the run's data. The result is recorded with the attempt and shown in step detail.
	Prepare(s *flows.Step, data map[string]any) (string, error)
	// Execute runs one attempt. It must return when ctx is done.
	Execute(ctx context.Context, x *StepRun) (Result, error)
}

// StepRun is what an executor gets for one attempt.
type StepRun struct {
	RunID   string
	StepID  string // "each[3]" for map children
	Attempt int
	Key     string // idempotency key run/step/attempt
	// Resumed is set when this attempt runs again an attempt a crash or a stop cut short:
	// what that attempt left running must be gone first.
	Resumed bool
	Step    *flows.Step
	Flow    *flows.Flow
	Input   string         // from Prepare, or a person's edited input on retry
	Data    map[string]any // template data
	// Emit sends live output (stream stdout, stderr, content or thinking); it reaches
	// observers at once and the log in batches.
	Emit func(stream, text string)
	// Trace records a structured trace record (a turn, a tool call, usage) in the log.
	Trace func(kind string, data any)
}

// Result is a finished attempt.
type Result struct {
	Output     string
	ExitCode   *int
	StderrTail string
	Tokens     *Tokens
	// Park, when set, means the step now waits (for an event, a timer or a person).
	Park *StepWaitingData
}

// PermanentError marks a step error that retrying cannot fix (a template error, a bad
// argument); the engine fails the step without further attempts.
type PermanentError struct{ Err error }

func (e *PermanentError) Error() string { return e.Err.Error() }
func (e *PermanentError) Unwrap() error { return e.Err }

// Permanent wraps err as a PermanentError.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &PermanentError{Err: err}
}

// IsPermanent reports whether err is marked permanent.
func IsPermanent(err error) bool {
	var p *PermanentError
	return errors.As(err, &p)
}

// ExitError is returned by executors whose command exited non-zero.
type ExitError struct {
	Code int
}

func (e *ExitError) Error() string { return "exit status " + itoa(e.Code) }
