package render

import (
	"encoding/json"
	"io"

	"tandem/engine"
)

// Run is the one JSON shape of a run, printed by every command's --json that ends on a run
// (run, resume, retry, skip, fork, continue, step and show): the run's index row, its
// folded state (steps by id), and its steps again as a list in the flow's order. Unset times
// are null and attempt numbers are "attempt" throughout.
type Run struct {
	Run   engine.RunInfo      `json:"run"`
	State *engine.State       `json:"state"`
	Steps []*engine.StepState `json:"steps"`
}

// NewRun puts a run's row and state in the one shape.
func NewRun(info engine.RunInfo, st *engine.State) Run {
	order := StepOrder(st)
	steps := make([]*engine.StepState, 0, len(order))
	for _, id := range order {
		steps = append(steps, st.Step(id))
	}
	return Run{Run: info, State: st, Steps: steps}
}

// JSON writes v as indented JSON. It goes to the raw stdout: encoding/json escapes control
// characters itself.
func JSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
