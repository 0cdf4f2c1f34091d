package engine

import (
	"strings"

	"tandem/flows"
)

// Why a step whose needs are all finished cannot run (see runner.blocked).

// blockedAny is blocked for a step with join: any: it runs when at least one of its needs
// succeeded, and is skipped only when none did.
func (r *runner) blockedAny(s *flows.Step) string {
	for _, n := range s.Needs {
		if r.st.Step(n).Status == StatusSucceeded {
			return ""
		}
	}
	return needsPrefix + strings.Join(s.Needs, ", ") + ", none of which succeeded"
}

// blockers are the needs that keep a blocked step from running, recorded with its skip so
// that a retry or a manual output of one of them re-opens exactly this step.
func (r *runner) blockers(s *flows.Step) []string {
	if s.Join == flows.JoinAny {
		return s.Needs
	}
	var out []string
	for _, n := range s.Needs {
		switch r.st.Step(n).Status {
		case StatusFailed:
			if dep := r.flow.StepByID(n); dep == nil || !dep.ContinueOnError {
				out = append(out, n)
			}
		case StatusSkipped:
			out = append(out, n)
		}
	}
	return out
}
