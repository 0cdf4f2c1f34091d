package engine_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"tandem/engine"
)

// parkHook is a store that runs meanwhile once, just before the advancing process commits
// the event that parks the run (typ): another process's request lands in that instant.
type parkHook struct {
	engine.Store
	typ       engine.EventType
	meanwhile func()
	once      sync.Once
}

func (p *parkHook) AppendFenced(ctx context.Context, l engine.Lease, events []engine.Event) error {
	for _, e := range events {
		if e.Type == p.typ {
			p.once.Do(p.meanwhile)
		}
	}
	return p.Store.AppendFenced(ctx, l, events)
}

func TestARequestAppendedWhileTheRunParksIsNotLost(t *testing.T) {
	approve, _ := json.Marshal(engine.ApprovalData{Approved: true, Who: "test", When: time.Now().UTC()})
	tests := []struct {
		name    string
		flow    string
		before  func(ctx context.Context, e *engine.Engine, id string) error // before the run is advanced
		parks   engine.EventType
		request func(ctx context.Context, e *engine.Engine, id string) error
	}{
		{
			name:    "a continue while the run parks paused",
			flow:    "name: p\nsteps:\n  - id: a\n    shell: echo a\n  - id: b\n    needs: [a]\n    shell: echo b\n",
			before:  func(ctx context.Context, e *engine.Engine, id string) error { return e.Pause(ctx, id) },
			parks:   engine.RunPaused,
			request: func(ctx context.Context, e *engine.Engine, id string) error { return e.Continue(ctx, id) },
		},
		{
			name:   "an approval while the run parks waiting for it",
			flow:   "name: w\nsteps:\n  - id: review\n    approval: { prompt: ok }\n  - id: publish\n    needs: [review]\n    shell: echo published\n",
			before: func(context.Context, *engine.Engine, string) error { return nil },
			parks:  engine.RunWaiting,
			request: func(ctx context.Context, e *engine.Engine, id string) error {
				return e.Signal(ctx, id, engine.ApprovalEvent("review"), approve)
			},
		},
	}
	for _, sc := range stores {
		for _, tt := range tests {
			t.Run(sc.Name+": "+tt.name, func(t *testing.T) {
				ctx := context.Background()
				hook := &parkHook{Store: sc.Open(t), typ: tt.parks}
				runner := process(t, hook, engine.RealClock, "runner")
				other := process(t, hook, engine.RealClock, "other")
				id := startRun(t, runner, t.TempDir(), tt.flow, nil)
				must(t, tt.before(ctx, other, id))
				hook.meanwhile = func() {
					must(t, tt.request(ctx, other, id))
					// The requester finds the run leased, so it leaves the request to the runner.
					if _, err := other.Execute(ctx, id); !errors.Is(err, engine.ErrLeased) {
						t.Errorf("the other process's Execute: err = %v, want ErrLeased", err)
					}
					if st, elsewhere, err := other.Advance(ctx, id); err != nil || !elsewhere || st != nil {
						t.Errorf("the other process's Advance = %v, elsewhere %v, %v; want it left to the runner", st, elsewhere, err)
					}
				}
				st, err := runner.Execute(ctx, id)
				must(t, err)
				if st.Status != engine.RunStatusSucceeded {
					t.Fatalf("the run ended %s (%s): the request that came while it parked was lost", st.Status, st.HoldReason)
				}
				info, err := hook.Run(ctx, id)
				must(t, err)
				if info.Status != engine.RunStatusSucceeded || info.LeaseOwner != "" {
					t.Fatalf("index: %s, lease %q", info.Status, info.LeaseOwner)
				}
			})
		}
	}
}

func TestAContinueThatRacesWithTheParkIsFoundByAWorker(t *testing.T) {
	onEveryStore(t, func(t *testing.T, open opener) {
		ctx := context.Background()
		s := &leaseHook{Store: open(t), suffix: ":continue"}
		runner, person := process(t, s, engine.RealClock, "runner"), process(t, s, engine.RealClock, "person")
		id := startRun(t, runner, t.TempDir(), chainFlow, nil)
		must(t, person.Pause(ctx, id))
		// The person reads the run while it still runs; before the continue is recorded, the run
		// parks and its runner, finding nothing new, leaves.
		s.before = func() {
			if st, err := runner.Execute(ctx, id); err != nil || st.Status != engine.RunStatusPaused {
				t.Errorf("park: %v %v", st, err)
			}
		}
		must(t, person.Continue(ctx, id))
		if info, _ := s.Run(ctx, id); info.Status != engine.RunStatusRunning {
			t.Fatalf("after the continue the run is listed %s: no worker would look at it", info.Status)
		}
		must(t, (&engine.Worker{Engine: process(t, s, engine.RealClock, "worker")}).UntilIdle(ctx))
		st, err := person.State(ctx, id)
		must(t, err)
		if st.Status != engine.RunStatusSucceeded {
			t.Fatalf("a worker left the continued run %s", st.Status)
		}
	})
}

func TestAWorkerResumesInterruptedRunsOnlyWhenAsked(t *testing.T) {
	for _, sc := range stores {
		t.Run(sc.Name, func(t *testing.T) {
			ctx := context.Background()
			s := sc.Open(t)
			dir := t.TempDir()
			e := process(t, s, engine.RealClock, "cli")
			id := startRun(t, e, dir, gatedFlow, nil)
			sub := e.Bus().Subscribe(id)
			defer sub.Close()
			cut, stop := context.WithCancel(ctx)
			done := make(chan error, 1)
			go func() { _, err := e.Execute(cut, id); done <- err }()
			waitForEvent(t, sub, engine.StepStarted, "a")
			stop() // Ctrl-C
			if err := receive(t, done, "the interrupted Execute"); !errors.Is(err, context.Canceled) {
				t.Fatalf("interrupt: %v", err)
			}
			must(t, os.WriteFile(filepath.Join(dir, "open"), nil, 0o644))
			worker := process(t, s, engine.RealClock, "worker")
			must(t, (&engine.Worker{Engine: worker}).UntilIdle(ctx))
			if info, _ := s.Run(ctx, id); info.Status != engine.RunStatusInterrupted {
				t.Fatalf("a worker not asked to resumed the interrupted run: %s", info.Status)
			}
			must(t, (&engine.Worker{Engine: worker, ResumeInterrupted: true}).UntilIdle(ctx))
			st, err := worker.State(ctx, id)
			must(t, err)
			if st.Status != engine.RunStatusSucceeded || st.Steps["a"].LastAttempt().Key != id+"/a/1" {
				t.Fatalf("after --resume-interrupted: %s, a's last key %s (want the cut attempt's)", st.Status, st.Steps["a"].LastAttempt().Key)
			}
		})
	}
}

func TestAdvanceGoesOnHereWhenNoProcessHoldsTheRun(t *testing.T) {
	onEveryStore(t, func(t *testing.T, open opener) {
		ctx := context.Background()
		person := process(t, open(t), engine.RealClock, "person")
		id := startRun(t, person, t.TempDir(), chainFlow, nil)
		must(t, person.Pause(ctx, id))
		st, elsewhere, err := person.Advance(ctx, id)
		if err != nil || elsewhere || st.Status != engine.RunStatusPaused {
			t.Fatalf("advance a paused run: %v, elsewhere %v, %v", st, elsewhere, err)
		}
		must(t, person.Continue(ctx, id))
		st, elsewhere, err = person.Advance(ctx, id)
		if err != nil || elsewhere || st.Status != engine.RunStatusSucceeded {
			t.Fatalf("advance after continue: %v, elsewhere %v, %v", st, elsewhere, err)
		}
	})
}
