package eval

import (
	"context"
	"encoding/json"
	"fmt"

	"tandem/engine"
)

// agentStep is the step id engine.AgentFlow gives the agent.
const agentStep = "agent"

// Observe reads what a finished case run did from its log.
func Observe(ctx context.Context, e *engine.Engine, runID string) (Observation, error) {
	events, err := e.Store().Events(ctx, runID, 0)
	if err != nil {
		return Observation{}, fmt.Errorf("read case run %s: %w", runID, err)
	}
	if len(events) == 0 {
		return Observation{}, fmt.Errorf("read case run %s: %w", runID, engine.ErrRunNotFound)
	}
	st := engine.Fold(events)
	o := Observation{RunID: st.ID, Status: string(st.Status), Error: st.Error,
		Tokens: st.Tokens.Prompt + st.Tokens.Output}
	if !st.EndedAt.IsZero() {
		o.Duration = st.EndedAt.Sub(st.StartedAt)
	}
	if s, ok := st.Steps[agentStep]; ok && len(st.Steps) == 1 {
		o.Answer = s.Output
	} else if text, ok := st.Output.(string); ok {
		o.Answer = text
	} else if st.Output != nil {
		o.Answer = compactJSON(st.Output)
	}
	byID := map[string]int{} // tool call id -> index in o.ToolCalls, to mark failed calls
	for _, ev := range events {
		if ev.Type != engine.StepTrace {
			continue
		}
		var rec struct {
			Kind string          `json:"kind"`
			Data json.RawMessage `json:"data"`
		}
		if ev.Decode(&rec) != nil {
			continue
		}
		switch rec.Kind {
		case "start":
			var d struct{ Model string }
			if json.Unmarshal(rec.Data, &d) == nil && o.Model == "" {
				o.Model = d.Model
			}
		case "tool_call":
			var d struct {
				ID        string         `json:"id"`
				Name      string         `json:"name"`
				Arguments map[string]any `json:"arguments"`
			}
			if json.Unmarshal(rec.Data, &d) == nil {
				byID[ev.StepID+"/"+d.ID+"/"+d.Name] = len(o.ToolCalls)
				o.ToolCalls = append(o.ToolCalls, ToolCall{Name: d.Name, Args: d.Arguments})
			}
		case "tool_result":
			var d struct {
				ID    string `json:"id"`
				Name  string `json:"name"`
				Error bool   `json:"error"`
			}
			if json.Unmarshal(rec.Data, &d) == nil && d.Error {
				if i, ok := byID[ev.StepID+"/"+d.ID+"/"+d.Name]; ok {
					o.ToolCalls[i].Error = true
				}
			}
		case "end":
			var d struct {
				EndReason      string `json:"end_reason"`
				Turns          int    `json:"turns"`
				InvalidActions int    `json:"invalid_actions"`
			}
			if json.Unmarshal(rec.Data, &d) == nil {
				o.EndReason = d.EndReason
				o.Turns += d.Turns
				o.InvalidActions += d.InvalidActions
			}
		}
	}
	return o, nil
}
