package agents

import "encoding/json"

// A constrained reply that is still writing a string when it reaches num_predict is cut, and
// a cut action does not parse. Small models ramble inside free strings (an answer, a path),
// so every string the action schema leaves open gets a maxLength that fits the token budget:
// the grammar then has to close the string, and the object, in time.

const (
	// charsPerToken is a cautious estimate of how much text a token carries in a JSON
	// string: English runs near four characters a token, but Qwen and SmolLM2 write each
	// digit as a token of its own.
	charsPerToken = 2
	// skeletonCharsPerToken is the same for an action's keys, quotes and braces.
	skeletonCharsPerToken = 2
	// unboundedChars is the budget of one action's strings when num_predict is not set.
	unboundedChars = 2000
	// minStringChars keeps a bound usable when the budget is tight.
	minStringChars = 8
	// minStringTokens is the least room a tool's branch must leave its strings to be
	// offered at all.
	minStringTokens = 8
)

// branchBudget is the characters the free strings of one action branch may use in total
// when a reply may be numPredict tokens long, or ok=false if the branch's JSON alone would
// not fit. The cost of the JSON around the strings is estimated from its keys and fixed
// values, plus a token of the whitespace the grammar allows around each of them (small
// models pretty-print). shrink halves the budget that many times (after cut replies).
func branchBudget(branch map[string]any, numPredict, shrink int) (chars int, ok bool) {
	if numPredict <= 0 {
		chars = unboundedChars
	} else {
		skeleton, positions := skeletonSize(branch)
		left := numPredict - skeleton/skeletonCharsPerToken - positions
		if left < minStringTokens {
			return 0, false
		}
		chars = left * charsPerToken
	}
	for i := 0; i < shrink && chars > 2*minStringChars; i++ {
		chars /= 2
	}
	return chars, true
}

// skeletonSize estimates the characters of a schema's JSON without its free strings'
// contents, and the places where whitespace may go.
func skeletonSize(v any) (chars, positions int) {
	s, ok := v.(map[string]any)
	if !ok {
		return 0, 0
	}
	if anyOf, ok := s["anyOf"].([]any); ok {
		for _, b := range anyOf { // the costliest branch
			c, p := skeletonSize(b)
			if c+p > chars+positions {
				chars, positions = c, p
			}
		}
		return chars, positions
	}
	if enum, ok := s["enum"].([]any); ok {
		for _, e := range enum {
			b, _ := json.Marshal(e)
			chars = max(chars, len(b))
		}
		return chars, 0
	}
	switch s["type"] {
	case "object":
		props, _ := s["properties"].(map[string]any)
		chars, positions = 2, 2
		for k, p := range props {
			c, n := skeletonSize(p)
			chars += len(k) + 5 + c // "k": ,
			positions += 2 + n
		}
		return chars, positions
	case "array":
		c, n := skeletonSize(s["items"])
		return 2 + c, 2 + n
	case "string":
		return 2, 0
	}
	return 8, 0 // a number or a boolean
}

// boundStrings returns a copy of schema in which every free string (no enum, const, pattern,
// format or maxLength of its own) has a maxLength; the free strings share chars equally.
func boundStrings(schema map[string]any, chars int) map[string]any {
	n := countFreeStrings(schema)
	if n == 0 {
		return schema
	}
	each := max(chars/n, minStringChars)
	out, _ := boundValue(schema, each).(map[string]any)
	return out
}

func isFreeString(s map[string]any) bool {
	if t, _ := s["type"].(string); t != "string" {
		return false
	}
	for _, k := range []string{"enum", "const", "pattern", "format", "maxLength"} {
		if _, ok := s[k]; ok {
			return false
		}
	}
	return true
}

func countFreeStrings(v any) int {
	switch s := v.(type) {
	case map[string]any:
		if isFreeString(s) {
			return 1
		}
		n := 0
		for k, e := range s {
			if k == "enum" || k == "const" || k == "required" {
				continue
			}
			n += countFreeStrings(e)
		}
		return n
	case []any:
		n := 0
		for _, e := range s {
			n += countFreeStrings(e)
		}
		return n
	}
	return 0
}

func boundValue(v any, each int) any {
	switch s := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(s)+1)
		if isFreeString(s) {
			for k, e := range s {
				out[k] = e
			}
			out["maxLength"] = each
			return out
		}
		for k, e := range s {
			if k == "enum" || k == "const" || k == "required" {
				out[k] = e
				continue
			}
			out[k] = boundValue(e, each)
		}
		return out
	case []any:
		out := make([]any, len(s))
		for i, e := range s {
			out[i] = boundValue(e, each)
		}
		return out
	}
	return v
}

// ReplyFormat renders a step's reply schema for Ollama's `format` the way actions are: keys
// in the order the schema declares (required first), and, when the reply may be at most
// numPredict tokens, every free string bounded to what that budget leaves it, so the grammar
// closes the JSON before the reply is cut (a cut reply never parses). numPredict 0 leaves
// the strings as they are. The reply is still validated against the schema as written.
func ReplyFormat(schema map[string]any, numPredict int) json.RawMessage {
	if numPredict <= 0 {
		b, _ := json.Marshal(ordered(schema))
		return b
	}
	if schema["type"] != "object" {
		// A non-object reply has no skeleton to estimate; bound its strings to the budget.
		b, _ := json.Marshal(ordered(boundStrings(schema, max(numPredict*charsPerToken, minStringChars))))
		return b
	}
	return encodeAction(schema, numPredict, 0, true)
}
