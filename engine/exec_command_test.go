package engine_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"tandem/engine"
)

func TestAStepWhoseBackgroundProcessHoldsItsOutputFailsInsteadOfHanging(t *testing.T) {
	onEveryStore(t, func(t *testing.T, open opener) {
		h := newHarness(t, open)
		// sh exits at once, but the loop it leaves in the background keeps stdout open while
		// the flow file is there (until the test's directory is removed): waiting for the
		// pipe's end would never finish.
		f := h.flow("f.yaml", `
name: daemon
steps:
  - id: start
    shell: '(while [ -e f.yaml ]; do sleep 0.05; done) & echo started'
  - id: after
    needs: [start]
    shell: echo never
`)
		// Should the step hang, the deadline kills its process group, the loop with it, and
		// the run ends cancelled: the check below then fails instead of the test hanging.
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		id, err := h.eng.Start(ctx, f, map[string]any{}, engine.StartOptions{})
		must(t, err)
		st, err := h.eng.Execute(ctx, id)
		must(t, err)
		a := st.Steps["start"].LastAttempt()
		if st.Status != engine.RunStatusFailed || a == nil || !strings.Contains(a.Error, "still held its output open") {
			t.Fatalf("run %s, start %+v", st.Status, a)
		}
	})
}

func TestAStepsEnvReplacesTheVariableItInherits(t *testing.T) {
	onEveryStore(t, func(t *testing.T, open opener) {
		t.Setenv("TANDEM_TEST_GREETING", "inherited")
		h := newHarness(t, open)
		// printenv prints every entry of the name it finds: a second one would show.
		f := h.flow("f.yaml", `
name: env
steps:
  - id: greet
    run: ["printenv", "TANDEM_TEST_GREETING"]
    env: { TANDEM_TEST_GREETING: "from the step" }
`)
		st := h.run(f, nil)
		if got := st.Steps["greet"].Output; st.Status != engine.RunStatusSucceeded || got != "from the step" {
			t.Fatalf("run %s, output %q", st.Status, got)
		}
	})
}

func TestAnEnvValueWithANulByteFailsTheStepWithoutRetrying(t *testing.T) {
	onEveryStore(t, func(t *testing.T, open opener) {
		h := newHarness(t, open)
		f := h.flow("f.yaml", `
name: nul
steps:
  - id: a
    shell: printf 'x\000y'
  - id: b
    needs: [a]
    run: ["true"]
    env: { FROM_A: "{{ .steps.a.output }}" }
    retry: { max_attempts: 3, backoff: 1ms }
`)
		st := h.run(f, nil)
		b := st.Steps["b"]
		if st.Status != engine.RunStatusFailed || len(b.Attempts) != 1 || !strings.Contains(b.LastAttempt().Error, "env FROM_A: the value holds a NUL byte") {
			t.Fatalf("run %s, b %+v", st.Status, b.LastAttempt())
		}
	})
}
