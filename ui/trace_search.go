package ui

import (
	"strings"

	"github.com/charmbracelet/x/ansi"
)

// Search, problems and folding over a whole step's trace: every match of the query is
// highlighted and counted (3/7), problems (invalid actions, repeated calls, tool errors,
// stops) are a key away, and every block folds or unfolds at once. Long lines wrap under
// their own indentation.

// countMatches returns how many shown lines of the step contain the query, and which of
// them (1-based) line at is; 0 when at is not one.
func (m TraceModel) countMatches(at int) (n, index int) {
	b := m.buffers[m.stepID]
	if b == nil || m.query == "" {
		return 0, 0
	}
	q := strings.ToLower(m.query)
	for i, l := range b.lines {
		if m.hideThinking && l.kind == lineThinking {
			continue
		}
		if strings.Contains(strings.ToLower(lineText(b, l)), q) {
			n++
			if i == at {
				index = n
			}
		}
	}
	return n, index
}

// nextProblem scrolls to the next line drawn as a problem after the last one jumped to (or
// the top of the view), wrapping around; it unfolds the block the problem is in.
func (m *TraceModel) nextProblem() {
	b := m.buffers[m.stepID]
	if b == nil || len(b.lines) == 0 {
		return
	}
	from := m.problem
	if from < 0 {
		from = m.firstVisible() - 1
	}
	for n := 1; n <= len(b.lines); n++ {
		i := (from + n) % len(b.lines)
		if b.lines[i].kind != lineProblem {
			continue
		}
		if l := b.lines[i]; l.block != 0 && !l.header {
			b.blocks[l.block-1].collapsed = false
		}
		m.problem = i
		m.scrollTo(i - m.bodyH()/3)
		if m.follow && i < m.bottomStart() {
			m.follow = false
		}
		return
	}
	m.problem = -1
}

// foldAll folds every block of the step, or unfolds them all when all are folded.
func (m *TraceModel) foldAll() {
	b := m.buffers[m.stepID]
	if b == nil || len(b.blocks) == 0 {
		return
	}
	fold := false
	for _, blk := range b.blocks {
		if !blk.collapsed && blk.end-blk.start > 1 {
			fold = true
		}
	}
	for _, blk := range b.blocks {
		blk.collapsed = fold && blk.end-blk.start > 1
		if fold && !m.follow && m.top > blk.start && m.top < blk.end {
			m.top = blk.start
		}
	}
	m.match = -1
}

// hangIndent is the indentation wrapped rows of s hang under: its leading spaces, at most
// half the width.
func hangIndent(s string, w int) int {
	n := len(s) - len(strings.TrimLeft(s, " "))
	if n >= w/2 {
		return 0
	}
	return n
}

// wrapHanging cuts s, w cells wide, into rows, between words where a row has a space in
// its second half; rows after the first start with s's indent.
func wrapHanging(s string, w int) []string {
	if textWidth(s) <= w {
		return []string{s}
	}
	ind := hangIndent(s, w)
	pad := strings.Repeat(" ", ind)
	var rows []string
	rest, room := s, w
	for rest != "" {
		part := ansi.Truncate(rest, room, "")
		if part == "" { // a rune wider than the room: give it a row
			part = string([]rune(rest)[:1])
		}
		if len(part) < len(rest) {
			if i := strings.LastIndexByte(part, ' '); i > len(part)/2 {
				part = part[:i+1]
			}
		}
		if rows == nil {
			rows = append(rows, part)
		} else {
			rows = append(rows, pad+part)
		}
		rest, room = rest[len(part):], w-ind
	}
	return rows
}

// wrappedRows is how many rows s takes w cells wide, as wrapHanging cuts it.
func wrappedRows(s string, w int) int {
	if textWidth(s) <= w {
		return 1
	}
	return len(wrapHanging(s, w))
}

// highlight styles s in st with every match of the query in the match style (cur for the
// current match's line).
func (m TraceModel) highlight(s string, st inline, cur bool) string {
	if m.query == "" {
		return st.render(s)
	}
	ls, q := strings.ToLower(s), strings.ToLower(m.query)
	if len(ls) != len(s) || !strings.Contains(ls, q) { // lower-casing changed the length: no offsets
		return st.render(s)
	}
	mark := m.styles[lineMatch]
	if cur {
		mark = m.styles[lineCurrent]
	}
	var b strings.Builder
	for {
		i := strings.Index(ls, q)
		if i < 0 {
			b.WriteString(st.render(s))
			return b.String()
		}
		j := i + len(q)
		b.WriteString(st.render(s[:i]))
		b.WriteString(mark.render(s[i:j]))
		s, ls = s[j:], ls[j:]
	}
}
