package eval

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"

	"go.yaml.in/yaml/v3"

	"tandem/flows"
)

// reporter collects a suite file's problems as flows.Diagnostics, so tandem validate and
// tandem eval print them like flow errors.
type reporter struct {
	file  string
	diags flows.Diagnostics
}

func (r *reporter) at(p flows.Pos, format string, args ...any) {
	p.Line, p.Col = max(p.Line, 1), max(p.Col, 1)
	r.diags = append(r.diags, flows.Diagnostic{File: r.file, Pos: p, Msg: fmt.Sprintf(format, args...)})
}

func (r *reporter) err() error {
	if len(r.diags) == 0 {
		return nil
	}
	sort.SliceStable(r.diags, func(i, j int) bool {
		a, b := r.diags[i].Pos, r.diags[j].Pos
		return a.Line < b.Line || a.Line == b.Line && a.Col < b.Col
	})
	return r.diags
}

func pos(n *yaml.Node) flows.Pos {
	if n == nil {
		return flows.Pos{Line: 1, Col: 1}
	}
	return flows.Pos{Line: n.Line, Col: n.Column}
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

// mapping calls fn for each key of a mapping node, reporting unknown and duplicate keys.
func (r *reporter) mapping(n *yaml.Node, what string, allowed []string, fn func(key string, k, v *yaml.Node)) {
	if n.Kind != yaml.MappingNode {
		r.at(pos(n), "%s must be a mapping, not %s", what, describe(n))
		return
	}
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if line, dup := seen[k.Value]; dup {
			r.at(pos(k), "duplicate key %q in %s (first on line %d)", k.Value, what, line)
			continue
		}
		seen[k.Value] = k.Line
		if allowed != nil && !isOneOf(k.Value, allowed) {
			r.at(pos(k), "unknown key %q in %s%s", k.Value, what, suggest(k.Value, allowed))
			continue
		}
		fn(k.Value, k, v)
	}
}

func (r *reporter) str(n *yaml.Node, what string) string {
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		r.at(pos(n), "%s must be a string, not %s", what, describe(n))
		return ""
	}
	return n.Value
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

func (r *reporter) number(n *yaml.Node, what string) float64 {
	if n.Kind == yaml.ScalarNode && (n.Tag == "!!int" || n.Tag == "!!float") {
		if v, err := strconv.ParseFloat(n.Value, 64); err == nil {
			return v
		}
	}
	r.at(pos(n), "%s must be a number, not %s", what, describe(n))
	return 0
}

func (r *reporter) boolean(n *yaml.Node, what string) bool {
	if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" {
		r.at(pos(n), "%s must be true or false, not %s", what, describe(n))
		return false
	}
	return n.Value == "true"
}

func (r *reporter) regex(n *yaml.Node, what string) *regexp.Regexp {
	s := r.str(n, what)
	if s == "" {
		return nil
	}
	re, err := regexp.Compile(s)
	if err != nil {
		r.at(pos(n), "%s is not a valid regular expression: %v", what, err)
		return nil
	}
	return re
}

// value decodes any node into plain JSON-like values (maps with string keys, lists, scalars).
func (r *reporter) value(n *yaml.Node, what string) (any, bool) {
	var v any
	if err := n.Decode(&v); err != nil {
		r.at(pos(n), "%s: %v", what, err)
		return nil, false
	}
	return jsonish(v), true
}

func jsonish(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, x := range t {
			t[k] = jsonish(x)
		}
		return t
	case map[any]any:
		m := make(map[string]any, len(t))
		for k, x := range t {
			m[fmt.Sprint(k)] = jsonish(x)
		}
		return m
	case []any:
		for i, x := range t {
			t[i] = jsonish(x)
		}
		return t
	}
	return v
}

func isOneOf(s string, list []string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// suggest returns ` (did you mean "x"?)` when a known word is within two edits of word.
func suggest(word string, known []string) string {
	best, bestD := "", 3
	for _, k := range known {
		if d := distance(word, k); d < bestD {
			best, bestD = k, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

func distance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 99
	}
	prev, cur := make([]int, len(b)+1), make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
