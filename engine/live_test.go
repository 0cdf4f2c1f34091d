package engine_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"tandem/engine"
)

func TestTheLogKeepsABoundedAmountOfLiveOutputAndMarksTheCut(t *testing.T) {
	onEveryStore(t, func(t *testing.T, open opener) {
		ctx := context.Background()
		s := open(t)
		const limit = 64 << 10
		e, err := engine.New(engine.Options{Store: s, LiveOutputLimit: limit, PollEvery: 10 * time.Millisecond})
		must(t, err)
		dir := t.TempDir()
		// One MiB of stdout, then the step holds until the test has seen it reach the log.
		id := startRun(t, e, dir, `
name: flood
steps:
  - id: flood
    shell: 'head -c 1048576 /dev/zero | tr "\0" x; while [ ! -f open ]; do sleep 0.01; done'
`, nil)
		sub := e.Bus().Subscribe(id)
		defer sub.Close()
		done := make(chan error, 1)
		go func() { _, err := e.Execute(ctx, id); done <- err }()
		waitForEvent(t, sub, engine.StepOutput, "flood")
		must(t, os.WriteFile(filepath.Join(dir, "open"), nil, 0o644))
		must(t, receive(t, done, "Execute"))

		evs, err := s.Events(ctx, id, 0)
		must(t, err)
		var live strings.Builder
		for _, ev := range evs {
			if ev.Type == engine.StepOutput {
				var d engine.StepOutputData
				must(t, json.Unmarshal(ev.Data, &d))
				live.WriteString(d.Text)
			}
		}
		text := live.String()
		if n := strings.Count(text, "x"); n != limit {
			t.Errorf("the log kept %d bytes of live output, want the limit %d", n, limit)
		}
		if strings.Count(text, "[tandem: live output cut here, after 64 KiB") != 1 {
			t.Errorf("no single cut marker after the kept output: ...%q", text[max(len(text)-200, 0):])
		}
		st, err := e.State(ctx, id)
		must(t, err)
		if got := len(st.Steps["flood"].Output); got != 1<<20 {
			t.Errorf("the step's output is %d bytes, want all 1 MiB: the live limit is only the log's copy", got)
		}
	})
}

func TestAStepOutputPastTheCapSaysItWasCut(t *testing.T) {
	onEveryStore(t, func(t *testing.T, open opener) {
		h := newHarness(t, open)
		st := h.run(h.flow("big.yaml", `
name: big
steps:
  - id: big
    shell: 'head -c 1572864 /dev/zero | tr "\0" x'
`), nil)
		out := st.Steps["big"].Output
		if !strings.HasSuffix(out, "[tandem: output cut at 1 MiB; 524288 more bytes were not kept]") {
			t.Fatalf("output of %d bytes ends %q: a cut output must say so", len(out), out[max(len(out)-100, 0):])
		}
	})
}

func TestAStepOutputThatIsNotUTF8SaysSo(t *testing.T) {
	onEveryStore(t, func(t *testing.T, open opener) {
		h := newHarness(t, open)
		st := h.run(h.flow("bin.yaml", "name: bin\nsteps:\n  - id: bin\n    shell: printf 'ok\\377\\376'\n"), nil)
		out := st.Steps["bin"].Output
		if !strings.HasPrefix(out, "ok\uFFFD") || !strings.Contains(out, "[tandem: the output was not UTF-8 text") {
			t.Fatalf("output %q: bytes that are not text must not be replaced silently", out)
		}
	})
}

func TestLiveOutputSaysWhichAttemptMadeIt(t *testing.T) {
	onEveryStore(t, func(t *testing.T, open opener) {
		ctx := context.Background()
		s := open(t)
		e, err := engine.New(engine.Options{Store: s, PollEvery: 10 * time.Millisecond})
		must(t, err)
		dir := t.TempDir()
		// The first attempt prints and fails; the second prints and succeeds.
		id := startRun(t, e, dir, `
name: twice
steps:
  - id: flaky
    shell: 'if [ -f tried ]; then echo second; else touch tried; echo first; exit 1; fi'
    retry: { max_attempts: 2, backoff: 1ms }
`, nil)
		sub := e.Bus().Subscribe(id)
		defer sub.Close()
		done := make(chan error, 1)
		go func() { _, err := e.Execute(ctx, id); done <- err }()
		must(t, receive(t, done, "Execute"))
		got := map[int]string{}
		for _, n := range sub.Next() {
			if d := n.Delta; d != nil && d.Stream == "stdout" {
				got[d.Attempt] += d.Text
			}
		}
		if got[1] != "first\n" || got[2] != "second\n" || len(got) != 2 {
			t.Fatalf("stdout by attempt = %v, want first from attempt 1 and second from attempt 2", got)
		}
	})
}
