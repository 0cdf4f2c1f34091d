package ui

import (
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"

	"tandem/engine"
)

// TestAMapNodeSaysHowLongItsItemsTook: a finished map step's node shows the span its items
// took (recorded with its result), a running one the time since it started, beside the
// items done.
func TestAMapNodeSaysHowLongItsItemsTook(t *testing.T) {
	t.Parallel()
	finished := runState(
		ev(engine.StepStarted, "start", `{}`),
		ev(engine.StepSucceeded, "start", `{"duration_ms":20}`),
		ev(engine.StepStarted, "each", `{"items":3,"item_values":["a","b","c"]}`),
		ev(engine.StepStarted, "each[0]", `{"parent":"each","index":0}`),
		ev(engine.StepSucceeded, "each[0]", `{"duration_ms":5}`),
		ev(engine.StepStarted, "each[1]", `{"parent":"each","index":1}`),
		ev(engine.StepSucceeded, "each[1]", `{"duration_ms":5}`),
		ev(engine.StepStarted, "each[2]", `{"parent":"each","index":2}`),
		ev(engine.StepSucceeded, "each[2]", `{"duration_ms":5}`),
		ev(engine.StepSucceeded, "each", `{"duration_ms":4500}`),
	)
	running := runState(
		ev(engine.StepStarted, "start", `{}`),
		ev(engine.StepSucceeded, "start", `{"duration_ms":20}`),
		ev(engine.StepStarted, "each", `{"items":3,"item_values":["a","b","c"]}`), // at t0+3s
	)
	for _, tt := range []struct {
		name  string
		state *engine.State
		want  string
	}{
		{"finished", finished, "each shell · 3/3 items · 4.5s"},
		{"running", running, "each shell · 0/3 items · 57.0s"},
	} {
		m := NewDAG(NewTheme(true))
		m.SetSize(150, 30)
		m.SetRun("r1", fanOutFlow(), tt.state, t0.Add(time.Minute))
		// The label whole (a box cuts it to its width).
		if s := ansi.Strip(m.label(layoutNode{id: "each", kind: "shell"}, stepInfos(tt.state)["each"])); !strings.HasSuffix(s, tt.want) {
			t.Errorf("%s: the map node says %q, want %q", tt.name, s, tt.want)
		}
	}
}
