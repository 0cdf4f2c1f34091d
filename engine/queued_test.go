package engine_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"tandem/engine"
	"tandem/flows"
)

// TestARunStartedForTheWorkersIsQueuedUntilOneTakesIt starts a run queued (tandem run
// --detach): the run index and the folded log say queued, not running, until a worker's
// first step lists it running; then it runs to its end as any run.
func TestARunStartedForTheWorkersIsQueuedUntilOneTakesIt(t *testing.T) {
	onEveryStore(t, func(t *testing.T, open opener) {
		ctx := context.Background()
		e := process(t, open(t), engine.RealClock, "starter")
		f := twoStepFlow(t)
		id, err := e.Start(ctx, f, map[string]any{}, engine.StartOptions{Queued: true})
		must(t, err)

		info, err := e.Store().Run(ctx, id)
		must(t, err)
		st, err := e.State(ctx, id)
		must(t, err)
		if info.Status != engine.RunStatusQueued || st.Status != engine.RunStatusQueued {
			t.Fatalf("a run no worker took is listed %s and folds to %s, want queued", info.Status, st.Status)
		}
		listed, err := e.Store().Runs(ctx, engine.RunQuery{Status: []engine.RunStatus{engine.RunStatusQueued}})
		must(t, err)
		if len(listed) != 1 || listed[0].ID != id {
			t.Fatalf("runs --status queued lists %+v", listed)
		}

		must(t, (&engine.Worker{Engine: e}).UntilIdle(ctx))
		if st, err = e.State(ctx, id); err != nil || st.Status != engine.RunStatusSucceeded || st.Steps["b"].Output != "b" {
			t.Fatalf("after a worker pass: %v, %+v", err, st)
		}
		if info, _ = e.Store().Run(ctx, id); info.Status != engine.RunStatusSucceeded {
			t.Errorf("the run index says %s", info.Status)
		}
		events, err := e.Store().Events(ctx, id, 0)
		must(t, err)
		if len(events) < 3 || events[1].Type != engine.RunResumed || events[2].Type != engine.StepStarted {
			t.Errorf("the worker's first write is not the resume before its first step: %v", events[:min(3, len(events))])
		}
	})
}

// TestAForkForTheWorkersIsQueuedUntilOneTakesIt forks a finished run detached (tandem fork
// --detach): once its reused outputs are committed it is queued, not running, and a worker
// runs only the fork step and what follows it.
func TestAForkForTheWorkersIsQueuedUntilOneTakesIt(t *testing.T) {
	onEveryStore(t, func(t *testing.T, open opener) {
		ctx := context.Background()
		e := process(t, open(t), engine.RealClock, "starter")
		f := twoStepFlow(t)
		src, err := e.Start(ctx, f, map[string]any{}, engine.StartOptions{})
		must(t, err)
		must(t, (&engine.Worker{Engine: e}).UntilIdle(ctx))

		id, err := e.Fork(ctx, src, "b", engine.ForkOptions{Queued: true})
		must(t, err)
		info, err := e.Store().Run(ctx, id)
		must(t, err)
		st, err := e.State(ctx, id)
		must(t, err)
		if info.Status != engine.RunStatusQueued || st.Status != engine.RunStatusQueued {
			t.Fatalf("a fork no worker took is listed %s and folds to %s, want queued", info.Status, st.Status)
		}
		must(t, (&engine.Worker{Engine: e}).UntilIdle(ctx))
		st, err = e.State(ctx, id)
		must(t, err)
		if st.Status != engine.RunStatusSucceeded || st.Steps["a"].ReusedFrom != src || st.Steps["b"].Output != "b" {
			t.Fatalf("after a worker pass: %+v", st)
		}
	})
}

// twoStepFlow is a flow of two shell steps, b after a.
func twoStepFlow(t *testing.T) *flows.Flow {
	path := filepath.Join(t.TempDir(), "q.yaml")
	must(t, os.WriteFile(path, []byte("name: q\nsteps:\n  - id: a\n    shell: echo a\n  - id: b\n    needs: [a]\n    shell: echo b\n"), 0o644))
	f, err := flows.Load(path)
	must(t, err)
	return f
}
