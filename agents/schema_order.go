package agents

import (
	"bytes"
	"encoding/json"
	"sort"
)

// Ollama compiles a `format` schema into a grammar that writes an object's properties in the
// order the schema lists them. Go's json.Marshal sorts map keys, which would force
// {"arguments": ..., "tool": ...} while the prompt shows {"tool": ..., "arguments": ...}, and
// a small model, allowed only "arguments" or "answer" after `{"`, nearly always answers. So
// schemas sent as `format` are encoded with an explicit key order.

// object is a JSON object that keeps its keys in the order given.
type object []field

// field is one key of an object.
type field struct {
	Key   string
	Value any
}

// MarshalJSON writes the fields in order.
func (o object) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, f := range o {
		if i > 0 {
			b.WriteByte(',')
		}
		k, err := json.Marshal(f.Key)
		if err != nil {
			return nil, err
		}
		v, err := json.Marshal(f.Value)
		if err != nil {
			return nil, err
		}
		b.Write(k)
		b.WriteByte(':')
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// schemaKeyOrder puts the keywords a reader looks for first; the rest follow sorted.
var schemaKeyOrder = map[string]int{"type": 0, "description": 1, "enum": 2, "properties": 3, "required": 4, "items": 5}

// ordered converts a schema written as nested maps into objects whose properties follow
// their declared order: the order of `required`, then the optional ones by name. (A tool's
// parameters are a map, so `required` is where the declared order survives.)
func ordered(v any) any {
	switch s := v.(type) {
	case object:
		return s
	case map[string]any:
		keys := make([]string, 0, len(s))
		for k := range s {
			keys = append(keys, k)
		}
		sort.Slice(keys, func(i, j int) bool {
			oi, iok := schemaKeyOrder[keys[i]]
			oj, jok := schemaKeyOrder[keys[j]]
			switch {
			case iok && jok:
				return oi < oj
			case iok != jok:
				return iok
			}
			return keys[i] < keys[j]
		})
		out := make(object, 0, len(keys))
		for _, k := range keys {
			val := s[k]
			if k == "properties" {
				if props, ok := val.(map[string]any); ok {
					val = orderedProperties(props, requiredNames(s["required"]))
				}
			} else {
				val = ordered(val)
			}
			out = append(out, field{k, val})
		}
		return out
	case []any:
		out := make([]any, len(s))
		for i, e := range s {
			out[i] = ordered(e)
		}
		return out
	}
	return v
}

// orderedProperties lists the required properties in their order, then the others by name.
func orderedProperties(props map[string]any, required []string) object {
	out := make(object, 0, len(props))
	done := map[string]bool{}
	for _, name := range required {
		if p, ok := props[name]; ok && !done[name] {
			out = append(out, field{name, ordered(p)})
			done[name] = true
		}
	}
	rest := make([]string, 0, len(props))
	for name := range props {
		if !done[name] {
			rest = append(rest, name)
		}
	}
	sort.Strings(rest)
	for _, name := range rest {
		out = append(out, field{name, ordered(props[name])})
	}
	return out
}

// propertyNames are a schema's property names in declared order (see ordered).
func propertyNames(schema map[string]any) []string {
	props, _ := schema["properties"].(map[string]any)
	names := make([]string, 0, len(props))
	for _, f := range orderedProperties(props, requiredNames(schema["required"])) {
		names = append(names, f.Key)
	}
	return names
}

// requiredNames reads a schema's `required`, written as []any or []string.
func requiredNames(v any) []string {
	switch r := v.(type) {
	case []string:
		return r
	case []any:
		out := make([]string, 0, len(r))
		for _, e := range r {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}
