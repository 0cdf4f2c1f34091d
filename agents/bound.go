package agents

// A constrained reply that is still writing a string when it reaches num_predict is cut, and
// a cut action does not parse. Small models ramble inside free strings (an answer, a path),
// so every string the action schema leaves open gets a maxLength that fits the token budget:
// the grammar then has to close the string, and the object, in time.

const (
	// charsPerToken is a cautious estimate of how much text a token carries in a JSON
	// string (English runs near four characters a token).
	charsPerToken = 3
	// actionOverheadTokens is what the JSON around the strings costs: keys, quotes, braces
	// and the whitespace the grammar allows.
	actionOverheadTokens = 24
	// unboundedChars is the budget when num_predict is not set.
	unboundedChars = 2000
	// minStringChars keeps a bound usable when the budget is tiny.
	minStringChars = 16
)

// stringBudget is the characters the free strings of one action may use in total.
func stringBudget(numPredict int) int {
	if numPredict <= 0 {
		return unboundedChars
	}
	return max((numPredict-actionOverheadTokens)*charsPerToken, minStringChars)
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
