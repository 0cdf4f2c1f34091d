package flows

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
)

// InputProblem is what is wrong with one input: missing, of the wrong type, not one of its
// values, or not declared.
type InputProblem struct {
	Input   string // the input's name
	Message string // the whole problem, naming the input: input "n": "x" is not a number
}

// InputError is returned when inputs are refused, with each input's problem in the order of
// the flow's inputs (undeclared ones last), so a form can point at each field.
type InputError struct {
	Problems []InputProblem
}

// Error joins the problems' messages with "; ".
func (e *InputError) Error() string {
	msgs := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		msgs[i] = p.Message
	}
	return strings.Join(msgs, "; ")
}

// ResolveInputs types `-i key=value` strings by the flow's declared inputs and applies
// defaults. Unknown names and missing required inputs are errors naming the input.
func ResolveInputs(f *Flow, given map[string]string) (map[string]any, error) {
	typed := make(map[string]any, len(given))
	for k, v := range given {
		typed[k] = v
	}
	return CoerceInputs(f, typed)
}

// CoerceInputs is ResolveInputs for values that may already be typed (sub-flow and tool
// calls): strings are converted to the declared type, other values are checked.
func CoerceInputs(f *Flow, given map[string]any) (map[string]any, error) {
	out := map[string]any{}
	var problems []InputProblem
	declared := map[string]bool{}
	for _, in := range f.Inputs {
		declared[in.Name] = true
		v, ok := given[in.Name]
		if !ok {
			switch {
			case in.HasDefault:
				out[in.Name] = in.Default
			case in.Required:
				problems = append(problems, InputProblem{Input: in.Name, Message: fmt.Sprintf("missing required input %q (%s)", in.Name, in.Type)})
			}
			continue
		}
		cv, err := coerce(in, v)
		if err != nil {
			problems = append(problems, InputProblem{Input: in.Name, Message: fmt.Sprintf("input %q: %v", in.Name, err)})
			continue
		}
		out[in.Name] = cv
	}
	var unknown []string
	for k := range given {
		if !declared[k] {
			unknown = append(unknown, k)
		}
	}
	sort.Strings(unknown)
	for _, k := range unknown {
		names := make([]string, len(f.Inputs))
		for i, in := range f.Inputs {
			names[i] = in.Name
		}
		problems = append(problems, InputProblem{Input: k, Message: fmt.Sprintf("unknown input %q%s", k, suggest(k, names))})
	}
	if len(problems) > 0 {
		return nil, &InputError{Problems: problems}
	}
	return out, nil
}

// coerce converts v to the input's type.
func coerce(in Input, v any) (any, error) {
	s, isStr := v.(string)
	var out any
	switch in.Type {
	case "string", "":
		if isStr {
			out = s
		} else {
			b, _ := json.Marshal(v)
			out = string(b)
			if _, ok := v.(float64); ok {
				out = strconv.FormatFloat(v.(float64), 'f', -1, 64)
			}
		}
	case "number":
		switch t := v.(type) {
		case string:
			f, err := strconv.ParseFloat(strings.TrimSpace(t), 64)
			if err != nil {
				return nil, fmt.Errorf("%q is not a number", t)
			}
			out = f
		case int:
			out = float64(t)
		case float64:
			out = t
		default:
			return nil, fmt.Errorf("want a number, got %T", v)
		}
	case "integer":
		switch t := v.(type) {
		case string:
			i, err := strconv.ParseInt(strings.TrimSpace(t), 10, 64)
			if err != nil {
				return nil, fmt.Errorf("%q is not an integer", t)
			}
			out = int(i)
		case int:
			out = t
		case float64:
			if t != math.Trunc(t) {
				return nil, fmt.Errorf("%v is not an integer", t)
			}
			out = int(t)
		default:
			return nil, fmt.Errorf("want an integer, got %T", v)
		}
	case "boolean":
		switch t := v.(type) {
		case string:
			b, err := strconv.ParseBool(strings.TrimSpace(t))
			if err != nil {
				return nil, fmt.Errorf("%q is not true or false", t)
			}
			out = b
		case bool:
			out = t
		default:
			return nil, fmt.Errorf("want true or false, got %T", v)
		}
	case "object", "array":
		if isStr {
			var x any
			if err := json.Unmarshal([]byte(s), &x); err != nil {
				return nil, fmt.Errorf("%q is not JSON", s)
			}
			v = x
		}
		_, isObj := v.(map[string]any)
		_, isArr := v.([]any)
		if (in.Type == "object" && !isObj) || (in.Type == "array" && !isArr) {
			return nil, fmt.Errorf("want an %s", in.Type)
		}
		out = v
	default:
		return nil, fmt.Errorf("unknown type %q", in.Type)
	}
	if len(in.Enum) > 0 {
		for _, e := range in.Enum {
			if fmt.Sprint(e) == fmt.Sprint(out) {
				return out, nil
			}
		}
		names := make([]string, len(in.Enum))
		for i, e := range in.Enum {
			names[i] = fmt.Sprint(e)
		}
		return nil, fmt.Errorf("%q is not one of %s", fmt.Sprint(out), strings.Join(names, ", "))
	}
	return out, nil
}

// ToolSchema is the JSON schema of a flow's inputs, for calling the flow as an agent's tool.
func ToolSchema(f *Flow) map[string]any {
	props := map[string]any{}
	required := []string{}
	for _, in := range f.Inputs {
		p := map[string]any{"type": in.Type}
		if in.Description != "" {
			p["description"] = in.Description
		}
		if len(in.Enum) > 0 {
			p["enum"] = in.Enum
		}
		if in.HasDefault {
			p["default"] = in.Default
		}
		props[in.Name] = p
		if in.Required {
			required = append(required, in.Name)
		}
	}
	return map[string]any{"type": "object", "properties": props, "required": required}
}
