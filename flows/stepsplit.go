package flows

import (
	"bytes"

	"go.yaml.in/yaml/v3"
)

// A flow's steps list is most of its file: 10,000 steps are a 500 KB file whose yaml.Node
// tree holds 16 MB. To keep that tree from ever being whole in memory, the parser reads the
// file in parts when its layout allows: the file with the steps list's lines blanked (the
// skeleton), then the list's items a group at a time, each group's nodes released once its
// steps are built. Lines and columns come out as in the whole file, so every position,
// duplicate key and unknown field is reported exactly as before; whenever the parts might
// not mean what the whole file means (a quote or bracket left open across items, an alias
// to an anchor in another part, a layout the splitter does not know), the parser reads the
// whole file instead, and FuzzParse checks that both readings agree.

// stepsGroupBytes is about how much of the steps list is parsed at once: a group's nodes
// take about 30 times its bytes.
const stepsGroupBytes = 16 << 10

// stepsSplit is a flow file cut into its skeleton and the steps list's item groups.
type stepsSplit struct {
	src      []byte
	skeleton []byte
	keyLine  int          // the line of the top-level "steps:" key, 1-based
	groups   []stepsGroup // in file order
}

// stepsGroup is a run of whole list items: src[start:end], starting on line (1-based).
type stepsGroup struct {
	start, end int
	line       int
	items      int
}

// splitSteps cuts src, in groups of about groupBytes, when its steps list is a block sequence under a top-level "steps:"
// line (nothing else on it but a comment), its items starting at one indentation. It
// returns nil for anything else, and for files whose line breaks or encoding it does not
// count the way YAML does (a CR not before an LF, NEL, LS, PS, UTF-16, NUL) or that hold
// directives.
func splitSteps(src []byte, groupBytes int) *stepsSplit {
	if len(src) == 0 || src[0] == 0xfe || src[0] == 0xff || bytes.IndexByte(src, 0) >= 0 ||
		loneCR(src) || bytes.Contains(src, []byte("\u0085")) ||
		bytes.Contains(src, []byte("\u2028")) || bytes.Contains(src, []byte("\u2029")) {
		return nil
	}
	sp := &stepsSplit{src: src}
	var (
		indent      = -1 // the items' indentation, once the first item is seen
		regionStart = -1 // where the first item starts
		regionEnd   = len(src)
		cur         *stepsGroup
	)
	line := 0
	for off := 0; off < len(src); {
		end := bytes.IndexByte(src[off:], '\n')
		next := len(src)
		if end < 0 {
			end = len(src)
		} else {
			end += off
			next = end + 1
		}
		text := bytes.TrimSuffix(src[off:end], []byte("\r"))
		line++
		if len(text) > 0 && text[0] == '%' {
			return nil // a directive: tag handles the parts would not know
		}
		switch {
		case sp.keyLine == 0:
			if isStepsKeyLine(text) {
				sp.keyLine = line
			}
		case blankOrComment(text):
		default:
			n := leadingSpaces(text)
			if indent >= 0 && n > indent {
				break // inside an item
			}
			if n < len(text) && text[n] == '\t' {
				return nil
			}
			item := isItemStart(text[n:])
			switch {
			case indent < 0:
				if !item {
					return nil // the steps are not a block sequence of their own lines
				}
				indent, regionStart = n, off
			case n == indent && item:
			case n == 0:
				regionEnd = off // the next top-level key (or a document marker)
			default:
				return nil // a line at an indentation the list's layout does not explain
			}
			if regionEnd != len(src) {
				break
			}
			if cur == nil || off-cur.start >= groupBytes {
				if cur != nil {
					cur.end = off
					sp.groups = append(sp.groups, *cur)
				}
				cur = &stepsGroup{start: off, line: line}
			}
			cur.items++
		}
		if regionEnd != len(src) {
			break
		}
		off = next
	}
	if cur == nil {
		return nil
	}
	cur.end = regionEnd
	sp.groups = append(sp.groups, *cur)
	skel := make([]byte, 0, regionStart+len(src)-regionEnd+bytes.Count(src[regionStart:regionEnd], []byte("\n")))
	skel = append(skel, src[:regionStart]...)
	for range bytes.Count(src[regionStart:regionEnd], []byte("\n")) {
		skel = append(skel, '\n')
	}
	sp.skeleton = append(skel, src[regionEnd:]...)
	return sp
}

// holds reports whether the skeleton parsed the way the split assumed: a block mapping at
// the file's first column whose "steps" key is the line found, with nothing as its value.
func (sp *stepsSplit) holds(doc, key, value *yaml.Node) bool {
	return doc.Style&yaml.FlowStyle == 0 && doc.Column == 1 && key != nil &&
		key.Line == sp.keyLine && key.Column == 1 && key.Style == 0 &&
		value.Kind == yaml.ScalarNode && value.Tag == "!!null" && value.Value == "" && value.Anchor == ""
}

// items parses group i and returns its list items with their lines as in the whole file,
// or false when the group does not parse on its own as that many items.
func (sp *stepsSplit) items(i int) ([]*yaml.Node, bool) {
	g := sp.groups[i]
	var doc yaml.Node
	if err := yaml.Unmarshal(sp.src[g.start:g.end], &doc); err != nil || len(doc.Content) != 1 {
		return nil, false
	}
	seq := doc.Content[0]
	if seq.Kind != yaml.SequenceNode || seq.Style&yaml.FlowStyle != 0 || len(seq.Content) != g.items {
		return nil, false
	}
	for _, n := range seq.Content {
		shiftLines(n, g.line-1)
	}
	return seq.Content, true
}

func shiftLines(n *yaml.Node, by int) {
	n.Line += by
	for _, c := range n.Content {
		shiftLines(c, by)
	}
}

// isStepsKeyLine matches `steps:` at the first column with nothing after it but a comment.
func isStepsKeyLine(text []byte) bool {
	rest, ok := bytes.CutPrefix(text, []byte("steps:"))
	if !ok {
		return false
	}
	trimmed := bytes.TrimLeft(rest, " \t")
	return len(trimmed) == 0 || trimmed[0] == '#' && len(trimmed) < len(rest)
}

func loneCR(src []byte) bool {
	return bytes.Count(src, []byte("\r")) != bytes.Count(src, []byte("\r\n"))
}

func blankOrComment(text []byte) bool {
	t := bytes.TrimLeft(text, " \t")
	return len(t) == 0 || t[0] == '#'
}

func leadingSpaces(text []byte) int {
	n := 0
	for n < len(text) && text[n] == ' ' {
		n++
	}
	return n
}

// isItemStart matches a block sequence entry: "-" then a space, a tab or the line's end.
func isItemStart(text []byte) bool {
	return len(text) > 0 && text[0] == '-' && (len(text) == 1 || text[1] == ' ' || text[1] == '\t')
}
