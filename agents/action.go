package agents

import (
	"encoding/json"
	"fmt"
	"strings"
)

// The fallback for models without native tool calling (and for replies whose tool call does
// not parse): the reply is constrained by Ollama's `format` to a JSON action, either
// {"tool": NAME, "arguments": {...}} with that tool's own argument schema, or
// {"answer": ...} matching the output schema. Grammar-constrained decoding makes even a
// 135M model produce a well-formed action.

// actionSchema is the JSON schema of one action.
func actionSchema(tools []Tool, answer map[string]any) map[string]any {
	if answer == nil {
		answer = map[string]any{"type": "string"}
	}
	branches := make([]any, 0, len(tools)+1)
	for _, t := range tools {
		params := t.Parameters
		if params == nil {
			params = map[string]any{"type": "object"}
		}
		branches = append(branches, map[string]any{
			"type": "object",
			"properties": map[string]any{
				"tool":      map[string]any{"type": "string", "enum": []any{t.Name}},
				"arguments": params,
			},
			"required": []any{"tool", "arguments"},
		})
	}
	branches = append(branches, map[string]any{
		"type":       "object",
		"properties": map[string]any{"answer": answer},
		"required":   []any{"answer"},
	})
	return map[string]any{"anyOf": branches}
}

// answerSchema only allows {"answer": ...}.
func answerSchema(answer map[string]any) map[string]any {
	if answer == nil {
		answer = map[string]any{"type": "string"}
	}
	return map[string]any{"type": "object", "properties": map[string]any{"answer": answer}, "required": []any{"answer"}}
}

// action is a parsed fallback reply.
type action struct {
	Tool      string
	Arguments map[string]any
	Answer    json.RawMessage // set for answers
}

// parseAction reads a fallback reply. It accepts the two documented shapes.
func parseAction(content string) (action, error) {
	var raw map[string]json.RawMessage
	text := strings.TrimSpace(content)
	if err := json.Unmarshal([]byte(text), &raw); err != nil {
		return action{}, fmt.Errorf("the reply is not a JSON object: %v", err)
	}
	if a, ok := raw["answer"]; ok {
		return action{Answer: a}, nil
	}
	var a action
	if err := json.Unmarshal(raw["tool"], &a.Tool); err != nil || a.Tool == "" {
		return action{}, fmt.Errorf(`the reply has neither "answer" nor a "tool" name`)
	}
	if args, ok := raw["arguments"]; ok {
		if err := json.Unmarshal(args, &a.Arguments); err != nil {
			return action{}, fmt.Errorf(`"arguments" must be an object`)
		}
	}
	if a.Arguments == nil {
		a.Arguments = map[string]any{}
	}
	return a, nil
}

// answerText turns an answer value into the agent's output: a JSON string becomes its text,
// anything else stays JSON.
func answerText(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	return string(raw)
}

// fallbackInstructions tells the model how to act when its replies are constrained.
func fallbackInstructions(tools []Tool) string {
	var b strings.Builder
	b.WriteString("\n\nYou act by replying with one JSON object.\n")
	b.WriteString(`To use a tool: {"tool": "<name>", "arguments": {...}}. To finish: {"answer": ...}.` + "\nTools:\n")
	for _, t := range tools {
		params, _ := json.Marshal(t.Parameters)
		fmt.Fprintf(&b, "- %s: %s Arguments: %s\n", t.Name, t.Description, params)
	}
	return b.String()
}

// looksLikeToolCall spots a native-mode reply that tried to call a tool in text (a broken
// call the server could not parse).
func looksLikeToolCall(content string) bool {
	c := strings.TrimSpace(content)
	return strings.Contains(c, "<tool_call>") || (strings.HasPrefix(c, "{") && strings.Contains(c, `"name"`) && strings.Contains(c, `"arguments"`))
}
