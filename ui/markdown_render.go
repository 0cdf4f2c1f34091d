package ui

import (
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/charmbracelet/x/ansi"
	"github.com/rivo/uniseg"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/parser"
	"github.com/yuin/goldmark/text"
	"github.com/yuin/goldmark/util"
)

// The markdown renderer: goldmark parses (CommonMark), and this file lays the tree out in
// rows for a terminal pane. Headings, paragraphs wrapped to the width, emphasis, inline code,
// code blocks (kept as written, not highlighted), nested lists, block quotes, links (their
// text and address), rules and GFM-style pipe tables. Styles come from mdTheme (theme.go).

// mdMark is a set of inline marks on a run of text; they nest (a link in bold text).
type mdMark uint8

const (
	mdStrongBit = iota
	mdEmphBit
	mdCodeBit
	mdLinkBit
	mdURLBit
	mdHeadingBit
	mdTitleBit
	mdMarkCount
)

const (
	mdStrong  mdMark = 1 << mdStrongBit
	mdEmph    mdMark = 1 << mdEmphBit
	mdCode    mdMark = 1 << mdCodeBit
	mdLink    mdMark = 1 << mdLinkBit
	mdURL     mdMark = 1 << mdURLBit
	mdHeading mdMark = 1 << mdHeadingBit
	mdTitle   mdMark = 1 << mdTitleBit
)

// mdParser is goldmark's CommonMark parser, made when the first answer is rendered (it is
// safe for concurrent use; each Parse has its own context).
var mdParser = sync.OnceValue(func() parser.Parser {
	return parser.NewParser(
		parser.WithBlockParsers(parser.DefaultBlockParsers()...),
		parser.WithInlineParsers(parser.DefaultInlineParsers()...),
		parser.WithParagraphTransformers(parser.DefaultParagraphTransformers()...),
	)
})

// renderMarkdown lays src out in rows at most width cells wide (not padded). It never
// panics: should the parser fail on some input, the rows are the text, wrapped.
func renderMarkdown(src string, width int, th *mdTheme) (rows []string) {
	// Bytes that are not UTF-8 would be measured one way alone and another beside the
	// padding; the replacement character is one cell wherever it stands.
	src = cleanText(strings.ToValidUTF8(src, "\uFFFD"))
	defer func() {
		if recover() != nil {
			rows = strings.Split(ansi.Hardwrap(ansi.Wordwrap(src, width, ""), width, true), "\n")
		}
	}()
	r := &mdRenderer{src: []byte(src), th: th}
	doc := mdParser().Parse(text.NewReader(r.src))
	return r.blocks(doc, width, 0)
}

type mdRenderer struct {
	src []byte
	th  *mdTheme
}

// blocks renders the block children of n, a blank row between blocks except after the text
// of a tight list item. depth counts the lists n is in, for their bullets.
func (r *mdRenderer) blocks(n ast.Node, width, depth int) []string {
	var rows []string
	for c := n.FirstChild(); c != nil; c = c.NextSibling() {
		if prev := c.PreviousSibling(); prev != nil && prev.Kind() != ast.KindTextBlock {
			rows = append(rows, "")
		}
		rows = append(rows, r.block(c, width, depth)...)
	}
	return rows
}

func (r *mdRenderer) block(n ast.Node, width, depth int) []string {
	width = max(width, 1)
	switch n := n.(type) {
	case *ast.Heading:
		// A title (level 1) stands out by its style alone; below it the level shows as
		// "## ", dimmed, as the reader would have written it.
		marker, mark := "", mdHeading|mdTitle
		if n.Level > 1 {
			marker, mark = strings.Repeat("#", n.Level)+" ", mdHeading
		}
		if len(marker) >= width {
			marker = ""
		}
		return r.prefixed(r.wrap(r.inlines(n, mark), width-len(marker)), r.th.dim.render(marker), strings.Repeat(" ", len(marker)))
	case *ast.Paragraph, *ast.TextBlock:
		if rows, ok := r.table(n, width); ok {
			return rows
		}
		return r.wrap(r.inlines(n, 0), width)
	case *ast.ThematicBreak:
		return []string{r.th.dim.render(strings.Repeat("─", width))}
	case *ast.CodeBlock, *ast.FencedCodeBlock:
		return r.code(n, width)
	case *ast.HTMLBlock:
		var rows []string
		for _, l := range r.lines(n) {
			rows = append(rows, hardRows(l, width)...)
		}
		if n.HasClosure() {
			rows = append(rows, hardRows(strings.TrimRight(string(n.ClosureLine.Value(r.src)), "\n"), width)...)
		}
		return rows
	case *ast.Blockquote:
		if width < 3 {
			return r.blocks(n, width, depth)
		}
		bar := r.th.dim.render("│ ")
		return r.prefixed(r.blocks(n, width-2, depth), bar, bar)
	case *ast.List:
		return r.list(n, width, depth)
	}
	return r.blocks(n, width, depth)
}

// list renders a list's items, each under its bullet or number, nested lists indented by it.
func (r *mdRenderer) list(l *ast.List, width, depth int) []string {
	bullets := []string{"•", "◦", "▪"}
	last := l.Start + l.ChildCount() - 1
	numW := len(strconv.Itoa(last))
	var rows []string
	i := 0
	for item := l.FirstChild(); item != nil; item, i = item.NextSibling(), i+1 {
		marker := bullets[depth%len(bullets)] + " "
		if l.IsOrdered() {
			marker = fmt.Sprintf("%*d%c ", numW, l.Start+i, l.Marker)
		}
		mw := ansi.StringWidth(marker)
		if mw >= width {
			marker, mw = "", 0
		}
		if i > 0 && !l.IsTight {
			rows = append(rows, "")
		}
		body := r.blocks(item, width-mw, depth+1)
		if len(body) == 0 {
			body = []string{""}
		}
		rows = append(rows, r.prefixed(body, r.th.dim.render(marker), strings.Repeat(" ", mw))...)
	}
	return rows
}

// code renders a code block's lines as written, indented by two cells; a line wider than the
// pane continues on the next row at the same indent.
func (r *mdRenderer) code(n ast.Node, width int) []string {
	indent := "  "
	if width <= 4 {
		indent = ""
	}
	var rows []string
	for _, l := range r.lines(n) {
		for _, p := range hardRows(l, width-len(indent)) {
			rows = append(rows, indent+r.th.code.render(p))
		}
	}
	return rows
}

// lines returns a block's raw lines without their line breaks.
func (r *mdRenderer) lines(n ast.Node) []string {
	ls := n.Lines()
	out := make([]string, ls.Len())
	for i := range out {
		seg := ls.At(i)
		out[i] = strings.TrimRight(string(seg.Value(r.src)), "\r\n")
	}
	return out
}

// prefixed puts first before the first row and rest before the others.
func (r *mdRenderer) prefixed(rows []string, first, rest string) []string {
	for i := range rows {
		if i == 0 {
			rows[i] = first + rows[i]
		} else {
			rows[i] = rest + rows[i]
		}
	}
	return rows
}

// hardRows cuts a line of plain text into rows of at most width cells.
func hardRows(s string, width int) []string {
	if s == "" {
		return []string{""}
	}
	return strings.Split(ansi.Hardwrap(s, max(width, 1), true), "\n")
}

// mdSpan is a run of text with one set of marks. A "\n" span is a hard line break.
type mdSpan struct {
	text string
	mark mdMark
}

// inlines flattens n's inline children into spans, each child's marks added to mark.
func (r *mdRenderer) inlines(n ast.Node, mark mdMark) []mdSpan {
	var out []mdSpan
	var walk func(n ast.Node, mark mdMark)
	add := func(s string, m mdMark) {
		if s != "" {
			out = append(out, mdSpan{text: safeInline(s), mark: m})
		}
	}
	walk = func(n ast.Node, mark mdMark) {
		for c := n.FirstChild(); c != nil; c = c.NextSibling() {
			switch c := c.(type) {
			case *ast.Text:
				v := c.Segment.Value(r.src)
				if !c.IsRaw() {
					v = unescape(v)
				}
				add(string(v), mark)
				if c.HardLineBreak() {
					out = append(out, mdSpan{text: "\n"})
				} else if c.SoftLineBreak() {
					add(" ", mark)
				}
			case *ast.String:
				v := c.Value
				if !c.IsRaw() && !c.IsCode() {
					v = unescape(v)
				}
				add(string(v), mark)
			case *ast.CodeSpan:
				var sb strings.Builder
				for t := c.FirstChild(); t != nil; t = t.NextSibling() {
					switch t := t.(type) {
					case *ast.Text:
						sb.Write(t.Segment.Value(r.src))
					case *ast.String:
						sb.Write(t.Value)
					}
				}
				add(strings.ReplaceAll(sb.String(), "\n", " "), mark|mdCode)
			case *ast.Emphasis:
				m := mdEmph
				if c.Level >= 2 {
					m = mdStrong
				}
				walk(c, mark|m)
			case *ast.Link:
				start := len(out)
				walk(c, mark|mdLink)
				r.address(&out, start, string(c.Destination), mark)
			case *ast.Image:
				start := len(out)
				walk(c, mark|mdEmph)
				if len(out) == start {
					add("image", mark|mdEmph)
				}
				r.address(&out, start, string(c.Destination), mark)
			case *ast.AutoLink:
				add(string(c.Label(r.src)), mark|mdLink)
			case *ast.RawHTML:
				for i := 0; i < c.Segments.Len(); i++ {
					seg := c.Segments.At(i)
					add(string(seg.Value(r.src)), mark)
				}
			default:
				walk(c, mark)
			}
		}
	}
	walk(n, mark)
	return out
}

// address adds a link's destination after its text, in brackets, unless the text already
// says it.
func (r *mdRenderer) address(out *[]mdSpan, start int, dest string, mark mdMark) {
	dest = safeInline(string(unescape([]byte(dest))))
	if dest == "" {
		return
	}
	var label strings.Builder
	for _, s := range (*out)[start:] {
		label.WriteString(s.text)
	}
	if strings.TrimSpace(label.String()) == dest {
		return
	}
	*out = append(*out, mdSpan{text: " ", mark: mark}, mdSpan{text: "(" + dest + ")", mark: mark | mdURL})
}

// unescape resolves backslash escapes and character references as goldmark's own HTML
// renderer does; what they resolve to is cleaned like any other text (safeInline).
func unescape(v []byte) []byte {
	return util.ResolveEntityNames(util.ResolveNumericReferences(util.UnescapePunctuations(v)))
}

// safeInline is text made safe to draw on one row: no escape sequences, no control
// characters, no line breaks.
func safeInline(s string) string {
	s = cleanText(s)
	if strings.IndexByte(s, '\n') >= 0 {
		s = strings.ReplaceAll(s, "\n", " ")
	}
	return s
}

// mdPiece is part of a word with one set of marks.
type mdPiece struct {
	text string
	mark mdMark
}

// mdWord is a run of text between spaces; space is the marks of the space before it, so a
// space inside inline code keeps the code's background.
type mdWord struct {
	pieces []mdPiece
	width  int
	space  mdMark
	brk    bool // a hard line break comes before this word
}

// words splits spans at spaces into words.
func words(spans []mdSpan) []mdWord {
	var out []mdWord
	cur := mdWord{}
	var pendingSpace mdMark
	flush := func() {
		if len(cur.pieces) > 0 || cur.brk {
			out = append(out, cur)
		}
		cur = mdWord{space: pendingSpace}
	}
	for _, s := range spans {
		if s.text == "\n" {
			flush()
			cur.brk = true
			continue
		}
		t := s.text
		for t != "" {
			i := strings.IndexByte(t, ' ')
			if i < 0 {
				i = len(t)
			}
			if i > 0 {
				cur.pieces = append(cur.pieces, mdPiece{text: t[:i], mark: s.mark})
				cur.width += ansi.StringWidth(t[:i])
			}
			if i == len(t) {
				break
			}
			// One or more spaces end the word.
			pendingSpace = s.mark
			brk := cur.brk
			if len(cur.pieces) > 0 || brk {
				flush()
			} else {
				cur.space = pendingSpace
			}
			t = strings.TrimLeft(t[i:], " ")
		}
	}
	flush()
	return out
}

// wrap lays spans out in rows at most width cells wide, breaking at spaces, and inside a
// word only where it alone is wider than a row.
func (r *mdRenderer) wrap(spans []mdSpan, width int) []string {
	width = max(width, 1)
	var rows []string
	var line strings.Builder
	lineW := 0
	var lineMark mdMark // marks of the run being written, so a run is styled once
	var run strings.Builder
	flushRun := func() {
		if run.Len() > 0 {
			line.WriteString(r.th.style(lineMark).render(run.String()))
			run.Reset()
		}
	}
	put := func(s string, m mdMark) {
		if m != lineMark {
			flushRun()
			lineMark = m
		}
		run.WriteString(s)
	}
	endRow := func() {
		flushRun()
		rows = append(rows, line.String())
		line.Reset()
		lineW = 0
	}
	started := false
	for _, w := range words(spans) {
		if w.brk && started {
			endRow()
		}
		if len(w.pieces) == 0 {
			started = true
			continue
		}
		if lineW > 0 && lineW+1+w.width > width {
			endRow()
		}
		if lineW > 0 {
			put(" ", w.space)
			lineW++
		}
		started = true
		if w.width <= width-lineW {
			for _, p := range w.pieces {
				put(p.text, p.mark)
			}
			lineW += w.width
			continue
		}
		// A word wider than the row: cut it at grapheme boundaries.
		for _, p := range w.pieces {
			for _, g := range graphemes(p.text) {
				gw := ansi.StringWidth(g)
				if lineW > 0 && lineW+gw > width {
					endRow()
				}
				put(g, p.mark)
				lineW += gw
			}
		}
	}
	if lineW > 0 || run.Len() > 0 || line.Len() > 0 || len(rows) == 0 {
		endRow()
	}
	return rows
}

// graphemes splits s into user-perceived characters (what a terminal cell holds).
func graphemes(s string) []string {
	var out []string
	state := -1
	for s != "" {
		var g string
		g, s, _, state = uniseg.FirstGraphemeClusterInString(s, state)
		out = append(out, g)
	}
	return out
}
