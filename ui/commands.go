package ui

import (
	"context"
	"fmt"
	"sync"
	"time"

	tea "charm.land/bubbletea/v2"

	"tandem/engine"
	"tandem/flows"
)

// Every engine and store call of the workbench happens in one of these commands, never in
// Update. Commands return messages; they never touch the model.

// Store is what the workbench reads from persistence; store.DB implements it. When it also
// implements engine.Tail, runs written by other processes are followed by polling the log.
type Store interface {
	Runs(ctx context.Context, q engine.RunQuery) ([]engine.RunInfo, error)
	Events(ctx context.Context, runID string, after int64) ([]engine.Event, error)
}

// pollEvery is how often the log is read for runs other processes advance.
const pollEvery = 500 * time.Millisecond

// frameEvery animates spinners and running durations.
const frameEvery = 150 * time.Millisecond

type (
	noticesMsg  struct{ notices []engine.Notice }
	pollTickMsg struct{}
	tailMsg     struct {
		events []engine.Event
		err    error
	}
	runsMsg struct {
		runs  []engine.RunInfo
		more  bool // the listing was cut at its limit: older runs may follow
		after bool // a next page, to append, not the newest runs
		err   error
	}
	runLoadedMsg struct {
		runID  string
		flow   *flows.Flow
		events []engine.Event
		err    error
	}
	runStartedMsg struct {
		runID string
		note  string // what the status bar says; "started run <id>" when empty
		err   error
	}
	execDoneMsg struct {
		runID     string
		err       error
		elsewhere bool             // another process advances the run and applies what was asked
		status    engine.RunStatus // how the run stands after advancing here ("" when not)
	}
	infoMsg struct {
		text string
		err  error
	}
	frameTickMsg struct{ now time.Time }
	quitReadyMsg struct{}
)

// waitNotices is the one adapter from the engine's bus to the UI: it waits for the
// subscription to have notices and returns them all; the app issues it again after each.
func waitNotices(sub *engine.Subscription, stop <-chan struct{}) tea.Cmd {
	return func() tea.Msg {
		select {
		case <-sub.Ready():
			return noticesMsg{notices: sub.Next()}
		case <-stop:
			return nil
		}
	}
}

func (m Model) pollTick() tea.Cmd {
	return m.opts.Tick(pollEvery, func(time.Time) tea.Msg { return pollTickMsg{} })
}

func (m Model) frameTick() tea.Cmd {
	return m.opts.Tick(frameEvery, func(t time.Time) tea.Msg { return frameTickMsg{now: t} })
}

// waitNotices waits for the engine's next notices, unless the caller feeds them itself.
func (m Model) waitNotices() tea.Cmd {
	if m.sub == nil || m.opts.ManualNotices {
		return nil
	}
	return waitNotices(m.sub, m.exec.stop)
}

// tailLog reads every run's events after seq.
func tailLog(t engine.Tail, seq int64) tea.Cmd {
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		evs, err := t.EventsSince(ctx, seq, 2000)
		return tailMsg{events: evs, err: err}
	}
}

// runsPage is how many runs the sidebar reads at a time: it pages through older runs as the
// cursor reaches the end instead of reading every run at start-up.
const runsPage = 100

// loadRuns reads the newest limit top-level runs.
func loadRuns(s Store, limit int) tea.Cmd {
	limit = max(limit, runsPage)
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		runs, err := s.Runs(ctx, engine.RunQuery{TopLevel: true, Limit: limit})
		return runsMsg{runs: runs, more: len(runs) == limit, err: err}
	}
}

// appendNewRuns appends a next page to the runs listed, leaving out runs already there (a
// reload that raced with the page may have listed them).
func appendNewRuns(runs, page []engine.RunInfo) []engine.RunInfo {
	seen := make(map[string]bool, len(runs))
	for _, r := range runs {
		seen[r.ID] = true
	}
	out := append([]engine.RunInfo(nil), runs...)
	for _, r := range page {
		if !seen[r.ID] {
			out = append(out, r)
		}
	}
	return out
}

// loadMoreRuns reads the page of top-level runs older than after.
func loadMoreRuns(s Store, after engine.RunCursor) tea.Cmd {
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		runs, err := s.Runs(ctx, engine.RunQuery{TopLevel: true, Limit: runsPage, After: after})
		return runsMsg{runs: runs, more: len(runs) == runsPage, after: true, err: err}
	}
}

// loadRun reads a run's log and the flow it started with.
func loadRun(s Store, runID string) tea.Cmd {
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		evs, err := s.Events(ctx, runID, 0)
		if err != nil {
			return runLoadedMsg{runID: runID, err: fmt.Errorf("load run %s: %w", runID, err)}
		}
		st := engine.Fold(evs)
		f, perr := flows.Parse(st.Start.FlowPath, []byte(st.Start.Source))
		if perr != nil || f == nil {
			f = flowFromState(st)
		}
		return runLoadedMsg{runID: runID, flow: f, events: evs}
	}
}

// flowFromState stands in for a run's flow when its source no longer parses: its steps, no
// edges.
func flowFromState(st *engine.State) *flows.Flow {
	f := &flows.Flow{Name: st.Start.FlowName, Path: st.Start.FlowPath}
	for _, id := range st.StepIDs() {
		if s := st.Steps[id]; s.Parent == "" {
			f.Steps = append(f.Steps, &flows.Step{ID: id})
		}
	}
	return f
}

// executions owns the goroutines that advance runs in this process: each gets a context
// that ends when the workbench quits, and quitting waits for them, so running steps are
// recorded as interrupted rather than lost.
type executions struct {
	stop     chan struct{}
	stopOnce sync.Once
	wg       sync.WaitGroup
}

func newExecutions() *executions { return &executions{stop: make(chan struct{})} }

// run returns a command that calls fn with a context cancelled at shutdown. The wait group
// is counted here, in Update, so a shutdown that starts before the command runs still waits.
func (x *executions) run(fn func(ctx context.Context) tea.Msg) tea.Cmd {
	select {
	case <-x.stop:
		return nil
	default:
	}
	x.wg.Add(1)
	return func() tea.Msg {
		defer x.wg.Done()
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		go func() {
			select {
			case <-x.stop:
				cancel()
			case <-ctx.Done():
			}
		}()
		return fn(ctx)
	}
}

// cancel cancels every execution without waiting for them.
func (x *executions) cancel() { x.stopOnce.Do(func() { close(x.stop) }) }

// shutdown cancels every execution and waits for them to record how they ended.
func (x *executions) shutdown() {
	x.cancel()
	x.wg.Wait()
}

// startRun starts a run of f with inputs resolved by flows.ResolveInputs.
func startRun(x *executions, e *engine.Engine, f *flows.Flow, inputs map[string]any, breaks []string) tea.Cmd {
	return x.run(func(ctx context.Context) tea.Msg {
		id, err := e.Start(ctx, f, inputs, engine.StartOptions{Breakpoints: breaks})
		return runStartedMsg{runID: id, err: err}
	})
}

// executeRun advances a run here, or leaves it to the process that already does.
func executeRun(x *executions, e *engine.Engine, runID string) tea.Cmd {
	return x.run(func(ctx context.Context) tea.Msg { return advanceAfter(ctx, e, runID) })
}

// retryStep re-opens a step and advances the run; a non-empty input replaces the step's
// templated input (its command or prompt) for the next attempt.
func retryStep(x *executions, e *engine.Engine, runID, stepID, input string) tea.Cmd {
	return x.run(func(ctx context.Context) tea.Msg {
		if err := e.Retry(ctx, runID, stepID, input); err != nil {
			return execDoneMsg{runID: runID, err: fmt.Errorf("retry %s: %w", stepID, err)}
		}
		return advanceAfter(ctx, e, runID)
	})
}

// retryReloaded retries a step with the flow file as it is now and advances the run.
func retryReloaded(x *executions, e *engine.Engine, runID, stepID string, f *flows.Flow) tea.Cmd {
	return x.run(func(ctx context.Context) tea.Msg {
		if err := e.RetryReloaded(ctx, runID, stepID, f); err != nil {
			return execDoneMsg{runID: runID, err: err}
		}
		return advanceAfter(ctx, e, runID)
	})
}

func cancelRun(x *executions, e *engine.Engine, runID string) tea.Cmd {
	return x.run(func(ctx context.Context) tea.Msg {
		if err := e.Cancel(ctx, runID); err != nil {
			return infoMsg{err: fmt.Errorf("cancel %s: %w", runID, err)}
		}
		return infoMsg{text: "cancel requested for " + runID}
	})
}

// approve answers a waiting approval step (approved or not, by who, with a comment) and
// advances the run.
func approve(x *executions, e *engine.Engine, runID, stepID string, approved bool, who, comment string) tea.Cmd {
	return x.run(func(ctx context.Context) tea.Msg {
		decide := e.Reject
		if approved {
			decide = e.Approve
		}
		if err := decide(ctx, runID, stepID, who, comment); err != nil {
			return execDoneMsg{runID: runID, err: err}
		}
		return advanceAfter(ctx, e, runID)
	})
}

func runWorker(x *executions, w *engine.Worker) tea.Cmd {
	return x.run(func(ctx context.Context) tea.Msg {
		if err := w.Run(ctx, 2*time.Second); err != nil && ctx.Err() == nil {
			return infoMsg{err: fmt.Errorf("worker: %w", err)}
		}
		return nil
	})
}
