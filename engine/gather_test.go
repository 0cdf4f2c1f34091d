package engine_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"tandem/engine"
	"tandem/flows"
)

// gated is a shell executor whose attempts each wait for the test to release them, and say
// when they have started and when they have returned.
type gated struct {
	release  map[string]chan struct{}
	started  chan string
	returned chan string
}

func (g *gated) Prepare(s *flows.Step, _ map[string]any) (string, error) { return s.Shell, nil }

func (g *gated) Execute(ctx context.Context, x *engine.StepRun) (engine.Result, error) {
	g.started <- x.StepID
	select {
	case <-g.release[x.StepID]:
	case <-ctx.Done():
		return engine.Result{}, ctx.Err()
	}
	defer func() { g.returned <- x.StepID }()
	return engine.Result{Output: x.StepID}, nil
}

// slowStartStore records the steps each fenced commit finishes, and makes the commit that
// starts steps take a while, as a slow disk would: the loop's gathering window is as long as
// the commit before it.
type slowStartStore struct {
	engine.Store
	mu       sync.Mutex
	finished [][]string
}

func (s *slowStartStore) AppendFenced(ctx context.Context, l engine.Lease, evs []engine.Event) error {
	var done []string
	starts := false
	for _, ev := range evs {
		switch ev.Type {
		case engine.StepSucceeded:
			done = append(done, ev.StepID)
		case engine.StepStarted:
			starts = true
		}
	}
	if starts {
		time.Sleep(300 * time.Millisecond) // the slow disk, not a synchronisation
	}
	if err := s.Store.AppendFenced(ctx, l, evs); err != nil {
		return err
	}
	if len(done) > 0 {
		s.mu.Lock()
		s.finished = append(s.finished, done)
		s.mu.Unlock()
	}
	return nil
}

// Two parallel steps that finish one after the other, within the time a commit takes, share
// one commit (one fsync at FULL) instead of paying one each.
func TestParallelStepsThatFinishCloseTogetherShareACommit(t *testing.T) {
	defer engine.SetMaxGather(engine.SetMaxGather(time.Minute))
	onEveryStore(t, func(t *testing.T, open opener) {
		s := &slowStartStore{Store: open(t)}
		e, err := engine.New(engine.Options{Store: s, Parallel: 4})
		if err != nil {
			t.Fatal(err)
		}
		g := &gated{release: map[string]chan struct{}{"a": make(chan struct{}), "b": make(chan struct{}), "c": make(chan struct{})},
			started: make(chan string, 3), returned: make(chan string, 3)}
		e.Register(flows.KindShell, g)
		h := &harness{t: t, dir: t.TempDir(), store: s, eng: e}
		f := h.flow("f.yaml", "name: three\nsteps:\n  - id: a\n    shell: a\n  - id: b\n    shell: b\n  - id: c\n    shell: c\n")
		done := make(chan *engine.State, 1)
		go func() { done <- h.run(f, nil) }()
		for range 3 {
			<-g.started
		}
		// a returns first; b is released only once a has handed its result back, so a loop
		// that commits at the first result commits a alone.
		close(g.release["a"])
		<-g.returned
		close(g.release["b"])
		<-g.returned
		close(g.release["c"])
		st := <-done
		if st.Status != engine.RunStatusSucceeded {
			t.Fatalf("run %s: %s", st.Status, st.Error)
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		// c may make the first commit too (it is released once b returns), but a must not
		// have been committed alone.
		if len(s.finished) == 0 || !slices.Contains(s.finished[0], "a") || !slices.Contains(s.finished[0], "b") {
			t.Fatalf("commits finished %v; want a and b in the first", s.finished)
		}
	})
}
