package agents

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// The fallback for models without native tool calling (and for replies whose tool call does
// not parse): the reply is constrained by Ollama's `format` to a JSON action, either
// {"tool": NAME, "arguments": {...}} with that tool's own argument schema, or
// {"answer": ...} matching the output schema. Grammar-constrained decoding makes even a
// 135M model produce a well-formed action, provided the schema agrees with the prompt
// (keys in the order the prompt shows, see schema_order.go) and leaves no string unbounded
// (bound.go).

// actionSchema is the JSON schema of one action, as maps (see encodeAction for the form
// sent to the model).
func actionSchema(tools []Tool, named []string, answer map[string]any) map[string]any {
	if answer == nil {
		answer = map[string]any{"type": "string"}
	}
	branches := make([]any, 0, len(tools)+1)
	for _, t := range tools {
		branches = append(branches, map[string]any{
			"type": "object",
			"properties": map[string]any{
				"tool":      map[string]any{"type": "string", "enum": []any{t.Name}},
				"arguments": toolParams(t, named),
			},
			"required": []any{"tool", "arguments"},
		})
	}
	branches = append(branches, answerSchema(answer))
	return map[string]any{"anyOf": branches}
}

// toolParams is a tool's argument schema for this turn; named are the paths the task names.
func toolParams(t Tool, named []string) map[string]any {
	params := t.Parameters
	if t.TurnParameters != nil {
		params = t.TurnParameters(named)
	}
	if params == nil {
		params = map[string]any{"type": "object"}
	}
	return params
}

// answerSchema only allows {"answer": ...}.
func answerSchema(answer map[string]any) map[string]any {
	if answer == nil {
		answer = map[string]any{"type": "string"}
	}
	return map[string]any{"type": "object", "properties": map[string]any{"answer": answer}, "required": []any{"answer"}}
}

// encodeAction renders an action schema for Ollama's `format`. Unless numPredict is
// negative (the ablation's unbounded strings), each branch's free strings are bounded to
// what a reply of numPredict tokens leaves them (see branchBudget), and a tool branch that
// cannot fit is left out. With keepOrder the keys come in declared order; without, in Go's
// sorted map order, as before the fix (kept for the ablation benchmark).
func encodeAction(schema map[string]any, numPredict, shrink int, keepOrder bool) json.RawMessage {
	if numPredict >= 0 {
		branches, ok := schema["anyOf"].([]any)
		if !ok {
			branches = []any{schema}
		}
		bounded := make([]any, 0, len(branches))
		for i, b := range branches {
			m, _ := b.(map[string]any)
			chars, fits := branchBudget(m, numPredict, shrink)
			switch {
			case fits:
				bounded = append(bounded, boundStrings(m, chars))
			case i == len(branches)-1: // the answer is always offered
				bounded = append(bounded, boundStrings(m, minStringChars))
			}
		}
		if len(bounded) == 1 {
			schema, _ = bounded[0].(map[string]any)
		} else {
			schema = map[string]any{"anyOf": bounded}
		}
	}
	var v any = schema
	if keepOrder {
		v = ordered(schema)
	}
	b, _ := json.Marshal(v)
	return b
}

// action is a parsed fallback reply.
type action struct {
	Tool      string
	Arguments map[string]any
	Answer    json.RawMessage // set for answers
}

// errCut marks a reply that stopped inside its JSON: at num_predict, or aborted by the
// server (Ollama ends a reply that repeats one token 30 times).
var errCut = errors.New("the reply stopped before its JSON object was complete")

// parseAction reads a fallback reply. It accepts the two documented shapes. A reply that
// is a prefix of a JSON object wraps errCut.
func parseAction(content string) (action, error) {
	var raw map[string]json.RawMessage
	text := strings.TrimSpace(content)
	if err := json.Unmarshal([]byte(text), &raw); err != nil {
		var syn *json.SyntaxError
		if text == "" || (strings.HasPrefix(text, "{") && (errors.As(err, &syn) && syn.Offset >= int64(len(text)) || err.Error() == "unexpected end of JSON input")) {
			return action{}, fmt.Errorf("%w (%d characters)", errCut, len(text))
		}
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

// fallbackInstructions tells the model how to act when its replies are constrained: each
// tool as the exact JSON to send, keys in the order the grammar writes them, and the answer
// as one more entry of the list. (Given a line of its own, such as "to finish, send
// {"answer": ...}", the answer is so salient that a 0.5B model answers every task at once,
// from its guesses; measured on the agent benchmark.)
func fallbackInstructions(tools []Tool) string {
	var b strings.Builder
	b.WriteString("\n\nReply with exactly one of these JSON objects, with your values:\n")
	for _, t := range tools {
		fmt.Fprintf(&b, "- %s", t.Name)
		if t.Description != "" {
			fmt.Fprintf(&b, " (%s)", strings.TrimSuffix(t.Description, "."))
		}
		fmt.Fprintf(&b, ": %s\n", exampleCall(t))
	}
	b.WriteString(`- answer (only once a tool returned what the task needs, or when it needs no tool): {"answer": "<your answer>"}` + "\n")
	return b.String()
}

// exampleCall is a tool call as JSON with a placeholder for each argument, such as
// {"tool": "read_file", "arguments": {"path": "<file path>"}}.
func exampleCall(t Tool) string {
	params := t.Parameters
	props, _ := params["properties"].(map[string]any)
	args := make([]string, 0, len(props))
	for _, name := range propertyNames(params) {
		p, _ := props[name].(map[string]any)
		hint, _ := p["description"].(string)
		if hint == "" {
			hint, _ = p["type"].(string)
		}
		if hint == "" {
			hint = "value"
		}
		val := quote("<" + hint + ">")
		switch p["type"] {
		case "number", "integer", "boolean":
			val = "<" + hint + ">"
		}
		args = append(args, quote(name)+": "+val)
	}
	return fmt.Sprintf(`{"tool": %s, "arguments": {%s}}`, quote(t.Name), strings.Join(args, ", "))
}

// quote writes s as a JSON string that a person can read (no \u003c for <).
func quote(s string) string {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)
	return strings.TrimSuffix(b.String(), "\n")
}

// looksLikeToolCall spots a native-mode reply that tried to call a tool in text (a broken
// call the server could not parse).
func looksLikeToolCall(content string) bool {
	c := strings.TrimSpace(content)
	return strings.Contains(c, "<tool_call>") || (strings.HasPrefix(c, "{") && strings.Contains(c, `"name"`) && strings.Contains(c, `"arguments"`))
}
