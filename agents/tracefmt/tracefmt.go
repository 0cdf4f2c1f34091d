// Package tracefmt turns agent and model trace records into text lines, each with a class
// that says what it is (a heading, bookkeeping, a problem, ...). It is the one place a
// trace's look is decided: `tandem trace` and `tandem ask` print its lines plain or with
// terminal styles, the chat and the workbench's trace pane colour them by class.
package tracefmt

import (
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"

	"tandem/agents"
	"tandem/agents/model"
)

// Class is what a line is, for a viewer to style it.
type Class uint8

// The classes of lines.
const (
	Normal   Class = iota // text as it is: replies, results
	Dim                   // bookkeeping: usage, requests, memory
	Heading               // a turn's rule, an agent's start, its end
	Tool                  // a tool call, or a result's header
	Thinking              // a model's reasoning
	Problem               // invalid actions, repeated calls, forced answers, tool errors, stops
)

var classNames = [...]string{"normal", "dim", "heading", "tool", "thinking", "problem"}

// String names the class, as golden files write it.
func (c Class) String() string {
	if int(c) < len(classNames) {
		return classNames[c]
	}
	return fmt.Sprintf("class(%d)", c)
}

// Line is one line of a formatted trace, without a line break.
type Line struct {
	Text  string
	Class Class
}

// Block is one record formatted: a head line and, for records that carry contents (a
// request's messages, a tool result, an invalid reply), body lines a viewer may fold.
// Copy is the contents as they were, for a viewer's copy command ("" when the head says all).
type Block struct {
	Head Line
	Body []Line
	Copy string
}

// Lines is the block's head followed by its body, each body line indented by two spaces.
func (b Block) Lines() []Line {
	out := make([]Line, 0, 1+len(b.Body))
	out = append(out, b.Head)
	for _, l := range b.Body {
		out = append(out, Line{Text: "  " + l.Text, Class: l.Class})
	}
	return out
}

// maxArgs is how much of a call's arguments a head line shows.
const maxArgs = 200

// Format formats one record in full, as `tandem trace` and the trace pane show it.
func Format(rec agents.Record) Block {
	switch r := rec.(type) {
	case agents.Start:
		head := fmt.Sprintf("agent %s · model %s · mode %s", r.Agent, r.Model, r.Mode)
		if len(r.Tools) > 0 {
			head += " · tools " + strings.Join(r.Tools, ", ")
		}
		if r.MaxTurns > 0 {
			head += fmt.Sprintf(" · max_turns %d", r.MaxTurns)
		}
		if r.MaxTokens > 0 {
			head += fmt.Sprintf(" · max_tokens %d", r.MaxTokens)
		}
		body := textLines("prompt: "+r.Prompt, Normal)
		if r.ModeReason != "" {
			body = append(body, Line{Text: "mode: " + r.ModeReason, Class: Dim})
		}
		return Block{Head: Line{head, Heading}, Body: body}
	case agents.MemoryLoaded:
		return line(fmt.Sprintf("memory: session %s, %s", r.Session, plural(r.Messages, "earlier message")), Dim)
	case agents.Trimmed:
		return line(fmt.Sprintf("context trimmed: dropped the oldest %s to fit num_ctx %d (%d kept)",
			plural(r.DroppedMessages, "message"), r.NumCtx, r.Kept), Problem)
	case agents.Turn:
		return line(fmt.Sprintf("── turn %d (%s, %s) ──", r.Turn, r.Mode, plural(r.Messages, "message")), Heading)
	case agents.Request:
		return request(r)
	case agents.Retry:
		s := fmt.Sprintf("↻ retry %d: %s", r.Attempt, r.Reason)
		if r.Temperature != nil {
			s += fmt.Sprintf(" · temperature %g", *r.Temperature)
		}
		if r.Seed != nil {
			s += fmt.Sprintf(" · seed %d", *r.Seed)
		}
		if r.HalvedStringBudget > 0 {
			s += fmt.Sprintf(" · string budget halved %s", plural(r.HalvedStringBudget, "time"))
		}
		return line(s, Dim)
	case agents.ForceAnswer:
		return line("! forced answer: "+r.Reason, Problem)
	case agents.ToolPolicy:
		s := "tools: " + r.Reason
		if len(r.Withheld) > 0 {
			s = "tools withheld (" + strings.Join(r.Withheld, ", ") + "): " + r.Reason
		}
		return line(s, Dim)
	case agents.RejectedAnswer:
		return Block{Head: Line{"! rejected answer: " + r.Reason, Problem}, Body: textLines(r.Answer, Normal), Copy: r.Answer}
	case agents.Usage:
		ms := r.TotalMS
		if ms == 0 {
			ms = r.EvalMS
		}
		return usage(fmt.Sprintf("turn %d · ", r.Turn), r.PromptTokens, r.OutputTokens, r.TokensPerSecond, ms, r.DoneReason, false)
	case agents.LLMResponse:
		ms := r.Usage.TotalDuration.Milliseconds()
		if ms == 0 {
			ms = r.Usage.EvalDuration.Milliseconds()
		}
		return usage("reply · ", r.Usage.PromptTokens, r.Usage.OutputTokens, r.TokensPerSecond, ms, r.DoneReason, r.Incomplete)
	case agents.InvalidAction:
		head := "! invalid action: " + r.Error
		if r.Cut {
			head += " (cut: " + r.DoneReason + ")"
		}
		return Block{Head: Line{head, Problem}, Body: textLines(r.Content, Normal), Copy: r.Content}
	case agents.InvalidAnswer:
		return Block{Head: Line{"! invalid answer: " + r.Error, Problem}, Body: textLines(r.Answer, Normal), Copy: r.Answer}
	case agents.Repair:
		return Block{Head: Line{"! repair: " + r.Reason, Problem}, Body: textLines(r.Content, Normal), Copy: r.Content}
	case agents.TextToolCall:
		return line(fmt.Sprintf("a call of %s written as text, taken as the call", r.Name), Dim)
	case agents.ToolCall:
		args := argsJSON(r.Arguments)
		pretty, _ := json.MarshalIndent(r.Arguments, "", "  ")
		return Block{Head: Line{fmt.Sprintf("┌ call %s %s", r.Name, clip(args, maxArgs)), Tool}, Copy: string(pretty)}
	case agents.ToolResult:
		label, class := "result of", Tool
		if r.Error {
			label, class = "error from", Problem
		}
		size := r.Size
		if size == 0 {
			size = len(r.Result)
		}
		head := fmt.Sprintf("└ %s %s · %s", label, r.Name, Size(size))
		if r.Truncated {
			head += " (cut)"
		}
		if r.DurationMS > 0 {
			head += fmt.Sprintf(" · %s", seconds(r.DurationMS))
		}
		bodyClass := Normal
		if r.Error {
			bodyClass = Problem
		}
		var body []Line
		for _, l := range textLines(strings.TrimRight(r.Result, "\n"), bodyClass) {
			body = append(body, Line{Text: "│ " + l.Text, Class: l.Class})
		}
		return Block{Head: Line{head, class}, Body: body, Copy: r.Result}
	case agents.RepeatedCall:
		return line(fmt.Sprintf("! repeated call: %s %s, %s with these arguments", r.Name, clip(argsJSON(r.Arguments), maxArgs), ordinal(r.Times)), Problem)
	case agents.End:
		class := Heading
		if r.EndReason != agents.EndAnswer {
			class = Problem
		}
		s := fmt.Sprintf("■ end: %s after %s · %s", r.EndReason, plural(r.Turns, "turn"), plural(r.ToolCalls, "tool call"))
		if r.InvalidActions > 0 {
			s += " · " + plural(r.InvalidActions, "invalid action")
		}
		if r.RejectedAnswers > 0 {
			s += " · " + plural(r.RejectedAnswers, "rejected answer")
		}
		s += fmt.Sprintf(" · %d → %d tokens", r.PromptTokens, r.OutputTokens)
		if r.Detail != "" {
			s += " · " + r.Detail
		}
		return line(s, class)
	case agents.ChildRun:
		return line(fmt.Sprintf("↳ child run %s (%s)", r.RunID, r.Tool), Normal)
	case agents.ModelRetry:
		return line("↻ "+r.Message, Problem)
	case agents.LLMRequest:
		head := fmt.Sprintf("request · model %s · %s", r.Model, plural(len(r.Messages), "message"))
		if r.Schema {
			head += " · JSON schema"
		}
		body, copyText := messages(r.Messages)
		return Block{Head: Line{head, Dim}, Body: body, Copy: copyText}
	case agents.Text:
		class := Normal
		if r.Stream == agents.KindThinking {
			class = Thinking
		}
		return Block{Body: textLines(r.Text, class), Copy: r.Text}
	case agents.Unknown:
		return line(fmt.Sprintf("%s %s", r.Type, clip(string(r.Data), 4000)), Dim)
	}
	b, _ := json.Marshal(rec)
	return line(fmt.Sprintf("%s %s", rec.Kind(), clip(string(b), 4000)), Dim)
}

// WholeRequest formats a turn's request with everything the model saw: every message of the
// conversation, its tools and its reply format, put back together by conv (one per agent
// run, fed every Request in order). Format shows only what is new, as the log holds it.
func WholeRequest(r agents.Request, conv *agents.Conversation) Block {
	msgs, tools, format := conv.Add(r)
	whole := r
	whole.Base, whole.Messages, whole.SameTools, whole.Tools, whole.SameFormat, whole.Format = 0, msgs, false, tools, false, format
	b := request(whole)
	if r.Base > 0 {
		b.Head.Text += fmt.Sprintf(" (%d new)", len(r.Messages))
	}
	return b
}

// request is a Request's block: the head says how much of the conversation is new, the body
// shows the new messages and the tools and reply format when they changed.
func request(r agents.Request) Block {
	head := fmt.Sprintf("request · turn %d · %s", r.Turn, plural(r.Total, "message"))
	if r.Base > 0 {
		head += fmt.Sprintf(" (%d as before, %d new)", r.Base, len(r.Messages))
	}
	switch {
	case r.SameTools:
	case len(r.Tools) > 0:
		head += " · " + plural(len(r.Tools), "tool schema")
	}
	if !r.SameFormat && len(r.Format) > 0 {
		head += " · reply format " + Size(len(r.Format))
	}
	body, copyText := messages(r.Messages)
	if !r.SameTools {
		for _, t := range r.Tools {
			params, _ := json.Marshal(t.Parameters)
			body = append(body, Line{Text: fmt.Sprintf("tool %s: %s", t.Name, clip(string(params), 400)), Class: Dim})
		}
	}
	if !r.SameFormat && len(r.Format) > 0 {
		body = append(body, Line{Text: "format: " + clip(string(r.Format), 400), Class: Dim})
	}
	return Block{Head: Line{head, Dim}, Body: body, Copy: copyText}
}

// messages shows chat messages as people read them: a role, then the text.
func messages(msgs []model.Message) ([]Line, string) {
	var body []Line
	var cp strings.Builder
	for _, m := range msgs {
		label := m.Role
		if m.Role == "tool" && m.ToolName != "" {
			label = "tool " + m.ToolName
		}
		text := m.Content
		for _, c := range m.ToolCalls {
			if text != "" {
				text += "\n"
			}
			text += fmt.Sprintf("→ %s %s", c.Name, clip(argsJSON(c.Arguments), maxArgs))
		}
		lines := strings.Split(strings.TrimRight(text, "\n"), "\n")
		body = append(body, Line{Text: label + ": " + lines[0], Class: Normal})
		for _, l := range lines[1:] {
			body = append(body, Line{Text: "  " + l, Class: Normal})
		}
		fmt.Fprintf(&cp, "%s: %s\n\n", label, text)
	}
	return body, strings.TrimRight(cp.String(), "\n")
}

func usage(prefix string, prompt, output int, rate float64, ms int64, doneReason string, incomplete bool) Block {
	s := fmt.Sprintf("%s%d → %d tokens", prefix, prompt, output)
	if rate > 0 {
		s += fmt.Sprintf(" · %.0f tok/s", rate)
	}
	if ms > 0 {
		s += " · " + seconds(ms)
	}
	class := Dim
	switch {
	case doneReason == "length":
		s += " · cut at the token limit (options.num_predict)"
		class = Problem
	case doneReason != "" && doneReason != "stop":
		s += " · ended: " + doneReason
	}
	if incomplete {
		s += " · the reply stream was cut"
		class = Problem
	}
	return line(s, class)
}

// Brief formats a record as the one line `tandem ask` and the chat show for it, ok false for
// records they leave out. A result is cut to width characters.
func Brief(rec agents.Record, width int) (Line, bool) {
	switch r := rec.(type) {
	case agents.ToolCall:
		return Line{fmt.Sprintf("▸ %s %s", r.Name, argsJSON(r.Arguments)), Tool}, true
	case agents.ToolResult:
		class := Dim
		if r.Error {
			class = Problem
		}
		return Line{fmt.Sprintf("◂ %s: %s", r.Name, OneLine(r.Result, width)), class}, true
	case agents.InvalidAction:
		return Line{"! invalid_action: " + r.Error, Problem}, true
	case agents.InvalidAnswer:
		return Line{"! invalid_answer: " + r.Error, Problem}, true
	case agents.RejectedAnswer:
		return Line{"! rejected_answer: " + r.Reason, Problem}, true
	case agents.Repair:
		return Line{"! repair: " + r.Reason, Problem}, true
	case agents.RepeatedCall:
		return Line{fmt.Sprintf("! repeated call: %s %s", r.Name, OneLine(argsJSON(r.Arguments), width)), Problem}, true
	case agents.ModelRetry:
		return Line{"↻ " + r.Message, Problem}, true
	case agents.Usage:
		if r.DoneReason == "length" {
			return Line{"✂ the reply was cut at the token limit (raise options.num_predict in the agent file)", Problem}, true
		}
	case agents.End:
		if r.Stopped() {
			return Line{fmt.Sprintf("■ stopped: %s (%s)", r.EndReason, r.Detail), Problem}, true
		}
	}
	return Line{}, false
}

func line(s string, c Class) Block { return Block{Head: Line{s, c}} }

// textLines splits text into lines of class c; empty text has none.
func textLines(s string, c Class) []Line {
	if s == "" {
		return nil
	}
	parts := strings.Split(s, "\n")
	out := make([]Line, len(parts))
	for i, p := range parts {
		out[i] = Line{Text: p, Class: c}
	}
	return out
}

// Size writes a byte count the way people read it: 312 B, 4.1 kB.
func Size(n int) string {
	if n < 1000 {
		return fmt.Sprintf("%d B", n)
	}
	return fmt.Sprintf("%.1f kB", float64(n)/1000)
}

func seconds(ms int64) string {
	if ms < 100 {
		return fmt.Sprintf("%d ms", ms)
	}
	return fmt.Sprintf("%.1f s", float64(ms)/1000)
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

func ordinal(n int) string {
	switch {
	case n%100 >= 11 && n%100 <= 13:
		return fmt.Sprintf("%dth time", n)
	case n%10 == 1:
		return fmt.Sprintf("%dst time", n)
	case n%10 == 2:
		return fmt.Sprintf("%dnd time", n)
	case n%10 == 3:
		return fmt.Sprintf("%drd time", n)
	}
	return fmt.Sprintf("%dth time", n)
}

func argsJSON(args map[string]any) string {
	if args == nil {
		return "{}"
	}
	b, err := json.Marshal(args)
	if err != nil {
		return fmt.Sprint(args)
	}
	return string(b)
}

// OneLine folds s onto one line and cuts it to n characters.
func OneLine(s string, n int) string {
	return clip(strings.Join(strings.Fields(s), " "), n)
}

// clip cuts s to n characters, marking the cut with "…".
func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n]) + "…"
}
