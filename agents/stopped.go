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

// withoutStoppedAttempt drops the end of a session that is a stopped attempt at prompt: the
// prompt, what the run did for it, and its reply marked Stopped (what saveStopped keeps).
// A run interrupted mid-reply and resumed runs its agent again with the same prompt, which
// would otherwise be in the conversation twice, the first time with a broken-off answer. It
// returns the history to use and how many messages it left out.
func withoutStoppedAttempt(history []model.Message, prompt string) ([]model.Message, int) {
	n := len(history)
	if n == 0 || history[n-1].Role != "assistant" || !history[n-1].Stopped {
		return history, 0
	}
	for i := n - 2; i >= 0; i-- {
		if history[i].Role != "user" {
			continue
		}
		if history[i].Content == prompt {
			return history[:i], n - i
		}
		// A user turn that is not the prompt: a tool result in fallback mode, or an
		// earlier prompt, after which the stopped reply belongs to another question.
		if !isResultTurn(history[i].Content) {
			return history, 0
		}
	}
	return history, 0
}
