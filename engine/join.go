package engine

import (
	"strings"

	"tandem/flows"
)

// blockedAny is blocked for a step with join: any, whose needs are all finished: it runs
// when at least one of them succeeded, and is skipped only when none did.
func (r *runner) blockedAny(s *flows.Step) string {
	for _, n := range s.Needs {
		if r.st.Step(n).Status == StatusSucceeded {
			return ""
		}
	}
	return needsPrefix + strings.Join(s.Needs, ", ") + ", none of which succeeded"
}
