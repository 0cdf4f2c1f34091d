package ui

import (
	"strings"

	"github.com/charmbracelet/x/ansi"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/text"
)

// Pipe tables (GFM): goldmark's core parser reads them as a paragraph, so the renderer
// recognises one by its delimiter row and lays the cells out itself, without the extension
// package (whose init compiles regular expressions on every start of the binary).

// table renders paragraph n as a table if its lines are one: a header row, a delimiter row
// (|---|:--:|) and body rows. Columns that fit the width are laid out with rules between
// them, each aligned as its delimiter's colons say; otherwise each body row is written as
// "header: value" lines.
func (r *mdRenderer) table(n ast.Node, width int) ([]string, bool) {
	lines := r.lines(n)
	if len(lines) < 2 || !strings.Contains(lines[0], "|") || !isDelimiterRow(lines[1]) {
		return nil, false
	}
	header, delims := tableCells(lines[0]), tableCells(lines[1])
	if len(header) != len(delims) {
		return nil, false
	}
	cols := len(header)
	cells := [][][]mdSpan{r.cellSpans(header, cols, mdStrong)}
	for _, l := range lines[2:] {
		cells = append(cells, r.cellSpans(tableCells(l), cols, 0))
	}
	widths := make([]int, cols)
	for _, row := range cells {
		for c, spans := range row {
			widths[c] = max(widths[c], spansWidth(spans))
		}
	}
	total := 3 * (cols - 1)
	for _, w := range widths {
		total += w
	}
	if total > width {
		return r.tableAsLines(cells, width), true
	}
	sep := r.th.dim.render(" │ ")
	var rows []string
	for i, row := range cells {
		var sb strings.Builder
		for c, spans := range row {
			if c > 0 {
				sb.WriteString(sep)
			}
			cell := ""
			if len(spans) > 0 {
				cell = r.wrap(spans, widths[c])[0]
			}
			pad := widths[c] - ansi.StringWidth(cell)
			left := 0
			switch d := delims[c]; {
			case strings.HasPrefix(d, ":") && strings.HasSuffix(d, ":"):
				left = pad / 2
			case strings.HasSuffix(d, ":"):
				left = pad
			}
			sb.WriteString(strings.Repeat(" ", left) + cell)
			if c < cols-1 {
				sb.WriteString(strings.Repeat(" ", pad-left))
			}
		}
		rows = append(rows, sb.String())
		if i == 0 {
			parts := make([]string, cols)
			for c, w := range widths {
				parts[c] = strings.Repeat("─", w)
			}
			rows = append(rows, r.th.dim.render(strings.Join(parts, "─┼─")))
		}
	}
	return rows, true
}

// tableAsLines writes a table too wide for the pane as one block per body row, a line per
// cell under its column's header.
func (r *mdRenderer) tableAsLines(cells [][][]mdSpan, width int) []string {
	var rows []string
	for i, row := range cells[1:] {
		if i > 0 {
			rows = append(rows, "")
		}
		for c, spans := range row {
			line := append(append([]mdSpan{}, cells[0][c]...), mdSpan{text: ": ", mark: mdStrong})
			rows = append(rows, r.wrap(append(line, spans...), width)...)
		}
	}
	return rows
}

// cellSpans parses each cell's text as inline markdown, padding or cutting the row to cols.
func (r *mdRenderer) cellSpans(texts []string, cols int, mark mdMark) [][]mdSpan {
	out := make([][]mdSpan, cols)
	for c := 0; c < cols && c < len(texts); c++ {
		sub := &mdRenderer{src: []byte(texts[c]), th: r.th}
		doc := mdParser().Parse(text.NewReader(sub.src))
		if p := doc.FirstChild(); p != nil {
			out[c] = sub.inlines(p, mark)
		}
	}
	return out
}

func spansWidth(spans []mdSpan) int {
	w := 0
	for _, s := range spans {
		w += ansi.StringWidth(s.text)
	}
	return w
}

// isDelimiterRow reports a table's delimiter row: cells of dashes with optional colons.
func isDelimiterRow(l string) bool {
	cells := tableCells(l)
	if len(cells) == 0 {
		return false
	}
	for _, c := range cells {
		c = strings.TrimSuffix(strings.TrimPrefix(c, ":"), ":")
		if c == "" || strings.Trim(c, "-") != "" {
			return false
		}
	}
	return true
}

// tableCells splits a table row at its pipes (not at an escaped \| or one inside `code`),
// without the optional pipes at either end, each cell trimmed.
func tableCells(l string) []string {
	l = strings.TrimSpace(l)
	l = strings.TrimPrefix(l, "|")
	if strings.HasSuffix(l, "|") && !strings.HasSuffix(l, `\|`) {
		l = l[:len(l)-1]
	}
	var cells []string
	var cur strings.Builder
	inCode := false
	for i := 0; i < len(l); i++ {
		switch ch := l[i]; {
		case ch == '\\' && i+1 < len(l) && l[i+1] == '|':
			cur.WriteByte('|')
			i++
		case ch == '`':
			inCode = !inCode
			cur.WriteByte(ch)
		case ch == '|' && !inCode:
			cells = append(cells, strings.TrimSpace(cur.String()))
			cur.Reset()
		default:
			cur.WriteByte(ch)
		}
	}
	return append(cells, strings.TrimSpace(cur.String()))
}
