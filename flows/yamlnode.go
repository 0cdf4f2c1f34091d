package flows

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Helpers that read typed values out of yaml.Nodes, reporting problems at the node.

func pos(n *yaml.Node) Pos {
	if n == nil {
		return Pos{1, 1}
	}
	return Pos{Line: n.Line, Col: n.Column}
}

// mapping iterates a mapping node's key/value pairs, reporting unknown keys and duplicates.
func (r *reporter) mapping(n *yaml.Node, what string, allowed []string, fn func(key string, k, v *yaml.Node)) {
	if n.Kind != yaml.MappingNode {
		r.at(pos(n), "%s must be a mapping, not %s", what, describe(n))
		return
	}
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		key := k.Value
		if line, dup := seen[key]; dup {
			r.at(pos(k), "duplicate key %q in %s (first on line %d)", key, what, line)
			continue
		}
		seen[key] = k.Line
		if allowed != nil && !contains(allowed, key) {
			r.at(pos(k), "unknown key %q in %s%s", key, what, suggest(key, allowed))
			continue
		}
		fn(key, k, v)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return "empty"
		}
		return fmt.Sprintf("%q", n.Value)
	}
	return "unknown"
}

func (r *reporter) str(n *yaml.Node, what string) string {
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		r.at(pos(n), "%s must be a string, not %s", what, describe(n))
		return ""
	}
	return n.Value
}

func (r *reporter) boolean(n *yaml.Node, what string) bool {
	if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" {
		r.at(pos(n), "%s must be true or false, not %s", what, describe(n))
		return false
	}
	return n.Value == "true"
}

func (r *reporter) integer(n *yaml.Node, what string) int {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!int" {
		if v, err := strconv.Atoi(n.Value); err == nil {
			return v
		}
	}
	r.at(pos(n), "%s must be an integer, not %s", what, describe(n))
	return 0
}

func (r *reporter) duration(n *yaml.Node, what string) time.Duration {
	if n.Kind == yaml.ScalarNode {
		if d, err := time.ParseDuration(n.Value); err == nil && d >= 0 {
			return d
		}
	}
	r.at(pos(n), "%s must be a duration like 30s, 5m or 2h, not %s", what, describe(n))
	return 0
}

// strList accepts a list of strings, or one string as a one-item list.
func (r *reporter) strList(n *yaml.Node, what string) []string {
	if n.Kind == yaml.ScalarNode && n.Tag != "!!null" {
		return []string{n.Value}
	}
	if n.Kind != yaml.SequenceNode {
		r.at(pos(n), "%s must be a list of strings, not %s", what, describe(n))
		return nil
	}
	out := make([]string, 0, len(n.Content))
	for _, c := range n.Content {
		if c.Kind != yaml.ScalarNode || c.Tag == "!!null" {
			r.at(pos(c), "%s must be a list of strings; this item is %s", what, describe(c))
			continue
		}
		out = append(out, c.Value)
	}
	return out
}

func (r *reporter) strMap(n *yaml.Node, what string) map[string]string {
	out := map[string]string{}
	r.mapping(n, what, nil, func(key string, _, v *yaml.Node) {
		if v.Kind != yaml.ScalarNode {
			r.at(pos(v), "%s.%s must be a string, not %s", what, key, describe(v))
			return
		}
		out[key] = v.Value
	})
	return out
}

// value decodes any node into plain Go values (maps, lists, scalars).
func (r *reporter) value(n *yaml.Node, what string) any {
	var v any
	if err := n.Decode(&v); err != nil {
		r.at(pos(n), "%s: %s", what, strings.TrimPrefix(err.Error(), "yaml: "))
		return nil
	}
	return normalize(v)
}

// normalize turns yaml's map[string]any / map[any]any trees into JSON-friendly values.
func normalize(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, x := range t {
			t[k] = normalize(x)
		}
		return t
	case map[any]any:
		m := make(map[string]any, len(t))
		for k, x := range t {
			m[fmt.Sprint(k)] = normalize(x)
		}
		return m
	case []any:
		for i, x := range t {
			t[i] = normalize(x)
		}
		return t
	}
	return v
}
