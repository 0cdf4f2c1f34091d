package agents

import (
	"fmt"
	"slices"
	"strings"

	"tandem/agents/model"
)

// retryTemperature is how a retry after an invalid reply samples: at temperature 0 the same
// conversation gives the same broken reply, so the retry draws with some randomness, from a
// seed derived from the agent's, to stay repeatable.
const retryTemperature = 0.7

// retryState counts the invalid fallback replies in a row and says how to sample the next.
type retryState struct {
	n    int // invalid replies in a row
	cuts int // of which cut at num_predict or aborted: the strings' budget is halved as often
}

// failed records an invalid reply; cut says whether it stopped inside its JSON.
func (s *retryState) failed(cut bool) {
	s.n++
	if cut {
		s.cuts++
	}
}

// options are the sampling options for the next request.
func (s retryState) options(base model.Options) model.Options {
	if s.n == 0 {
		return base
	}
	o := base
	temp := retryTemperature
	if base.Temperature != nil && *base.Temperature > temp {
		temp = *base.Temperature
	}
	seed := 1
	if base.Seed != nil {
		seed = *base.Seed
	}
	seed += 7919 * s.n
	o.Temperature, o.Seed = &temp, &seed
	return o
}

// record is the trace record of a retry.
func (s retryState) record(turn int, o model.Options) Retry {
	return Retry{Turn: turn, Attempt: s.n + 1, HalvedStringBudget: s.cuts, Temperature: o.Temperature, Seed: o.Seed,
		Reason: "the last reply was not a valid action; it is left out and the next one sampled differently"}
}

// resultTurn gives a tool's result back to a fallback model as a user turn that restates
// the task and says what may come next: the answer if the result gives it, or the call that
// gets it. A small model reads a user turn better than a tool message. Told only to "reply
// with the next JSON object", a 0.5B model takes "next" as the next entry of the tool list
// and walks it (read_file, then list_dir, then write_file) instead of answering.
func resultTurn(c model.ToolCall, result, task string, ending string) model.Message {
	return model.Message{Role: "user", Content: fmt.Sprintf("%s %s returned:\n%s\n\nTask: %s\n%s",
		c.Name, argsJSON(c.Arguments), result, task, ending)}
}

// isResultTurn reports whether a user message is a fallback result turn (resultTurn).
func isResultTurn(content string) bool {
	return strings.Contains(content, " returned:\n") &&
		(strings.HasSuffix(content, answerOrCall) || strings.HasSuffix(content, answerNowOrChange) ||
			strings.HasSuffix(content, nextObject) || strings.HasSuffix(content, answerNow))
}

// answerOrCall ends a result turn that leaves the next action open.
const answerOrCall = `If this gives what the task asks for, reply {"answer": "<your answer>"}; if not, reply with the tool call that gets it.`

// answerNowOrChange ends a result turn after which nothing named is left to read.
const answerNowOrChange = `Nothing named is left to read. Reply {"answer": "<your answer>"} with what the task asks for; call a tool only if the task asks you to change something.`

// nextObject ended result turns before answerOrCall (kept for the ablation).
const nextObject = "Reply with the next JSON object."

// answerNow ends the result turn before a turn that may only answer.
const answerNow = `Answer the task from what the tools returned: reply {"answer": "<your answer>"}.`

// askForTheAnswer is the conversation for a turn that may only answer: the last result turn
// asks for the answer rather than "the next JSON object", so that the prompt says what the
// grammar allows (a 0.5B model told to pick the next object, and held to an answer, writes
// a tool's name or a file's name as its answer).
func askForTheAnswer(msgs []model.Message) []model.Message {
	last := len(msgs) - 1
	if last < 0 || msgs[last].Role != "user" || !isResultTurn(msgs[last].Content) {
		return msgs
	}
	out := slices.Clone(msgs)
	c := out[last].Content
	for _, end := range []string{answerOrCall, answerNowOrChange, nextObject, answerNow} {
		c = strings.TrimSuffix(c, end)
	}
	out[last].Content = c + answerNow
	return out
}

// definitions are the tools as the model sees them this turn.
func definitions(tools []Tool, named []string) []model.Tool {
	defs := make([]model.Tool, len(tools))
	for i, t := range tools {
		defs[i] = model.Tool{Name: t.Name, Description: t.Description, Parameters: toolParams(t, named)}
	}
	return defs
}

// withoutTurnParameters drops the per-turn schemas (the path enums), for the ablation.
func withoutTurnParameters(tools []Tool) []Tool {
	out := make([]Tool, len(tools))
	for i, t := range tools {
		t.TurnParameters = nil
		out[i] = t
	}
	return out
}
