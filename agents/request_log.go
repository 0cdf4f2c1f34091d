package agents

import (
	"bytes"
	"encoding/json"
	"slices"

	"tandem/agents/model"
)

// requestLog makes the Request records of one agent run. Each turn's conversation starts
// with the last one's, so a record that repeated every message would make the log grow with
// the square of the conversation; a record holds only what changed since the request before.
type requestLog struct {
	msgs   []model.Message
	tools  []byte // the previous request's tools as JSON
	format json.RawMessage
	sent   bool
}

// record returns the Request record of req at turn.
func (l *requestLog) record(turn int, req model.Request) Request {
	base := 0
	for base < len(l.msgs) && base < len(req.Messages) && sameMessage(l.msgs[base], req.Messages[base]) {
		base++
	}
	rec := Request{Turn: turn, Base: base, Messages: slices.Clone(req.Messages[base:]), Total: len(req.Messages)}
	tools, _ := json.Marshal(req.Tools)
	if l.sent && bytes.Equal(tools, l.tools) {
		rec.SameTools = true
	} else {
		rec.Tools = req.Tools
	}
	if l.sent && bytes.Equal(req.Format, l.format) {
		rec.SameFormat = true
	} else {
		rec.Format = req.Format
	}
	l.msgs, l.tools, l.format, l.sent = req.Messages, tools, req.Format, true
	return rec
}

func sameMessage(a, b model.Message) bool {
	if a.Role != b.Role || a.Content != b.Content || a.Thinking != b.Thinking || a.ToolName != b.ToolName ||
		a.Stopped != b.Stopped || len(a.ToolCalls) != len(b.ToolCalls) {
		return false
	}
	for i := range a.ToolCalls {
		if a.ToolCalls[i].Name != b.ToolCalls[i].Name || argsJSON(a.ToolCalls[i].Arguments) != argsJSON(b.ToolCalls[i].Arguments) {
			return false
		}
	}
	return true
}

// Conversation puts the requests of one agent run back together from their Request records,
// in order.
type Conversation struct {
	msgs   []model.Message
	tools  []model.Tool
	format json.RawMessage
}

// Add takes the next request's record and returns the whole request: every message the
// model saw, its tools and its reply format. The returned slices must not be changed.
func (c *Conversation) Add(r Request) (msgs []model.Message, tools []model.Tool, format json.RawMessage) {
	base := min(r.Base, len(c.msgs))
	c.msgs = append(c.msgs[:base:base], r.Messages...)
	if !r.SameTools {
		c.tools = r.Tools
	}
	if !r.SameFormat {
		c.format = r.Format
	}
	return c.msgs, c.tools, c.format
}
