package flows

import "go.yaml.in/yaml/v3"

// YAMLReader reads typed values out of a YAML file's nodes and collects problems as
// Diagnostics at their positions, exactly as flow and agent files are read. Other tandem
// files (eval suites) use it, so every file reports its mistakes the same way.
type YAMLReader struct{ r reporter }

// NewYAMLReader returns a reader whose diagnostics name file.
func NewYAMLReader(file string) *YAMLReader { return &YAMLReader{r: reporter{file: file}} }

// At records a problem at p.
func (y *YAMLReader) At(p Pos, format string, args ...any) { y.r.at(p, format, args...) }

// Err returns the problems recorded so far, sorted by position, or nil.
func (y *YAMLReader) Err() error { return y.r.err() }

// Problems is how many problems were recorded so far (a caller checks whether one value
// added any).
func (y *YAMLReader) Problems() int { return len(y.r.diags) }

// Mapping calls fn for each key of a mapping node, reporting unknown (with a suggestion)
// and duplicate keys; allowed nil allows every key.
func (y *YAMLReader) Mapping(n *yaml.Node, what string, allowed []string, fn func(key string, k, v *yaml.Node)) {
	y.r.mapping(n, what, allowed, fn)
}

// Str reads a string scalar.
func (y *YAMLReader) Str(n *yaml.Node, what string) string { return y.r.str(n, what) }

// Integer reads an integer scalar.
func (y *YAMLReader) Integer(n *yaml.Node, what string) int { return y.r.integer(n, what) }

// Boolean reads true or false.
func (y *YAMLReader) Boolean(n *yaml.Node, what string) bool { return y.r.boolean(n, what) }

// NodePos is a node's position (1:1 for nil).
func NodePos(n *yaml.Node) Pos { return pos(n) }

// Describe names a node's kind for messages: "a mapping", "a list", "empty", or the value.
func Describe(n *yaml.Node) string { return describe(n) }

// Suggest returns ` (did you mean "x"?)` when a known word is within two edits of word.
func Suggest(word string, known []string) string { return suggest(word, known) }

// Normalize turns decoded YAML trees into JSON-like values (maps with string keys).
func Normalize(v any) any { return normalize(v) }
