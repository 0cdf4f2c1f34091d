package agents

import (
	"fmt"
	"strings"

	"tandem/agents/model"
)

// A turn that may only answer (after a repeated call, or once nothing named is left to read
// and no tool is offered) used to go out as the whole conversation, under a system prompt
// that lists every tool as the JSON to send. A 0.5B model then answers with a tool's name
// ({"answer": "read_file"}) or a file's name ("pointer.txt"), or answers from the one result
// it saw last ("Revenue grew 12% in Q3." for a Q4 question, having read q3.txt and q4.txt).
// So such a turn is asked as one question: a system prompt that offers only the answer, and a
// single user turn with everything the tools returned, then the task.

// evidence is one tool call of the run and what it returned.
type evidence struct {
	call   model.ToolCall
	result string
}

// addEvidence records a call's result; a call made again replaces the earlier result.
func addEvidence(ev []evidence, c model.ToolCall, result string) []evidence {
	key := c.Name + " " + argsJSON(c.Arguments)
	for i, e := range ev {
		if e.call.Name+" "+argsJSON(e.call.Arguments) == key {
			ev = append(ev[:i], ev[i+1:]...)
			break
		}
	}
	return append(ev, evidence{call: c, result: result})
}

// answerInstructions end the system prompt of an answer-only turn.
const answerInstructions = "\n\nReply with one JSON object: {\"answer\": \"<your answer>\"}.\n"

// recapRequest is the conversation of an answer-only turn: system is the agent's system
// prompt without the tool list, history the turns before the task (a session's memory).
func recapRequest(system string, history []model.Message, task string, ev []evidence) []model.Message {
	out := []model.Message{{Role: "system", Content: strings.TrimSpace(system + answerInstructions)}}
	out = append(out, history...)
	var b strings.Builder
	b.WriteString("The tools returned:\n")
	for _, e := range ev {
		fmt.Fprintf(&b, "\n%s %s returned:\n%s\n", e.call.Name, argsJSON(e.call.Arguments), strings.TrimRight(e.result, "\n"))
	}
	fmt.Fprintf(&b, "\nTask: %s\n%s", task, answerNow)
	return append(out, model.Message{Role: "user", Content: b.String()})
}

// historyBefore are the messages between the system prompt and the task's prompt.
func historyBefore(msgs []model.Message, task string) []model.Message {
	for i := len(msgs) - 1; i >= 0; i-- {
		if msgs[i].Role == "user" && msgs[i].Content == task {
			start := 0
			if len(msgs) > 0 && msgs[0].Role == "system" {
				start = 1
			}
			if i < start {
				return nil
			}
			return msgs[start:i]
		}
	}
	return nil
}
