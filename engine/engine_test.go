package engine_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"tandem/engine"
	"tandem/flows"
)

// harness is an engine over a fresh store, with flows written into a temp dir.
type harness struct {
	t     *testing.T
	dir   string
	store engine.Store
	eng   *engine.Engine
}

func newHarness(t *testing.T, open opener) *harness {
	t.Helper()
	s := open(t)
	e, err := engine.New(engine.Options{Store: s, Parallel: 4, PollEvery: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return &harness{t: t, dir: t.TempDir(), store: s, eng: e}
}

// flow writes a flow file and loads it.
func (h *harness) flow(name, src string) *flows.Flow {
	h.t.Helper()
	path := filepath.Join(h.dir, name)
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		h.t.Fatal(err)
	}
	f, err := flows.Load(path)
	if err != nil {
		h.t.Fatalf("load %s: %v", name, err)
	}
	return f
}

// file writes a file into the harness's directory.
func (h *harness) file(name, src string) {
	h.t.Helper()
	if err := os.WriteFile(filepath.Join(h.dir, name), []byte(src), 0o644); err != nil {
		h.t.Fatal(err)
	}
}

// run starts and executes a flow to its end.
func (h *harness) run(f *flows.Flow, inputs map[string]string) *engine.State {
	h.t.Helper()
	ctx := context.Background()
	in, err := flows.ResolveInputs(f, inputs)
	if err != nil {
		h.t.Fatal(err)
	}
	id, err := h.eng.Start(ctx, f, in, engine.StartOptions{})
	if err != nil {
		h.t.Fatal(err)
	}
	st, err := h.eng.Execute(ctx, id)
	if err != nil {
		h.t.Fatalf("execute: %v", err)
	}
	return st
}

func (h *harness) read(name string) string {
	h.t.Helper()
	b, err := os.ReadFile(filepath.Join(h.dir, name))
	if err != nil {
		h.t.Fatal(err)
	}
	return string(b)
}

func TestOutputsFeedLaterStepsThroughTemplates(t *testing.T) {
	onEveryStore(t, func(t *testing.T, open opener) {
		h := newHarness(t, open)
		f := h.flow("f.yaml", `
name: chain
inputs:
  topic: { type: string, default: tides }
steps:
  - id: a
    shell: echo "{{ .inputs.topic }}"
  - id: b
    needs: [a]
    run: ["echo", "got {{ .steps.a.output }}"]
  - id: c
    needs: [b]
    shell: 'echo ''{"n": 3}'''
  - id: d
    needs: [c]
    shell: echo "n={{ .steps.c.json.n }}"
`)
		st := h.run(f, map[string]string{"topic": "moons"})
		if st.Status != engine.RunStatusSucceeded {
			t.Fatalf("status %s: %s", st.Status, st.Error)
		}
		if got := st.Steps["b"].Output; got != "got moons" {
			t.Errorf("b output = %q", got)
		}
		if got := st.Steps["d"].Output; got != "n=3" {
			t.Errorf("d output = %q", got)
		}
		out, _ := json.Marshal(st.Output)
		if string(out) != `{"d":"n=3"}` {
			t.Errorf("run output = %s (want the leaf step's output)", out)
		}
	})
}

func TestRetrySucceedsOnTheThirdAttempt(t *testing.T) {
	onEveryStore(t, func(t *testing.T, open opener) {
		h := newHarness(t, open)
		f := h.flow("f.yaml", `
name: flaky
steps:
  - id: flaky
    shell: 'n=$(cat count 2>/dev/null || echo 0); n=$((n+1)); echo $n > count; [ $n -ge 3 ] || { echo "try $n" >&2; exit 7; }; echo ok'
    retry: { max_attempts: 3, backoff: 1ms }
`)
		st := h.run(f, nil)
		if st.Status != engine.RunStatusSucceeded {
			t.Fatalf("status %s: %s", st.Status, st.Error)
		}
		s := st.Steps["flaky"]
		if len(s.Attempts) != 3 {
			t.Fatalf("attempts = %d, want 3", len(s.Attempts))
		}
		a1 := s.Attempts[0]
		if a1.Status != engine.StatusFailed || a1.ExitCode == nil || *a1.ExitCode != 7 || !strings.Contains(a1.StderrTail, "try 1") {
			t.Errorf("first attempt = %+v", a1)
		}
		if s.Attempts[2].Key != st.ID+"/flaky/3" {
			t.Errorf("third key = %q", s.Attempts[2].Key)
		}
		if strings.TrimSpace(h.read("count")) != "3" {
			t.Errorf("count = %q", h.read("count"))
		}
	})
}

func TestAFailedStepSkipsItsDependentsButNotIndependentBranches(t *testing.T) {
	onEveryStore(t, func(t *testing.T, open opener) {
		h := newHarness(t, open)
		f := h.flow("f.yaml", `
name: branches
steps:
  - id: bad
    shell: exit 3
  - id: after_bad
    needs: [bad]
    shell: touch after_bad
  - id: later
    needs: [after_bad]
    shell: touch later
  - id: good
    shell: touch good
`)
		st := h.run(f, nil)
		if st.Status != engine.RunStatusFailed || !strings.Contains(st.Error, "step bad failed") {
			t.Fatalf("status %s: %q", st.Status, st.Error)
		}
		for id, want := range map[string]engine.StepStatus{"bad": engine.StatusFailed, "after_bad": engine.StatusSkipped,
			"later": engine.StatusSkipped, "good": engine.StatusSucceeded} {
			if got := st.Steps[id].Status; got != want {
				t.Errorf("%s = %s, want %s", id, got, want)
			}
		}
		if _, err := os.Stat(filepath.Join(h.dir, "after_bad")); err == nil {
			t.Error("a dependent of a failed step ran")
		}
		h.read("good")
	})
}

func TestWhenFalseSkipsAStep(t *testing.T) {
	onEveryStore(t, func(t *testing.T, open opener) {
		h := newHarness(t, open)
		f := h.flow("f.yaml", `
name: when
inputs:
  go: { type: boolean, default: false }
steps:
  - id: maybe
    when: inputs.go
    shell: echo ran
  - id: always
    shell: echo ran
`)
		st := h.run(f, nil)
		if st.Steps["maybe"].Status != engine.StatusSkipped || st.Steps["always"].Status != engine.StatusSucceeded {
			t.Fatalf("maybe=%s always=%s", st.Steps["maybe"].Status, st.Steps["always"].Status)
		}
		st = h.run(f, map[string]string{"go": "true"})
		if st.Steps["maybe"].Status != engine.StatusSucceeded {
			t.Fatalf("with go=true maybe=%s", st.Steps["maybe"].Status)
		}
	})
}

func TestMapFansOutAndCollectsResultsInOrder(t *testing.T) {
	onEveryStore(t, func(t *testing.T, open opener) {
		h := newHarness(t, open)
		f := h.flow("f.yaml", `
name: fan
steps:
  - id: each
    map: '["a","b","c","d","e"]'
    shell: echo "{{ .index }}:{{ .item }}"
  - id: join
    needs: [each]
    shell: echo '{{ json .steps.each.json }}'
`)
		st := h.run(f, nil)
		if st.Status != engine.RunStatusSucceeded {
			t.Fatalf("status %s: %s", st.Status, st.Error)
		}
		if got := st.Steps["each"].Output; got != `["0:a","1:b","2:c","3:d","4:e"]` {
			t.Errorf("each output = %s", got)
		}
		if got := st.Steps["join"].Output; got != `["0:a","1:b","2:c","3:d","4:e"]` {
			t.Errorf("join output = %s", got)
		}
	})
}

func TestSubFlowRunsAsALinkedChildRun(t *testing.T) {
	onEveryStore(t, func(t *testing.T, open opener) {
		h := newHarness(t, open)
		h.flow("child.yaml", `
name: child
inputs:
  n: { type: integer }
outputs: { doubled: "{{ .steps.double.output }}" }
steps:
  - id: double
    shell: echo $(( {{ .inputs.n }} * 2 ))
`)
		f := h.flow("parent.yaml", `
name: parent
steps:
  - id: count
    shell: echo 21
  - id: sub
    needs: [count]
    flow: child.yaml
    with: { n: "{{ .steps.count.output }}" }
  - id: use
    needs: [sub]
    shell: echo "got {{ .steps.sub.json.doubled }}"
`)
		st := h.run(f, nil)
		if st.Status != engine.RunStatusSucceeded {
			t.Fatalf("status %s: %s", st.Status, st.Error)
		}
		if got := st.Steps["use"].Output; got != "got 42" {
			t.Errorf("use output = %q", got)
		}
		child := st.Steps["sub"].ChildRunID
		info, err := h.store.Run(context.Background(), child)
		if err != nil {
			t.Fatalf("child run %q: %v", child, err)
		}
		if info.ParentRunID != st.ID || info.ParentStepID != "sub" || info.Status != engine.RunStatusSucceeded {
			t.Errorf("child run = %+v", info)
		}
	})
}

func TestTimeoutFailsAnAttemptWithReasonTimeout(t *testing.T) {
	onEveryStore(t, func(t *testing.T, open opener) {
		h := newHarness(t, open)
		f := h.flow("f.yaml", `
name: slow
steps:
  - id: slow
    shell: sleep 30
    timeout: 50ms
`)
		st := h.run(f, nil)
		a := st.Steps["slow"].LastAttempt()
		if st.Status != engine.RunStatusFailed || a.Reason != "timeout" {
			t.Fatalf("status %s, attempt %+v", st.Status, a)
		}
	})
}

func TestStepsSeeTheirIdempotencyKey(t *testing.T) {
	onEveryStore(t, func(t *testing.T, open opener) {
		h := newHarness(t, open)
		f := h.flow("f.yaml", `
name: keys
steps:
  - id: k
    shell: echo "$TANDEM_IDEMPOTENCY_KEY $TANDEM_RUN_ID $TANDEM_STEP_ID"
`)
		st := h.run(f, nil)
		want := st.ID + "/k/1 " + st.ID + " k"
		if got := st.Steps["k"].Output; got != want {
			t.Fatalf("env = %q, want %q", got, want)
		}
	})
}

func TestManualRetryOfAFailedStepContinuesTheRun(t *testing.T) {
	onEveryStore(t, func(t *testing.T, open opener) {
		h := newHarness(t, open)
		f := h.flow("f.yaml", `
name: fixable
steps:
  - id: needs_file
    shell: cat fixed
  - id: after
    needs: [needs_file]
    shell: echo "after {{ .steps.needs_file.output }}"
`)
		st := h.run(f, nil)
		if st.Status != engine.RunStatusFailed || st.Steps["after"].Status != engine.StatusSkipped {
			t.Fatalf("first run: %s, after=%s", st.Status, st.Steps["after"].Status)
		}
		if err := os.WriteFile(filepath.Join(h.dir, "fixed"), []byte("yes\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		if err := h.eng.Retry(ctx, st.ID, "needs_file", ""); err != nil {
			t.Fatal(err)
		}
		st, err := h.eng.Execute(ctx, st.ID)
		if err != nil {
			t.Fatal(err)
		}
		if st.Status != engine.RunStatusSucceeded || st.Steps["after"].Output != "after yes" {
			t.Fatalf("after retry: %s %q", st.Status, st.Steps["after"].Output)
		}
		if n := len(st.Steps["needs_file"].Attempts); n != 2 {
			t.Errorf("needs_file attempts = %d, want 2", n)
		}
	})
}

func TestRetryWithEditedInputRunsTheEditedCommand(t *testing.T) {
	onEveryStore(t, func(t *testing.T, open opener) {
		h := newHarness(t, open)
		f := h.flow("f.yaml", `
name: edit
steps:
  - id: s
    shell: exit 1
`)
		st := h.run(f, nil)
		ctx := context.Background()
		if err := h.eng.Retry(ctx, st.ID, "s", "echo edited"); err != nil {
			t.Fatal(err)
		}
		st, _ = h.eng.Execute(ctx, st.ID)
		if st.Status != engine.RunStatusSucceeded || st.Steps["s"].Output != "edited" {
			t.Fatalf("%s %q", st.Status, st.Steps["s"].Output)
		}
		if in := st.Steps["s"].LastAttempt().Input; in != "echo edited" {
			t.Errorf("recorded input = %q", in)
		}
	})
}

// waitFor returns when the bus delivers an event matching ok.
func waitFor(t *testing.T, sub *engine.Subscription, ok func(engine.Event) bool) {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		select {
		case <-sub.Ready():
			for _, n := range sub.Next() {
				if n.Event != nil && ok(*n.Event) {
					return
				}
			}
		case <-deadline:
			t.Fatal("the expected event never came")
		}
	}
}

func TestInterruptRecordsRunningStepsAndResumeSkipsFinishedOnes(t *testing.T) {
	onEveryStore(t, func(t *testing.T, open opener) {
		h := newHarness(t, open)
		f := h.flow("f.yaml", `
name: resumable
steps:
  - id: first
    shell: echo x >> first.log
  - id: second
    needs: [first]
    shell: 'if [ -f go ]; then echo done; else sleep 30; fi'
`)
		ctx, cancel := context.WithCancel(context.Background())
		in, _ := flows.ResolveInputs(f, nil)
		id, _ := h.eng.Start(ctx, f, in, engine.StartOptions{})
		sub := h.eng.Bus().Subscribe(id)
		defer sub.Close()
		done := make(chan *engine.State)
		go func() {
			st, _ := h.eng.Execute(ctx, id)
			done <- st
		}()
		waitFor(t, sub, func(e engine.Event) bool { return e.Type == engine.StepStarted && e.StepID == "second" })
		cancel()
		st := <-done
		if st.Status != engine.RunStatusInterrupted || st.Steps["second"].Status != engine.StatusInterrupted {
			t.Fatalf("after interrupt: run %s, second %s", st.Status, st.Steps["second"].Status)
		}
		if err := os.WriteFile(filepath.Join(h.dir, "go"), nil, 0o644); err != nil {
			t.Fatal(err)
		}
		st, err := h.eng.Execute(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if st.Status != engine.RunStatusSucceeded {
			t.Fatalf("after resume: %s %s", st.Status, st.Error)
		}
		if got := h.read("first.log"); got != "x\n" {
			t.Fatalf("first ran %d times", strings.Count(got, "x"))
		}
	})
}

func TestResumeAfterACrashReRunsOnlyTheUncommittedStepWithTheSameKey(t *testing.T) {
	onEveryStore(t, func(t *testing.T, open opener) {
		h := newHarness(t, open)
		f := h.flow("f.yaml", `
name: crashy
steps:
  - id: a
    shell: echo a >> a.log
  - id: b
    needs: [a]
    shell: echo "$TANDEM_IDEMPOTENCY_KEY" >> b.log
`)
		ctx := context.Background()
		id, _ := h.eng.Start(ctx, f, map[string]any{}, engine.StartOptions{})
		// The log a crashed process leaves: a committed, b started but never finished.
		now := time.Now()
		must(t, h.store.Append(ctx, []engine.Event{
			{RunID: id, Type: engine.StepStarted, StepID: "a", Attempt: 1, Time: now, Data: []byte(`{"key":"` + id + `/a/1","input":"echo a >> a.log"}`)},
			{RunID: id, Type: engine.StepSucceeded, StepID: "a", Attempt: 1, Time: now, Data: []byte(`{"output":"A"}`)},
			{RunID: id, Type: engine.StepStarted, StepID: "b", Attempt: 1, Time: now, Data: []byte(`{"key":"` + id + `/b/1","input":"echo \"$TANDEM_IDEMPOTENCY_KEY\" >> b.log"}`)},
		}))
		st, err := h.eng.Execute(ctx, id)
		if err != nil || st.Status != engine.RunStatusSucceeded {
			t.Fatalf("resume: %v %v", st.Status, err)
		}
		if _, err := os.Stat(filepath.Join(h.dir, "a.log")); !errors.Is(err, os.ErrNotExist) {
			t.Error("the committed step a ran again")
		}
		if got := h.read("b.log"); got != id+"/b/1\n" {
			t.Errorf("b ran with %q, want the interrupted attempt's key once", got)
		}
		if n := len(st.Steps["b"].Attempts); n != 1 {
			t.Errorf("b attempts = %d, want 1 (the resumed attempt)", n)
		}
	})
}

func TestCancelStopsARunningRun(t *testing.T) {
	onEveryStore(t, func(t *testing.T, open opener) {
		h := newHarness(t, open)
		f := h.flow("f.yaml", `
name: long
steps:
  - id: long
    shell: sleep 30
  - id: next
    needs: [long]
    shell: echo never
`)
		ctx := context.Background()
		id, _ := h.eng.Start(ctx, f, map[string]any{}, engine.StartOptions{})
		sub := h.eng.Bus().Subscribe(id)
		defer sub.Close()
		done := make(chan *engine.State)
		go func() {
			st, _ := h.eng.Execute(ctx, id)
			done <- st
		}()
		waitFor(t, sub, func(e engine.Event) bool { return e.Type == engine.StepStarted && e.StepID == "long" })
		must(t, h.eng.Cancel(ctx, id))
		st := <-done
		if st.Status != engine.RunStatusCancelled || st.Steps["long"].Status != engine.StatusInterrupted || st.Steps["next"].Status != engine.StatusPending {
			t.Fatalf("run %s, long %s, next %s", st.Status, st.Steps["long"].Status, st.Steps["next"].Status)
		}
	})
}

func TestParallelLimitBoundsConcurrentSteps(t *testing.T) {
	onEveryStore(t, func(t *testing.T, open opener) {
		s := open(t)
		e, err := engine.New(engine.Options{Store: s, Parallel: 2})
		if err != nil {
			t.Fatal(err)
		}
		h := &harness{t: t, dir: t.TempDir(), store: s, eng: e}
		// Each step records how many are running at once using a lock directory per slot.
		f := h.flow("f.yaml", `
name: wide
steps:
  - id: fan
    map: '[1,2,3,4,5,6,7,8]'
    shell: 'echo start >> trace; sleep 0.05; echo end >> trace'
`)
		st := h.run(f, nil)
		if st.Status != engine.RunStatusSucceeded {
			t.Fatalf("%s %s", st.Status, st.Error)
		}
		running, peak := 0, 0
		for _, l := range strings.Fields(h.read("trace")) {
			if l == "start" {
				running++
			} else {
				running--
			}
			peak = max(peak, running)
		}
		if peak > 2 {
			t.Fatalf("peak concurrency %d with --parallel 2", peak)
		}
	})
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
