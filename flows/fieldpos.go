package flows

import (
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// fieldPos is where a key of a step (or of the flow's outputs) and its value are, so a
// problem found after parsing (a reference, a template, a need) is reported at the field
// that holds it rather than at the step.
type fieldPos struct{ key, val Pos }

// fieldsOf records the key and value positions of a mapping's fields, one level into the
// values: "needs.0" for a list's first item, "with.n" for a mapping's key n.
func fieldsOf(n *yaml.Node) map[string]fieldPos {
	out := map[string]fieldPos{}
	if n == nil || n.Kind != yaml.MappingNode {
		return out
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if _, dup := out[k.Value]; dup {
			continue // the first one is the one parsed
		}
		out[k.Value] = fieldPos{pos(k), pos(v)}
		switch v.Kind {
		case yaml.SequenceNode:
			for j, item := range v.Content {
				out[k.Value+"."+strconv.Itoa(j)] = fieldPos{pos(item), pos(item)}
			}
		case yaml.MappingNode:
			for j := 0; j+1 < len(v.Content); j += 2 {
				sk, sv := v.Content[j], v.Content[j+1]
				if _, dup := out[k.Value+"."+sk.Value]; !dup {
					out[k.Value+"."+sk.Value] = fieldPos{pos(sk), pos(sv)}
				}
			}
		}
	}
	return out
}

// fieldAt is the first of the step's fields that is in the file, or the step's own position.
func (s *Step) fieldAt(keys ...string) fieldPos {
	for _, k := range keys {
		if f, ok := s.fields[k]; ok {
			return f
		}
	}
	return fieldPos{s.Pos, s.Pos}
}

// field is the position of a step's field's value (key: "shell", "needs.1", "with.n"),
// or the step's own position when the field is not in the file.
func (s *Step) field(key string) Pos {
	if f, ok := s.fields[key]; ok {
		return f.val
	}
	return s.Pos
}

// fieldKey is the position of a step's field's key, or the step's own position.
func (s *Step) fieldKey(key string) Pos {
	if f, ok := s.fields[key]; ok {
		return f.key
	}
	return s.Pos
}

// find places text (a reference such as ".steps.c") inside a field's value in the source:
// on the value's first line from its column, or on the lines below it that are indented
// deeper than its key (a block scalar, a folded line). It returns the field's value
// position when the text is not found as written.
func find(src []string, at fieldPos, text string) Pos {
	if text == "" || at.val.Line < 1 || at.val.Line > len(src) {
		return at.val
	}
	line := src[at.val.Line-1]
	if c := at.val.Col - 1; c >= 0 && c <= len(line) {
		if j := strings.Index(line[c:], text); j >= 0 {
			return Pos{Line: at.val.Line, Col: c + j + 1}
		}
	}
	for i := at.val.Line; i < len(src); i++ {
		l := src[i]
		if strings.TrimSpace(l) == "" {
			continue
		}
		if len(l)-len(strings.TrimLeft(l, " ")) < at.key.Col {
			break
		}
		if j := strings.Index(l, text); j >= 0 {
			return Pos{Line: i + 1, Col: j + 1}
		}
	}
	return at.val
}
