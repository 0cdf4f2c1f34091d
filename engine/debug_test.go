package engine_test

import (
	"context"
	"errors"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"tandem/engine"
)

// chainFlow is four steps in a line and one independent branch; each appends its id to
// effects.log, so the log proves which steps ran and how often.
const chainFlow = `
name: chain
inputs:
  word: { type: string, default: alpha }
steps:
  - id: s1
    shell: 'echo s1 >> effects.log; echo one'
  - id: s2
    needs: [s1]
    shell: 'echo s2 >> effects.log; echo "{{ .steps.s1.output }}-two"'
  - id: s3
    needs: [s2]
    shell: 'echo s3 >> effects.log; echo "{{ .steps.s2.output }}-{{ .inputs.word }}"'
  - id: s4
    needs: [s3]
    shell: 'echo s4 >> effects.log; echo "{{ .steps.s3.output }}-four"'
  - id: side
    shell: 'echo side >> effects.log; echo aside'
`

// effects counts the lines of effects.log in the harness's directory.
func (h *harness) effects() map[string]int {
	h.t.Helper()
	b, err := os.ReadFile(filepath.Join(h.dir, "effects.log"))
	if err != nil && !os.IsNotExist(err) {
		h.t.Fatal(err)
	}
	n := map[string]int{}
	for _, l := range strings.Fields(string(b)) {
		n[l]++
	}
	return n
}

// start records a run of src without executing it.
func (h *harness) start(src string, inputs map[string]string) string {
	h.t.Helper()
	return startRun(h.t, h.eng, h.dir, src, inputs)
}

func (h *harness) execute(id string) *engine.State {
	h.t.Helper()
	st, err := h.eng.Execute(context.Background(), id)
	if err != nil {
		h.t.Fatalf("execute %s: %v", id, err)
	}
	return st
}

func (h *harness) eventCount(id string) int {
	h.t.Helper()
	evs, err := h.store.Events(context.Background(), id, 0)
	must(h.t, err)
	return len(evs)
}

func TestSkipCompletesAStepByHandAndTheRunGoesOnWithItsOutput(t *testing.T) {
	onEveryStore(t, func(t *testing.T, open opener) {
		const flow = `
name: skip
steps:
  - id: first
    shell: 'echo first >> effects.log; echo 1'
  - id: target
    needs: [first]
    SPEC
  - id: use
    needs: [target]
    shell: 'echo use >> effects.log; echo "got {{ .steps.target.output }}"'
`
		tests := []struct {
			name   string
			spec   string
			before func(h *harness, id string) engine.RunStatus // brings the run to the state to skip in
		}{
			{"a failed step of a failed run", "shell: 'echo target >> effects.log; exit 3'", func(h *harness, id string) engine.RunStatus {
				st := h.execute(id)
				if st.Steps["use"].Status != engine.StatusSkipped {
					t.Fatalf("use = %s before the skip", st.Steps["use"].Status)
				}
				return engine.RunStatusFailed
			}},
			{"a step parked waiting for an event", "wait: never", func(h *harness, id string) engine.RunStatus {
				return h.execute(id).Status
			}},
			{"a step that has not started", "shell: 'echo target >> effects.log; echo real'", func(h *harness, id string) engine.RunStatus {
				must(t, h.eng.SetBreakpoint(context.Background(), id, "target", true))
				st := h.execute(id)
				must(t, h.eng.SetBreakpoint(context.Background(), id, "target", false))
				return st.Status
			}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				h := newHarness(t, open)
				ctx := context.Background()
				id := h.start(strings.Replace(flow, "SPEC", tt.spec, 1), nil)
				if status := tt.before(h, id); status == engine.RunStatusSucceeded || status == engine.RunStatusRunning {
					t.Fatalf("the run is %s before the skip", status)
				}
				must(t, h.eng.Skip(ctx, id[:10], "target", "by hand"))
				st := h.execute(id)
				if st.Status != engine.RunStatusSucceeded {
					t.Fatalf("after the skip the run is %s: %s", st.Status, st.Error)
				}
				target := st.Steps["target"]
				if target.Status != engine.StatusSucceeded || !target.Manual || target.Output != "by hand" {
					t.Errorf("target = %s manual=%v output %q", target.Status, target.Manual, target.Output)
				}
				if got := st.Steps["use"].Output; got != "got by hand" {
					t.Errorf("use output = %q, want the manual output fed through", got)
				}
				want := map[string]int{"first": 1, "use": 1}
				if strings.HasPrefix(tt.spec, "shell: 'echo target >> effects.log; exit") {
					want["target"] = 1 // its failed attempt, before the skip
				}
				got := h.effects()
				for _, s := range []string{"first", "target", "use"} {
					if got[s] != want[s] {
						t.Errorf("%s ran %d times, want %d", s, got[s], want[s])
					}
				}
			})
		}
	})
}

func TestSkipRefusesWhatCannotBeSkipped(t *testing.T) {
	onEveryStore(t, func(t *testing.T, open opener) {
		h := newHarness(t, open)
		ctx := context.Background()
		ok := h.run(h.flow("ok.yaml", "name: ok\nsteps:\n  - id: a\n    shell: echo a\n  - id: b\n    needs: [a]\n    shell: 'exit 1'\n"), nil)
		done := h.run(h.flow("done.yaml", "name: done\nsteps:\n  - id: a\n    shell: echo a\n"), nil)
		tests := []struct {
			name, run, step string
			want            string
			is              error
		}{
			{"a step that succeeded", ok.ID, "a", "already succeeded", nil},
			{"a step the flow does not have", ok.ID, "nope", "steps: a, b", engine.ErrStepNotFound},
			{"a step of a run that succeeded", done.ID, "a", "finished", engine.ErrRunFinished},
			{"a run that does not exist", "zzzz", "a", "not found", engine.ErrRunNotFound},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				err := h.eng.Skip(ctx, tt.run, tt.step, "x")
				if err == nil || !strings.Contains(err.Error(), tt.want) || (tt.is != nil && !errors.Is(err, tt.is)) {
					t.Fatalf("err = %v, want one containing %q", err, tt.want)
				}
			})
		}
	})
}

func TestForkReusesTheOutputsBeforeTheStepAndRerunsTheRest(t *testing.T) {
	onEveryStore(t, func(t *testing.T, open opener) {
		h := newHarness(t, open)
		ctx := context.Background()
		src := h.run(h.flow("chain.yaml", chainFlow), nil)
		if src.Status != engine.RunStatusSucceeded || src.Steps["s4"].Output != "one-two-alpha-four" {
			t.Fatalf("source run: %s %q", src.Status, src.Steps["s4"].Output)
		}
		forkID, err := h.eng.Fork(ctx, src.ID[:10], "s3", engine.ForkOptions{Inputs: map[string]any{"word": "beta"}})
		must(t, err)
		if forkID == src.ID {
			t.Fatal("the fork reused the source run's id")
		}
		fork := h.execute(forkID)
		if fork.Status != engine.RunStatusSucceeded {
			t.Fatalf("fork: %s %s", fork.Status, fork.Error)
		}
		if fork.Start.ForkedFrom != src.ID || fork.Start.ForkedFromStep != "s3" || fork.Start.Inputs["word"] != "beta" {
			t.Errorf("fork start = %+v", fork.Start)
		}
		for _, id := range []string{"s1", "s2", "side"} {
			s := fork.Steps[id]
			if s.ReusedFrom != src.ID || s.Output != src.Steps[id].Output || len(s.Attempts) != 0 {
				t.Errorf("%s: reused from %q, output %q, %d attempts; want the source's output, no attempt", id, s.ReusedFrom, s.Output, len(s.Attempts))
			}
		}
		for id, want := range map[string]string{"s3": "one-two-beta", "s4": "one-two-beta-four"} {
			if s := fork.Steps[id]; s.ReusedFrom != "" || s.Output != want || len(s.Attempts) != 1 {
				t.Errorf("%s: reused from %q, output %q, %d attempts; want it run fresh with %q", id, s.ReusedFrom, s.Output, len(s.Attempts), want)
			}
		}
		// The side effects prove it: the steps before s3 ran once (for the source) and s3, s4
		// twice.
		want := map[string]int{"s1": 1, "s2": 1, "side": 1, "s3": 2, "s4": 2}
		if got := h.effects(); !maps.Equal(got, want) {
			t.Errorf("effects = %v, want %v", got, want)
		}
		// The diff of the two runs says the same.
		for _, d := range engine.DiffRuns(src, fork) {
			if d.Equal != map[string]bool{"s1": true, "s2": true, "side": true}[d.StepID] {
				t.Errorf("diff %s: equal=%v (%q vs %q)", d.StepID, d.Equal, d.OutputA, d.OutputB)
			}
		}
	})
}

func TestForkRejectsAnUnknownStepOrBadInputs(t *testing.T) {
	onEveryStore(t, func(t *testing.T, open opener) {
		h := newHarness(t, open)
		src := h.run(h.flow("chain.yaml", chainFlow), nil)
		tests := []struct {
			name, step string
			inputs     map[string]any
			want       string
		}{
			{"an unknown step", "s9", nil, "no such step"},
			{"an unknown input", "s2", map[string]any{"colour": "red"}, `unknown input "colour"`},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				_, err := h.eng.Fork(context.Background(), src.ID, tt.step, engine.ForkOptions{Inputs: tt.inputs})
				if err == nil || !strings.Contains(err.Error(), tt.want) {
					t.Fatalf("err = %v, want %q", err, tt.want)
				}
			})
		}
		runs, _ := h.store.Runs(context.Background(), engine.RunQuery{})
		if len(runs) != 1 {
			t.Fatalf("a rejected fork left a run: %d runs", len(runs))
		}
	})
}

func TestABreakpointHoldsTheRunBeforeTheStepAndContinueFinishesIt(t *testing.T) {
	onEveryStore(t, func(t *testing.T, open opener) {
		h := newHarness(t, open)
		ctx := context.Background()
		id := h.start(chainFlow, nil)
		must(t, h.eng.SetBreakpoint(ctx, id, "s3", true))
		st := h.execute(id)
		if st.Status != engine.RunStatusPaused || st.HoldReason != "breakpoint at s3" {
			t.Fatalf("run is %s (%q), want paused at the breakpoint", st.Status, st.HoldReason)
		}
		for id, want := range map[string]engine.StepStatus{"s1": engine.StatusSucceeded, "s2": engine.StatusSucceeded,
			"s3": engine.StatusPending, "s4": engine.StatusPending} {
			if got := st.Step(id).Status; got != want {
				t.Errorf("%s = %s, want %s", id, got, want)
			}
		}
		if got := h.effects(); got["s3"] != 0 || got["s4"] != 0 {
			t.Fatalf("steps at or after the breakpoint ran: %v", got)
		}
		// Advancing a held run again (a worker passing by) changes nothing and writes nothing.
		n := h.eventCount(id)
		if st := h.execute(id); st.Status != engine.RunStatusPaused || h.eventCount(id) != n {
			t.Fatalf("re-advancing the held run: %s, %d -> %d events", st.Status, n, h.eventCount(id))
		}
		// Continue from another process; a worker finishes the run.
		cli := process(t, h.store, engine.RealClock, "cli")
		must(t, cli.Continue(ctx, id))
		must(t, (&engine.Worker{Engine: process(t, h.store, engine.RealClock, "worker")}).UntilIdle(ctx))
		st, err := h.eng.State(ctx, id)
		must(t, err)
		if st.Status != engine.RunStatusSucceeded || st.Steps["s4"].Output != "one-two-alpha-four" {
			t.Fatalf("after continue: %s %q", st.Status, st.Steps["s4"].Output)
		}
		want := map[string]int{"s1": 1, "s2": 1, "s3": 1, "s4": 1, "side": 1}
		if got := h.effects(); !maps.Equal(got, want) {
			t.Errorf("effects = %v, want each step once", got)
		}
	})
}

func TestContinueRunsOnToTheNextBreakpoint(t *testing.T) {
	onEveryStore(t, func(t *testing.T, open opener) {
		h := newHarness(t, open)
		ctx := context.Background()
		id := h.start(chainFlow, nil)
		must(t, h.eng.SetBreakpoint(ctx, id, "s2", true))
		must(t, h.eng.SetBreakpoint(ctx, id, "s4", true))
		if st := h.execute(id); st.HoldReason != "breakpoint at s2" {
			t.Fatalf("held for %q", st.HoldReason)
		}
		must(t, h.eng.Continue(ctx, id))
		if st := h.execute(id); st.Status != engine.RunStatusPaused || st.HoldReason != "breakpoint at s4" {
			t.Fatalf("after the first continue: %s %q, want held at the next breakpoint", st.Status, st.HoldReason)
		}
		must(t, h.eng.SetBreakpoint(ctx, id, "s4", false))
		must(t, h.eng.Continue(ctx, id))
		if st := h.execute(id); st.Status != engine.RunStatusSucceeded {
			t.Fatalf("after clearing the breakpoint: %s", st.Status)
		}
	})
}

func TestStepModeRunsExactlyOneStepPerStepOnce(t *testing.T) {
	onEveryStore(t, func(t *testing.T, open opener) {
		h := newHarness(t, open)
		ctx := context.Background()
		// side and s1 are ready together: step mode must still start only one.
		id := h.start(chainFlow, nil)
		must(t, h.eng.SetBreakpoint(ctx, id, "s2", true)) // step mode steps past breakpoints
		for i := 1; i <= 5; i++ {
			must(t, h.eng.StepOnce(ctx, id))
			st := h.execute(id)
			ran := 0
			for _, n := range h.effects() {
				ran += n
			}
			if ran != i {
				t.Fatalf("after %d step-onces %d steps ran: %v", i, ran, h.effects())
			}
			if i < 5 && (st.Status != engine.RunStatusPaused || st.StepBudget != 0 || st.HoldReason != "step mode") {
				t.Fatalf("after step %d the run is %s (%q, budget %d), want paused in step mode", i, st.Status, st.HoldReason, st.StepBudget)
			}
			if i == 5 && st.Status != engine.RunStatusSucceeded {
				t.Fatalf("after the last step the run is %s", st.Status)
			}
		}
	})
}

func TestARunningRunHoldsOnARequestFromAnotherProcessAndContinueFinishesIt(t *testing.T) {
	onEveryStore(t, func(t *testing.T, open opener) {
		tests := []struct {
			name    string
			want    engine.EventType
			request func(ctx context.Context, e *engine.Engine, id string) error
			ran     []string // steps done when the run parks
			reason  string
		}{
			{"a pause", engine.PauseRequested, func(ctx context.Context, e *engine.Engine, id string) error { return e.Pause(ctx, id) },
				[]string{"slow"}, "paused"},
			{"a breakpoint on the next step", engine.BreakpointSet,
				func(ctx context.Context, e *engine.Engine, id string) error {
					return e.SetBreakpoint(ctx, id, "next", true)
				},
				[]string{"slow"}, "breakpoint at next"},
			{"a step-once", engine.StepOnceRequested, func(ctx context.Context, e *engine.Engine, id string) error { return e.StepOnce(ctx, id) },
				[]string{"slow", "next"}, "step mode"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				s := &pollWatch{Store: open(t), want: tt.want, seen: make(chan struct{})}
				ctx := context.Background()
				dir := t.TempDir()
				runner := process(t, s, engine.RealClock, "runner")
				id := startRun(t, runner, dir, `
name: gated
steps:
  - id: slow
    shell: 'echo slow >> effects.log; while [ ! -f release ]; do sleep 0.01; done'
  - id: next
    needs: [slow]
    shell: 'echo next >> effects.log'
  - id: last
    needs: [next]
    shell: 'echo last >> effects.log'
`, nil)
				sub := runner.Bus().Subscribe(id)
				defer sub.Close()
				var st *engine.State
				var err error
				var wg sync.WaitGroup
				wg.Add(1)
				go func() { defer wg.Done(); st, err = runner.Execute(ctx, id) }()
				waitForEvent(t, sub, engine.StepStarted, "slow")
				// Another process asks while slow runs; once the runner has read the request, slow
				// may finish.
				must(t, tt.request(ctx, process(t, s, engine.RealClock, "cli"), id))
				within(t, s.seen, "the runner reading the request")
				must(t, os.WriteFile(filepath.Join(dir, "release"), nil, 0o644))
				wg.Wait()
				must(t, err)
				if st.Status != engine.RunStatusPaused || st.HoldReason != tt.reason {
					t.Fatalf("run is %s (%q), want parked paused (%q)", st.Status, st.HoldReason, tt.reason)
				}
				done := 0
				for _, sid := range []string{"slow", "next", "last"} {
					if st.Step(sid).Status == engine.StatusSucceeded {
						done++
					}
				}
				if done != len(tt.ran) || st.Steps[tt.ran[len(tt.ran)-1]].Status != engine.StatusSucceeded {
					t.Fatalf("%d steps done, want %v: the running step finishes and nothing unasked starts", done, tt.ran)
				}
				info, _ := s.Run(ctx, id)
				if info.Status != engine.RunStatusPaused || info.LeaseOwner != "" {
					t.Fatalf("index: %s, lease %q; a paused run is parked and leased to nobody", info.Status, info.LeaseOwner)
				}
				must(t, process(t, s, engine.RealClock, "cli").Continue(ctx, id))
				must(t, (&engine.Worker{Engine: process(t, s, engine.RealClock, "worker")}).UntilIdle(ctx))
				st, _ = runner.State(ctx, id)
				if st.Status != engine.RunStatusSucceeded || st.Steps["last"].Status != engine.StatusSucceeded {
					t.Fatalf("after continue: %s, last %s", st.Status, st.Steps["last"].Status)
				}
			})
		}
	})
}

func TestSkipWaitsForTheRunToStopUnlessTheStepIsFinished(t *testing.T) {
	onEveryStore(t, func(t *testing.T, open opener) {
		h := newHarness(t, open)
		ctx := context.Background()
		id := h.start("name: l\nsteps:\n  - id: bad\n    shell: 'exit 2'\n  - id: later\n    needs: [bad]\n    shell: echo later\n", nil)
		st := h.execute(id)
		if st.Status != engine.RunStatusFailed {
			t.Fatalf("status %s", st.Status)
		}
		// While another process advances a run, a step it may still start is refused ...
		lease := func(id string) engine.Lease {
			now := engine.RealClock.Now()
			l, ok, err := h.store.AcquireLease(ctx, id, "elsewhere:1", now, now.Add(time.Hour))
			if err != nil || !ok {
				t.Fatalf("lease: %v %v", ok, err)
			}
			return l
		}
		fresh := h.start(chainFlow, nil)
		lease(fresh)
		if err := h.eng.Skip(ctx, fresh, "s1", "x"); !errors.Is(err, engine.ErrLeased) {
			t.Fatalf("skipping a pending step of a leased run: err = %v, want ErrLeased", err)
		}
		held := lease(id)
		// ... a failed step, which no process runs again, is not.
		must(t, h.eng.Skip(ctx, id, "bad", "fine"))
		must(t, h.store.ReleaseLease(ctx, held))
		if st := h.execute(id); st.Status != engine.RunStatusSucceeded || st.Steps["later"].Output != "later" {
			t.Fatalf("after the skip: %s %q", st.Status, st.Steps["later"].Output)
		}
	})
}

func TestDebugControlsRefuseAFinishedRunAndAnUnknownStep(t *testing.T) {
	onEveryStore(t, func(t *testing.T, open opener) {
		h := newHarness(t, open)
		ctx := context.Background()
		done := h.run(h.flow("done.yaml", "name: done\nsteps:\n  - id: a\n    shell: echo a\n"), nil)
		running := h.start(chainFlow, nil)
		tests := []struct {
			name string
			call func() error
			is   error
		}{
			{"pause a succeeded run", func() error { return h.eng.Pause(ctx, done.ID) }, engine.ErrRunFinished},
			{"continue a succeeded run", func() error { return h.eng.Continue(ctx, done.ID) }, engine.ErrRunFinished},
			{"step a succeeded run", func() error { return h.eng.StepOnce(ctx, done.ID) }, engine.ErrRunFinished},
			{"break at an unknown step", func() error { return h.eng.SetBreakpoint(ctx, running, "s9", true) }, engine.ErrStepNotFound},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				if err := tt.call(); !errors.Is(err, tt.is) {
					t.Fatalf("err = %v, want %v", err, tt.is)
				}
			})
		}
	})
}

func TestDiffRunsReportsEqualAndDifferentSteps(t *testing.T) {
	const src = "name: d\nsteps:\n  - id: b\n    shell: echo\n  - id: a\n    shell: echo\n  - id: c\n    shell: echo\n"
	mk := func(steps map[string][2]string) *engine.State {
		st := &engine.State{Start: engine.RunStartedData{FlowPath: "/d.yaml", Source: src}, Steps: map[string]*engine.StepState{}}
		for id, v := range steps {
			st.Steps[id] = &engine.StepState{ID: id, Status: engine.StepStatus(v[0]), Output: v[1]}
		}
		return st
	}
	a := mk(map[string][2]string{"b": {"succeeded", "x"}, "a": {"succeeded", "1"}, "c": {"failed", ""}, "old": {"succeeded", "o"}})
	b := mk(map[string][2]string{"b": {"succeeded", "x"}, "a": {"succeeded", "2"}, "c": {"succeeded", ""}})
	want := []engine.StepDiff{
		{StepID: "b", StatusA: "succeeded", StatusB: "succeeded", OutputA: "x", OutputB: "x", Equal: true},
		{StepID: "a", StatusA: "succeeded", StatusB: "succeeded", OutputA: "1", OutputB: "2"},
		{StepID: "c", StatusA: "failed", StatusB: "succeeded"},
		{StepID: "old", StatusA: "succeeded", OutputA: "o"},
	}
	got := engine.DiffRuns(a, b)
	if len(got) != len(want) {
		t.Fatalf("got %d diffs, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		t.Run(want[i].StepID, func(t *testing.T) {
			if got[i] != want[i] {
				t.Errorf("got %+v, want %+v", got[i], want[i])
			}
		})
	}
}

// pollWatch is a store that reports when a run's log is first read past an event of type want,
// which tells a test that a running runner has seen a request another process appended.
type pollWatch struct {
	engine.Store
	want engine.EventType
	seen chan struct{}
	once sync.Once
}

func (p *pollWatch) Events(ctx context.Context, runID string, afterSeq int64) ([]engine.Event, error) {
	evs, err := p.Store.Events(ctx, runID, afterSeq)
	if afterSeq > 0 {
		for _, e := range evs {
			if e.Type == p.want {
				p.once.Do(func() { close(p.seen) })
			}
		}
	}
	return evs, err
}

func waitForEvent(t *testing.T, sub *engine.Subscription, typ engine.EventType, step string) {
	t.Helper()
	deadline := time.After(time.Minute) // a regression fails here instead of hanging the suite
	for {
		select {
		case <-sub.Ready():
		case <-deadline:
			t.Fatalf("no %s event for step %s within a minute", typ, step)
		}
		for _, n := range sub.Next() {
			if n.Event != nil && n.Event.Type == typ && n.Event.StepID == step {
				return
			}
		}
	}
}

// within waits for c to close or fails the test after a minute instead of hanging the suite.
func within(t *testing.T, c <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-c:
	case <-time.After(time.Minute):
		t.Fatalf("%s did not happen within a minute", what)
	}
}

func TestDiffLinesShowsRemovedAndAddedLines(t *testing.T) {
	tests := []struct {
		name, a, b string
		want       string
	}{
		{"equal texts", "x\ny\n", "x\ny", " x| y"},
		{"one line changed", "x\ny\nz", "x\nY\nz", " x|-y|+Y| z"},
		{"a line added at the end", "x", "x\ny", " x|+y"},
		{"from nothing", "", "new", "+new"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var parts []string
			for _, e := range engine.DiffLines(tt.a, tt.b) {
				parts = append(parts, string(e.Op)+e.Text)
			}
			if got := strings.Join(parts, "|"); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestForkReusesAMapStepWholeAndDiffComparesItsOutput(t *testing.T) {
	onEveryStore(t, func(t *testing.T, open opener) {
		h := newHarness(t, open)
		src := h.run(h.flow("fan.yaml", `
name: fan
steps:
  - id: fan
    map: '[1,2,3]'
    shell: 'echo fan{{ .item }} >> effects.log; echo "{{ .item }}"'
  - id: after
    needs: [fan]
    shell: 'echo after >> effects.log; echo "sum of {{ .steps.fan.output }}"'
`), nil)
		forkID, err := h.eng.Fork(context.Background(), src.ID, "after", engine.ForkOptions{})
		must(t, err)
		fork := h.execute(forkID)
		if fork.Status != engine.RunStatusSucceeded || fork.Steps["after"].Output != src.Steps["after"].Output {
			t.Fatalf("fork: %s %q, want %q", fork.Status, fork.Steps["after"].Output, src.Steps["after"].Output)
		}
		if got := h.effects(); got["fan1"] != 1 || got["after"] != 2 {
			t.Fatalf("effects = %v: the map must not run again, after must", got)
		}
		var steps []string
		for _, d := range engine.DiffRuns(src, fork) {
			steps = append(steps, d.StepID)
			if !d.Equal {
				t.Errorf("%s differs: %+v", d.StepID, d)
			}
		}
		if strings.Join(steps, ",") != "fan,after" {
			t.Errorf("diff lists %v, want the map step whole and after", steps)
		}
	})
}

// leaseHook is a store that runs before once, just before the first lease taken by an owner
// ending in suffix: another process's work slipped in between a check and its lease.
type leaseHook struct {
	engine.Store
	suffix string
	before func()
	once   sync.Once
}

func (l *leaseHook) AcquireLease(ctx context.Context, runID, owner string, now, until time.Time) (engine.Lease, bool, error) {
	if strings.HasSuffix(owner, l.suffix) {
		l.once.Do(l.before)
	}
	return l.Store.AcquireLease(ctx, runID, owner, now, until)
}

func TestSkipChecksTheStepAgainOnceItHoldsTheRun(t *testing.T) {
	onEveryStore(t, func(t *testing.T, open opener) {
		ctx := context.Background()
		s := &leaseHook{Store: open(t), suffix: ":skip"}
		person, other := process(t, s, engine.RealClock, "person"), process(t, s, engine.RealClock, "other")
		id := startRun(t, other, t.TempDir(), "name: gate\nsteps:\n  - id: gate\n    wait: { event: go }\n", nil)
		if st, err := other.Execute(ctx, id); err != nil || st.Status != engine.RunStatusWaiting {
			t.Fatalf("park: %v %v", st, err)
		}
		// While the person's skip is on its way, the event arrives and another process finishes.
		s.before = func() {
			must(t, other.Signal(ctx, id, "go", []byte(`"from the event"`)))
			if st, err := other.Execute(ctx, id); err != nil || st.Status != engine.RunStatusSucceeded {
				t.Errorf("finish: %v %v", st, err)
			}
		}
		err := person.Skip(ctx, id, "gate", "by hand")
		if !errors.Is(err, engine.ErrRunFinished) {
			t.Fatalf("skip after the run finished: err = %v, want ErrRunFinished", err)
		}
		st, err := person.State(ctx, id)
		must(t, err)
		if st.Status != engine.RunStatusSucceeded || st.Steps["gate"].Manual || !strings.Contains(st.Steps["gate"].Output, "from the event") {
			t.Fatalf("the skip overwrote the finished step: %s %+v", st.Status, st.Steps["gate"])
		}
	})
}

func TestAPauseCancelsStepPressesNotYetUsed(t *testing.T) {
	at := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	ev := func(typ engine.EventType) engine.Event { return engine.Event{RunID: "r", Type: typ, Time: at} }
	st := engine.Fold([]engine.Event{ev(engine.StepOnceRequested), ev(engine.StepOnceRequested), ev(engine.PauseRequested)})
	if st.StepBudget != 0 || !st.Paused || !st.Holding() {
		t.Fatalf("after two step presses and a pause: budget %d, paused %v, holding %v", st.StepBudget, st.Paused, st.Holding())
	}
}

// commitsFlow lists the files of some commits in a step before the one a fork starts from:
// files reads inputs.commits, so its output is stale when commits changes.
const commitsFlow = `
name: review
inputs:
  commits: { type: string, default: "a1" }
  tone: { type: string, default: "dry" }
steps:
  - id: files
    shell: 'echo files >> effects.log; echo "files of {{ .inputs.commits }}"'
  - id: stats
    shell: 'echo stats >> effects.log; echo "42 lines"'
  - id: gate
    needs: [stats]
    when: 'inputs.tone != "none"'
    shell: 'echo gate >> effects.log; echo open'
  - id: summary
    needs: [files]
    shell: 'echo summary >> effects.log; echo "summary of {{ .steps.files.output }}"'
  - id: report
    needs: [summary]
    shell: 'echo report >> effects.log; echo "{{ .steps.summary.output }}, {{ .inputs.tone }}"'
`

func TestForkRerunsTheStepsThatReadAChangedInput(t *testing.T) {
	onEveryStore(t, func(t *testing.T, open opener) {
		tests := []struct {
			name     string
			inputs   map[string]any
			rerun    []string // besides report, the fork step
			wantFile string
		}{
			{"a changed input re-runs the steps reading it and everything after them",
				map[string]any{"commits": "b2"}, []string{"files", "summary"}, "files of b2"},
			{"an input read by when: re-runs its step",
				map[string]any{"tone": "none"}, []string{"gate"}, "files of a1"},
			{"an input given with its old value changes nothing",
				map[string]any{"commits": "a1"}, nil, "files of a1"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				h := newHarness(t, open)
				src := h.run(h.flow("review.yaml", commitsFlow), nil)
				if src.Status != engine.RunStatusSucceeded {
					t.Fatalf("source run: %s %s", src.Status, src.Error)
				}
				forkID, err := h.eng.Fork(context.Background(), src.ID, "report", engine.ForkOptions{Inputs: tt.inputs})
				must(t, err)
				fork := h.execute(forkID)
				if fork.Status != engine.RunStatusSucceeded {
					t.Fatalf("fork: %s %s", fork.Status, fork.Error)
				}
				rerun := map[string]bool{"report": true}
				for _, id := range tt.rerun {
					rerun[id] = true
				}
				want := map[string]int{}
				for _, id := range []string{"files", "stats", "gate", "summary", "report"} {
					s := fork.Steps[id]
					want[id] = 1
					if rerun[id] {
						want[id] = 2
						if s.ReusedFrom != "" {
							t.Errorf("%s was reused from the source; want it run again", id)
						}
					} else if s.ReusedFrom != src.ID {
						t.Errorf("%s: reused from %q, status %s; want the source's output", id, s.ReusedFrom, s.Status)
					}
				}
				if tt.inputs["tone"] == "none" {
					want["gate"] = 1 // re-evaluated: its when: is now false, so it is skipped, not run
					if s := fork.Steps["gate"]; s.Status != engine.StatusSkipped {
						t.Errorf("gate is %s; want it skipped by its when:", s.Status)
					}
				}
				if got := h.effects(); !maps.Equal(got, want) {
					t.Errorf("effects = %v, want %v", got, want)
				}
				if got := fork.Steps["files"].Output; got != tt.wantFile {
					t.Errorf("files output %q, want %q", got, tt.wantFile)
				}
			})
		}
	})
}

func TestDiffInputsListsOnlyTheInputsThatDiffer(t *testing.T) {
	a := &engine.State{Start: engine.RunStartedData{Inputs: map[string]any{"commits": "a1", "n": float64(3), "same": true}}}
	b := &engine.State{Start: engine.RunStartedData{Inputs: map[string]any{"commits": "b2", "n": float64(3), "same": true, "extra": "x"}}}
	got := engine.DiffInputs(a, b)
	want := []engine.InputDiff{{Name: "commits", A: `"a1"`, B: `"b2"`}, {Name: "extra", A: "", B: `"x"`}}
	if !slices.Equal(got, want) {
		t.Fatalf("DiffInputs = %+v, want %+v", got, want)
	}
}

func TestABreakpointGivenAtStartHoldsTheRunBeforeItsFirstStep(t *testing.T) {
	onEveryStore(t, func(t *testing.T, open opener) {
		h := newHarness(t, open)
		ctx := context.Background()
		f := h.flow("chain.yaml", chainFlow)
		if _, err := h.eng.Start(ctx, f, map[string]any{}, engine.StartOptions{Breakpoints: []string{"nope"}}); !errors.Is(err, engine.ErrStepNotFound) {
			t.Fatalf("a breakpoint at an unknown step: %v, want ErrStepNotFound", err)
		}
		id, err := h.eng.Start(ctx, f, map[string]any{"word": "alpha"}, engine.StartOptions{Breakpoints: []string{"s1"}})
		must(t, err)
		st := h.execute(id)
		if st.Status != engine.RunStatusPaused || st.HoldReason != "breakpoint at s1" || !st.Breakpoints["s1"] {
			t.Fatalf("run is %s (%q), want paused before s1", st.Status, st.HoldReason)
		}
		if got := h.effects(); got["s1"] != 0 {
			t.Fatalf("s1 ran past its breakpoint: %v", got)
		}
		must(t, h.eng.Continue(ctx, id))
		if st := h.execute(id); st.Status != engine.RunStatusSucceeded {
			t.Fatalf("after continue: %s %s", st.Status, st.Error)
		}
	})
}
