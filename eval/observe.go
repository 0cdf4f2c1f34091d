package eval

import (
	"context"
	"fmt"

	"tandem/agents"
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
	return observe(engine.Fold(events), events)
}

// observe reads what a finished case run did from its state and its events.
func observe(st *engine.State, events []engine.Event) (Observation, error) {
	runID := st.ID
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
	for _, s := range st.Steps {
		if s.Status == engine.StatusSucceeded || s.Status == engine.StatusFailed {
			o.Steps++
		}
	}
	byID := map[string]int{} // tool call id -> index in o.ToolCalls, to mark failed calls
	for _, ev := range events {
		if ev.Type != engine.StepTrace {
			continue
		}
		var d engine.TraceData
		if err := ev.Decode(&d); err != nil {
			return o, fmt.Errorf("read case run %s: event %d: %w", runID, ev.Seq, err)
		}
		rec, err := agents.Decode(d.Kind, d.Data)
		if err != nil {
			return o, fmt.Errorf("read case run %s: event %d: %w", runID, ev.Seq, err)
		}
		switch r := rec.(type) {
		case agents.Start:
			if o.Model == "" {
				o.Model = r.Model
			}
		case agents.LLMRequest: // an llm: step's call
			if o.Model == "" {
				o.Model = r.Model
			}
		case agents.ToolCall:
			byID[ev.StepID+"/"+r.ID+"/"+r.Name] = len(o.ToolCalls)
			o.ToolCalls = append(o.ToolCalls, ToolCall{Name: r.Name, Args: r.Arguments})
		case agents.ToolResult:
			if i, ok := byID[ev.StepID+"/"+r.ID+"/"+r.Name]; ok && r.Error {
				o.ToolCalls[i].Error = true
			}
		case agents.End:
			o.EndReason = r.EndReason
			o.Turns += r.Turns
			o.InvalidActions += r.InvalidActions
		}
	}
	return o, nil
}
