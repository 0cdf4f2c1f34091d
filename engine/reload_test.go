package engine_test

import (
	"context"
	"strings"
	"testing"

	"tandem/engine"
)

func TestRetryReloadedRunsTheFileAsItIsNow(t *testing.T) {
	onEveryStore(t, func(t *testing.T, open opener) {
		h := newHarness(t, open)
		f := h.flow("f.yaml", `
name: reload
steps:
  - id: a
    shell: echo one
  - id: b
    needs: [a]
    shell: exit 1
`)
		st := h.run(f, nil)
		if st.Steps["b"].Status != engine.StatusFailed {
			t.Fatalf("b is %s, want failed", st.Steps["b"].Status)
		}
		fixed := h.flow("f.yaml", `
name: reload
steps:
  - id: a
    shell: echo one
  - id: b
    needs: [a]
    shell: echo fixed
  - id: c
    needs: [b]
    shell: echo new-step
`)
		ctx := context.Background()
		if err := h.eng.RetryReloaded(ctx, st.ID, "b", fixed); err != nil {
			t.Fatal(err)
		}
		st, _ = h.eng.Execute(ctx, st.ID)
		if st.Status != engine.RunStatusSucceeded || st.Steps["b"].Output != "fixed" || st.Steps["c"].Output != "new-step" {
			t.Fatalf("after the reload: %s, b %q, c %+v", st.Status, st.Steps["b"].Output, st.Steps["c"])
		}
		if len(st.Steps["a"].Attempts) != 1 {
			t.Errorf("a ran again: %d attempts", len(st.Steps["a"].Attempts))
		}
		if !strings.Contains(st.Start.Source, "echo fixed") {
			t.Errorf("the run's recorded source is still the old one:\n%s", st.Start.Source)
		}
	})
}

func TestReloadRefusesAFileThatChangedCompletedSteps(t *testing.T) {
	onEveryStore(t, func(t *testing.T, open opener) {
		h := newHarness(t, open)
		f := h.flow("f.yaml", "name: r\nsteps:\n  - id: a\n    shell: echo a\n  - id: x\n    shell: echo x\n  - id: b\n    needs: [a]\n    shell: exit 1\n")
		st := h.run(f, nil)
		tests := []struct {
			name, src, want string
		}{
			{"a completed step removed", "name: r\nsteps:\n  - id: x\n    shell: echo x\n  - id: b\n    shell: echo b\n", "a (removed)"},
			{"a completed step's needs changed", "name: r\nsteps:\n  - id: x\n    shell: echo x\n  - id: a\n    needs: [x]\n    shell: echo a\n  - id: b\n    needs: [a]\n    shell: echo b\n", "a (needs changed)"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				err := h.eng.RetryReloaded(context.Background(), st.ID, "b", h.flow("f.yaml", tt.src))
				if err == nil || !strings.Contains(err.Error(), tt.want) {
					t.Fatalf("err = %v, want it to name %s", err, tt.want)
				}
			})
		}
	})
}
