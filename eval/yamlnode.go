package eval

import (
	"regexp"
	"strconv"

	"go.yaml.in/yaml/v3"

	"tandem/flows"
)

// reporter reads a suite file with flows' YAML reader, so its problems are flows.Diagnostics
// that tandem validate and tandem eval print like flow errors; it adds the value kinds only
// suites have (numbers, regular expressions, decoded values).
type reporter struct{ y *flows.YAMLReader }

func newReporter(file string) *reporter { return &reporter{y: flows.NewYAMLReader(file)} }

func (r *reporter) at(p flows.Pos, format string, args ...any) { r.y.At(p, format, args...) }
func (r *reporter) err() error                                 { return r.y.Err() }
func (r *reporter) problems() int                              { return r.y.Problems() }
func (r *reporter) str(n *yaml.Node, what string) string       { return r.y.Str(n, what) }
func (r *reporter) integer(n *yaml.Node, what string) int      { return r.y.Integer(n, what) }
func (r *reporter) boolean(n *yaml.Node, what string) bool     { return r.y.Boolean(n, what) }
func (r *reporter) mapping(n *yaml.Node, what string, allowed []string, fn func(key string, k, v *yaml.Node)) {
	r.y.Mapping(n, what, allowed, fn)
}

func pos(n *yaml.Node) flows.Pos                 { return flows.NodePos(n) }
func describe(n *yaml.Node) string               { return flows.Describe(n) }
func suggest(word string, known []string) string { return flows.Suggest(word, known) }

func (r *reporter) number(n *yaml.Node, what string) float64 {
	if n.Kind == yaml.ScalarNode && (n.Tag == "!!int" || n.Tag == "!!float") {
		if v, err := strconv.ParseFloat(n.Value, 64); err == nil {
			return v
		}
	}
	r.at(pos(n), "%s must be a number, not %s", what, describe(n))
	return 0
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
	return flows.Normalize(v), true
}
