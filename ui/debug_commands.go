package ui

import (
	"context"
	"fmt"
	"time"

	tea "charm.land/bubbletea/v2"

	"tandem/engine"
)

// The debug controls' engine calls: pause, continue, step once, breakpoints, skip, fork,
// signals and run diffs. Like commands.go, each runs in a tea.Cmd and reports back with a
// message; none touches the model.

// runDiffMsg carries the two runs a run diff compares, read from the store.
type runDiffMsg struct {
	a, b   string
	rows   []engine.StepDiff
	inputs []engine.InputDiff
	err    error
}

// advanceAfter advances a run after a control (engine.Engine.Advance). When another process
// holds the run, that process applies the control: it reads the log again after it parks, so
// nothing here needs to wait or retry.
func advanceAfter(ctx context.Context, e *engine.Engine, runID string) tea.Msg {
	st, elsewhere, err := e.Advance(ctx, runID)
	msg := execDoneMsg{runID: runID, err: err, elsewhere: elsewhere}
	if st != nil {
		msg.status = st.Status
	}
	return msg
}

// pauseRun holds a run: running steps finish and nothing new starts. Whoever advances the
// run parks it, so there is nothing to execute here.
func pauseRun(x *executions, e *engine.Engine, runID string) tea.Cmd {
	return x.run(func(ctx context.Context) tea.Msg {
		if err := e.Pause(ctx, runID); err != nil {
			return infoMsg{err: err}
		}
		return infoMsg{text: "pausing " + runID + ": running steps finish, nothing new starts (p continues)"}
	})
}

// continueRun lifts a pause or the breakpoint a run stopped at and advances it.
func continueRun(x *executions, e *engine.Engine, runID string) tea.Cmd {
	return x.run(func(ctx context.Context) tea.Msg {
		if err := e.Continue(ctx, runID); err != nil {
			return infoMsg{err: err}
		}
		return advanceAfter(ctx, e, runID)
	})
}

// stepRun lets exactly one more ready step start, then holds the run again.
func stepRun(x *executions, e *engine.Engine, runID string) tea.Cmd {
	return x.run(func(ctx context.Context) tea.Msg {
		if err := e.StepOnce(ctx, runID); err != nil {
			return infoMsg{err: err}
		}
		return advanceAfter(ctx, e, runID)
	})
}

// setBreakpoint sets (on) or clears the breakpoint before a step.
func setBreakpoint(x *executions, e *engine.Engine, runID, stepID string, on bool) tea.Cmd {
	return x.run(func(ctx context.Context) tea.Msg {
		if err := e.SetBreakpoint(ctx, runID, stepID, on); err != nil {
			return infoMsg{err: err}
		}
		if on {
			return infoMsg{text: "breakpoint set before " + stepID}
		}
		return infoMsg{text: "breakpoint cleared at " + stepID}
	})
}

// skipStep completes a step with output typed by hand and advances the run.
func skipStep(x *executions, e *engine.Engine, runID, stepID, output string) tea.Cmd {
	return x.run(func(ctx context.Context) tea.Msg {
		if err := e.Skip(ctx, runID, stepID, output); err != nil {
			return infoMsg{err: err}
		}
		return advanceAfter(ctx, e, runID)
	})
}

// forkRun starts a new run from a step with inputs changed, reusing the outputs of the steps
// before it that the change does not touch (engine.ForkRerun); the app
// opens and executes it as it does a started run.
func forkRun(x *executions, e *engine.Engine, runID, stepID string, inputs map[string]any) tea.Cmd {
	return x.run(func(ctx context.Context) tea.Msg {
		id, err := e.Fork(ctx, runID, stepID, engine.ForkOptions{Inputs: inputs})
		if err != nil {
			return runStartedMsg{err: err}
		}
		return runStartedMsg{runID: id, note: fmt.Sprintf("forked run %s from %s at %s", id, runID, stepID)}
	})
}

// signalRun sends an external event with optional JSON data to a run and advances it, so a
// step waiting for the event resolves.
func signalRun(x *executions, e *engine.Engine, runID, event string, data []byte) tea.Cmd {
	return x.run(func(ctx context.Context) tea.Msg {
		if err := e.Signal(ctx, runID, event, data); err != nil {
			return infoMsg{err: err}
		}
		return advanceAfter(ctx, e, runID)
	})
}

// loadRunDiff reads two runs and compares them step by step.
func loadRunDiff(s Store, a, b string) tea.Cmd {
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		var states [2]*engine.State
		for i, id := range []string{a, b} {
			evs, err := s.Events(ctx, id, 0)
			if err != nil {
				return runDiffMsg{a: a, b: b, err: fmt.Errorf("load run %s: %w", id, err)}
			}
			if len(evs) == 0 {
				return runDiffMsg{a: a, b: b, err: fmt.Errorf("load run %s: %w", id, engine.ErrRunNotFound)}
			}
			states[i] = engine.Fold(evs)
		}
		return runDiffMsg{a: a, b: b, rows: engine.DiffRuns(states[0], states[1]), inputs: engine.DiffInputs(states[0], states[1])}
	}
}
