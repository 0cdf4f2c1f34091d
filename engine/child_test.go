package engine_test

import (
	"context"
	"strings"
	"testing"

	"tandem/engine"
)

func TestChildRunIDsOfAMapItemAndALookalikeStepDiffer(t *testing.T) {
	onEveryStore(t, func(t *testing.T, open opener) {
		h := newHarness(t, open)
		h.flow("echo.yaml", "name: echo\ninputs:\n  v: { type: string }\nsteps:\n  - id: say\n    shell: echo item-{{ .inputs.v }}\n")
		h.flow("other.yaml", "name: other\nsteps:\n  - id: say\n    shell: echo other\n")
		f := h.flow("ids.yaml", `
name: ids
steps:
  - id: a
    map: '["x","y"]'
    flow: echo.yaml
    with: { v: "{{ .item }}" }
  - id: a-1
    flow: other.yaml
`)
		st := h.run(f, nil)
		if st.Status != engine.RunStatusSucceeded {
			t.Fatalf("status %s: %s", st.Status, st.Error)
		}
		item, step := st.Steps["a[1]"], st.Steps["a-1"]
		if item.ChildRunID == step.ChildRunID {
			t.Fatalf("map item a[1] and step a-1 share the child run %s", item.ChildRunID)
		}
		if !strings.Contains(step.Output, "other") || !strings.Contains(item.Output, "item-y") {
			t.Fatalf("outputs: a-1 %q, a[1] %q: each must come from its own sub-flow", step.Output, item.Output)
		}
	})
}

func TestAnExistingChildRunOfAnotherStepIsNotReused(t *testing.T) {
	onEveryStore(t, func(t *testing.T, open opener) {
		h := newHarness(t, open)
		ctx := context.Background()
		h.flow("child.yaml", "name: child\nsteps:\n  - id: say\n    shell: echo mine\n")
		f := h.flow("parent.yaml", "name: parent\nsteps:\n  - id: sub\n    flow: child.yaml\n")
		id, err := h.eng.Start(ctx, f, nil, engine.StartOptions{})
		must(t, err)
		// A run already holds the id the step's child would get, linked to another step.
		impostor := h.flow("impostor.yaml", "name: child\nsteps:\n  - id: say\n    shell: echo not yours\n")
		_, err = h.eng.Start(ctx, impostor, map[string]any{}, engine.StartOptions{RunID: id + ".sub.1", ParentRunID: id, ParentStepID: "elsewhere"})
		must(t, err)
		st := h.execute(id)
		if st.Status != engine.RunStatusFailed || !strings.Contains(st.Steps["sub"].LastAttempt().Error, "belongs to step elsewhere") {
			t.Fatalf("status %s, sub %+v: the step must refuse another step's child run", st.Status, st.Steps["sub"].LastAttempt())
		}
	})
}

func TestAJoinAnyStepMergesTheBranchThatRan(t *testing.T) {
	onEveryStore(t, func(t *testing.T, open opener) {
		const src = `
name: choice
inputs:
  pick: { type: string, default: a }
steps:
  - id: a
    when: inputs.pick == "a"
    shell: echo A
  - id: b
    when: inputs.pick == "b"
    shell: echo B
  - id: merge
    needs: [a, b]
    join: any
    shell: echo "merged {{ .steps.a.output }}{{ .steps.b.output }}"
  - id: every
    needs: [a, b]
    shell: echo every
`
		tests := []struct {
			pick, merge, output, every string
		}{
			{"a", "succeeded", "merged A", "skipped"},
			{"b", "succeeded", "merged B", "skipped"},
			{"neither", "skipped", "", "skipped"},
		}
		for _, tt := range tests {
			t.Run("picking "+tt.pick, func(t *testing.T) {
				h := newHarness(t, open)
				st := h.run(h.flow("choice.yaml", src), map[string]string{"pick": tt.pick})
				if st.Status != engine.RunStatusSucceeded {
					t.Fatalf("run %s: %s", st.Status, st.Error)
				}
				m := st.Step("merge")
				if e := st.Step("every"); e.SkipCause != engine.SkipNeed || len(e.SkipNeeds) == 0 {
					t.Errorf("every was skipped with cause %q, needs %v; want need, naming the skipped branch", e.SkipCause, e.SkipNeeds)
				}
				if string(m.Status) != tt.merge || m.Output != tt.output || string(st.Step("every").Status) != tt.every {
					t.Fatalf("merge %s %q (%s), every %s; want merge %s %q, every %s",
						m.Status, m.Output, m.SkipReason, st.Step("every").Status, tt.merge, tt.output, tt.every)
				}
			})
		}
	})
}
