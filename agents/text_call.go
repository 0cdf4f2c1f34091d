package agents

import (
	"encoding/json"
	"strings"

	"tandem/agents/model"
)

// Small models with a tools template often write their call as text instead of the
// template's markup: a fenced ```json {"name": ..., "arguments": ...} ``` block, a bare
// object, or a <tool_call> block the server did not parse. In native mode such a reply is
// a call, not an answer, when it is nothing but that object and names a real tool.

// textToolCall reads a call written as text; ok is false unless the whole reply is one
// call object naming one of tools.
func textToolCall(content string, tools map[string]Tool) (model.ToolCall, bool) {
	text := strings.TrimSpace(content)
	text = unwrap(text, "<tool_call>", "</tool_call>")
	if strings.HasPrefix(text, "```") {
		text = strings.TrimPrefix(text, "```")
		text = strings.TrimPrefix(text, "json")
		text = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(text), "```"))
	}
	text = unwrap(text, "<tool_call>", "</tool_call>")
	var raw struct {
		Name      string          `json:"name"`
		Tool      string          `json:"tool"`
		Arguments json.RawMessage `json:"arguments"`
		Params    json.RawMessage `json:"parameters"`
	}
	dec := json.NewDecoder(strings.NewReader(text))
	if err := dec.Decode(&raw); err != nil || dec.More() {
		return model.ToolCall{}, false
	}
	name := raw.Name
	if name == "" {
		name = raw.Tool
	}
	if _, ok := tools[name]; !ok {
		return model.ToolCall{}, false
	}
	argsRaw := raw.Arguments
	if len(argsRaw) == 0 {
		argsRaw = raw.Params
	}
	args := map[string]any{}
	if len(argsRaw) > 0 && string(argsRaw) != "null" {
		if err := json.Unmarshal(argsRaw, &args); err != nil {
			// Some models write the arguments as a JSON string.
			var s string
			if json.Unmarshal(argsRaw, &s) != nil || json.Unmarshal([]byte(s), &args) != nil {
				return model.ToolCall{}, false
			}
		}
	}
	return model.ToolCall{Name: name, Arguments: args}, true
}

// unwrap strips one surrounding open/close pair (the close may be missing).
func unwrap(s, open, close string) string {
	if !strings.HasPrefix(s, open) {
		return s
	}
	s = strings.TrimPrefix(s, open)
	s = strings.TrimSuffix(strings.TrimSpace(s), close)
	return strings.TrimSpace(s)
}
