package engine_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"tandem/engine"
	"tandem/flows"
)

// recorder is a shell executor that records the order steps start in and fails the steps
// whose command is "fail" (once each when the command is "flaky").
type recorder struct {
	mu      sync.Mutex
	started []string
	failed  map[string]bool
}

var _ engine.Executor = (*recorder)(nil)

func (r *recorder) Prepare(s *flows.Step, _ map[string]any) (string, error) { return s.Shell, nil }

func (r *recorder) Execute(_ context.Context, x *engine.StepRun) (engine.Result, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.started = append(r.started, x.StepID)
	switch {
	case x.Input == "fail", x.Input == "flaky" && !r.failed[x.StepID]:
		if r.failed == nil {
			r.failed = map[string]bool{}
		}
		r.failed[x.StepID] = true
		return engine.Result{}, errors.New("failed on purpose")
	}
	return engine.Result{Output: x.StepID}, nil
}

// runRecorded runs src with a recorder as the shell executor and the given parallelism.
func runRecorded(t *testing.T, open opener, parallel int, src string) (*engine.State, []string) {
	t.Helper()
	s := open(t)
	e, err := engine.New(engine.Options{Store: s, Parallel: parallel})
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	e.Register(flows.KindShell, rec)
	h := &harness{t: t, dir: t.TempDir(), store: s, eng: e}
	st := h.run(h.flow("f.yaml", src), nil)
	return st, rec.started
}

// fanJoin is n independent steps with the given commands and a join needing all of them.
func fanJoin(n int, cmd func(i int) string) string {
	var sb strings.Builder
	sb.WriteString("name: fanjoin\nsteps:\n")
	needs := make([]string, n)
	for i := 0; i < n; i++ {
		needs[i] = fmt.Sprintf("s%02d", i)
		fmt.Fprintf(&sb, "  - id: %s\n    shell: %s\n    retry: { max_attempts: 2, backoff: 1ms }\n", needs[i], cmd(i))
	}
	fmt.Fprintf(&sb, "  - id: join\n    needs: [%s]\n    shell: ok\n", strings.Join(needs, ", "))
	return sb.String()
}

func TestReadyStepsHeldByTheParallelLimitStartInFlowOrder(t *testing.T) {
	onEveryStore(t, func(t *testing.T, open opener) {
		for _, parallel := range []int{1, 3} {
			t.Run(fmt.Sprint("parallel ", parallel), func(t *testing.T) {
				st, started := runRecorded(t, open, parallel, fanJoin(40, func(int) string { return "ok" }))
				if st.Status != engine.RunStatusSucceeded {
					t.Fatalf("run %s: %s", st.Status, st.Error)
				}
				if parallel > 1 {
					return // concurrent steps may finish, and so be recorded, in any order
				}
				want := make([]string, 0, 41)
				for i := 0; i < 40; i++ {
					want = append(want, fmt.Sprintf("s%02d", i))
				}
				want = append(want, "join")
				if strings.Join(started, " ") != strings.Join(want, " ") {
					t.Fatalf("started\n%v\nwant\n%v", started, want)
				}
			})
		}
	})
}

func TestAJoinStartsOnceAfterEveryStepItNeeds(t *testing.T) {
	onEveryStore(t, func(t *testing.T, open opener) {
		// Every fifth step fails once and is retried: the join waits for the retries too.
		st, started := runRecorded(t, open, 3, fanJoin(30, func(i int) string {
			if i%5 == 0 {
				return "flaky"
			}
			return "ok"
		}))
		if st.Status != engine.RunStatusSucceeded {
			t.Fatalf("run %s: %s", st.Status, st.Error)
		}
		if n := len(started); n != 30+6+1 || started[n-1] != "join" {
			t.Fatalf("%d starts, last %q: %v", n, started[n-1], started)
		}
		if got := st.Steps["join"].Attempts; len(got) != 1 {
			t.Fatalf("join ran %d times", len(got))
		}
	})
}

func TestAJoinIsSkippedWhenOneOfItsNeedsFails(t *testing.T) {
	onEveryStore(t, func(t *testing.T, open opener) {
		st, started := runRecorded(t, open, 2, fanJoin(20, func(i int) string {
			if i == 13 {
				return "fail"
			}
			return "ok"
		}))
		if st.Status != engine.RunStatusFailed {
			t.Fatalf("run %s, want failed", st.Status)
		}
		join := st.Steps["join"]
		if join.Status != engine.StatusSkipped || join.SkipReason != "needs s13, which failed" {
			t.Fatalf("join %s (%s)", join.Status, join.SkipReason)
		}
		for _, id := range started {
			if id == "join" {
				t.Fatal("the join ran although a step it needs failed")
			}
		}
	})
}

// lattice is layers of width steps, each needing every step of the layer before: a DAG with
// width^layers paths from its last step to its first layer.
func lattice(layers, width int) string {
	var sb strings.Builder
	sb.WriteString("name: lattice\nsteps:\n")
	for l := 0; l < layers; l++ {
		for w := 0; w < width; w++ {
			fmt.Fprintf(&sb, "  - id: l%d_%d\n    shell: ok\n", l, w)
			if l > 0 {
				needs := make([]string, width)
				for i := range needs {
					needs[i] = fmt.Sprintf("l%d_%d", l-1, i)
				}
				fmt.Fprintf(&sb, "    needs: [%s]\n", strings.Join(needs, ", "))
			}
		}
	}
	return sb.String()
}

func TestARunPausedBeforeADeepLatticeParksAtOnce(t *testing.T) {
	onEveryStore(t, func(t *testing.T, open opener) {
		// Parking asks of every pending step whether a wait holds it up; walking every path
		// through 16 layers of 4 would take 4^16 steps.
		s := open(t)
		e, err := engine.New(engine.Options{Store: s, Parallel: 2})
		if err != nil {
			t.Fatal(err)
		}
		e.Register(flows.KindShell, &recorder{})
		h := &harness{t: t, dir: t.TempDir(), store: s, eng: e}
		ctx := context.Background()
		id, err := e.Start(ctx, h.flow("f.yaml", lattice(16, 4)), map[string]any{}, engine.StartOptions{})
		if err != nil {
			t.Fatal(err)
		}
		must(t, e.Pause(ctx, id))
		st, err := e.Execute(ctx, id)
		if err != nil || st.Status != engine.RunStatusPaused {
			t.Fatalf("run %v, %v; want paused", st.Status, err)
		}
		must(t, e.Continue(ctx, id))
		if st, err = e.Execute(ctx, id); err != nil || st.Status != engine.RunStatusSucceeded {
			t.Fatalf("after continue: run %v, %v", st.Status, err)
		}
	})
}
