package agents

import (
	"context"

	"tandem/agents/model"
)

// saveStopped keeps a reply stopped on purpose (its context cancelled: ctrl+c in the chat)
// in the task's session: the conversation so far and what the reply had said, marked
// Stopped, so a resumed chat shows it as it was. The save outlives the cancelled context;
// a failure to save leaves the session as it was before the prompt, which is no worse.
func (r *Runner) saveStopped(ctx context.Context, t Task, msgs []model.Message, partial model.Message) {
	partial.Role, partial.Stopped = "assistant", true
	partial.ToolCalls = nil // a call cut mid-stream never ran
	_ = r.save(context.WithoutCancel(ctx), t, append(msgs[:len(msgs):len(msgs)], partial))
}
