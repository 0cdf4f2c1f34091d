package engine

import (
	"encoding/json"
	"strings"
)

// jsonValue parses a step output that is a JSON object or array, so templates can address
// .steps.ID.json.field.
func jsonValue(out string) (any, bool) {
	t := strings.TrimSpace(out)
	if t == "" || (t[0] != '{' && t[0] != '[') {
		return nil, false
	}
	var v any
	if err := json.Unmarshal([]byte(t), &v); err != nil {
		return nil, false
	}
	return v, true
}

// outputValue is an output as a value: parsed JSON when it is an object or array, else text.
func outputValue(out string) any {
	if v, ok := jsonValue(out); ok {
		return v
	}
	return out
}
