package engine

import "context"

// ToolCall names the step whose agent made a tool call, so an approver asking a person can
// say who is asking. The agent step's executor puts it in the context it passes to the
// approver (WithToolCall).
type ToolCall struct {
	RunID, StepID string
	Attempt       int
	Agent         string // the agent's name
}

type toolCallKey struct{}

// WithToolCall returns ctx carrying call, for the approver of that call.
func WithToolCall(ctx context.Context, call ToolCall) context.Context {
	return context.WithValue(ctx, toolCallKey{}, call)
}

// ToolCallFrom returns the step that made the tool call ctx was passed to an approver for;
// ok is false for a context no executor made.
func ToolCallFrom(ctx context.Context) (call ToolCall, ok bool) {
	call, ok = ctx.Value(toolCallKey{}).(ToolCall)
	return call, ok
}
