package engine

import (
	"encoding/json"
	"fmt"
	"strings"

	"tandem/flows"
)

// jsonValue parses a step output that is a JSON object or array, so templates can address
// .steps.ID.json.field.
func jsonValue(out string) (any, bool) {
	t := strings.TrimSpace(out)
	if t == "" || (t[0] != '{' && t[0] != '[') {
		return nil, false
	}
	var v any
	if err := json.Unmarshal([]byte(t), &v); err != nil {
		return nil, false
	}
	return v, true
}

// outputValue is an output as a value: parsed JSON when it is an object or array, else text.
func outputValue(out string) any {
	if v, ok := jsonValue(out); ok {
		return v
	}
	return out
}

// outputs computes the run's output: the flow's declared outputs, or its leaf steps' outputs.
func (r *runner) outputs() (any, error) {
	data := r.data(nil, nil)
	out := map[string]any{}
	if len(r.flow.Outputs) > 0 {
		for k, t := range r.flow.Outputs {
			v, err := flows.Render(t, data)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", k, err)
			}
			out[k] = outputValue(v)
		}
		return out, nil
	}
	needed := map[string]bool{}
	for _, s := range r.flow.Steps {
		for _, n := range s.Needs {
			needed[n] = true
		}
	}
	for _, s := range r.flow.Steps {
		if ss := r.st.Step(s.ID); !needed[s.ID] && ss.Status == StatusSucceeded {
			out[s.ID] = outputValue(ss.Output)
		}
	}
	return out, nil
}

// data is the template and expression data for a step (nil for run-level templates).
func (r *runner) data(s *flows.Step, ss *StepState) map[string]any {
	steps := map[string]any{}
	add := func(id string) {
		st := r.st.Step(id)
		m := map[string]any{"output": st.Output, "status": string(st.Status)}
		if v, ok := jsonValue(st.Output); ok {
			m["json"] = v
		}
		steps[id] = m
	}
	if s == nil || s.RefsAll {
		for _, fs := range r.flow.Steps {
			add(fs.ID)
		}
	} else {
		// Validation guarantees a step reads only the steps in Refs.
		for _, id := range s.Refs {
			add(id)
		}
	}
	inputs := r.st.Start.Inputs
	if inputs == nil {
		inputs = map[string]any{}
	}
	d := map[string]any{"inputs": r.secretInputs(inputs), "steps": steps, "run": map[string]any{"id": r.runID}}
	if ss != nil && ss.Parent != "" {
		d["item"], d["index"] = ss.Item, ss.Index
	}
	return d
}
