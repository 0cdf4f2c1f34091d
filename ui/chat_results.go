package ui

import (
	"fmt"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"
)

// The chat's tool results, opened in full: tab selects a result in the transcript (its line
// highlighted and scrolled into view), enter shows it whole over the transcript, esc goes
// back. A result the trace cut at its first 4,000 characters says so and where the rest is.

// isResult reports whether a part is a tool's result (or its error).
func isResult(p chatPart) bool { return p.kind == partToolResult || p.kind == partToolError }

// moveSelection selects the next (dir 1) or previous (dir -1) tool result, wrapping.
func (m *ChatModel) moveSelection(dir int) {
	type at struct{ turn, part int }
	var all []at
	for i, t := range m.turns {
		for j, p := range t.parts {
			if isResult(p) {
				all = append(all, at{i, j})
			}
		}
	}
	if len(all) == 0 {
		m.setNote("no tool result to open yet", false)
		return
	}
	cur := -1
	for i, a := range all {
		if a.turn == m.selTurn && a.part == m.selPart {
			cur = i
		}
	}
	next := len(all) - 1 // from nothing selected, tab starts at the newest result
	if cur >= 0 {
		next = (cur + dir + len(all)) % len(all)
	} else if dir < 0 {
		next = len(all) - 1
	}
	m.selectResult(all[next].turn, all[next].part)
}

// selectResult selects part p of turn t (-1, -1: none) and redraws the turns it touches.
func (m *ChatModel) selectResult(t, p int) {
	for _, i := range []int{m.selTurn, t} {
		if i >= 0 && i < len(m.turns) {
			m.turns[i].rendered = nil
		}
	}
	m.selTurn, m.selPart = t, p
	m.setNote("", false)
	m.render()
	if line := m.selectedLine; line >= 0 {
		if line < m.vp.YOffset() || line >= m.vp.YOffset()+m.vp.Height() {
			m.vp.SetYOffset(max(line-m.vp.Height()/2, 0))
		}
	}
}

// selected is the selected result, or nil.
func (m ChatModel) selected() *chatPart {
	if m.selTurn < 0 || m.selTurn >= len(m.turns) {
		return nil
	}
	t := m.turns[m.selTurn]
	if m.selPart < 0 || m.selPart >= len(t.parts) || !isResult(t.parts[m.selPart]) {
		return nil
	}
	p := t.parts[m.selPart]
	return &p
}

// fullKey handles keys while a result is open in full.
func (m ChatModel) fullKey(k tea.KeyPressMsg) ChatModel {
	switch {
	case key.Matches(k, m.Keys.ClosePicker, m.Keys.Open):
		m.full = nil
	case key.Matches(k, m.Keys.PageUp):
		m.fullVP.PageUp()
	case key.Matches(k, m.Keys.PageDown):
		m.fullVP.PageDown()
	case key.Matches(k, m.Keys.Up):
		m.fullVP.ScrollUp(1)
	case key.Matches(k, m.Keys.Down):
		m.fullVP.ScrollDown(1)
	}
	return m
}

// renderFull lays the open result out, wrapped to the width.
func (m *ChatModel) renderFull() {
	if m.full == nil || m.w == 0 {
		return
	}
	p := m.full
	head := strings.SplitN(p.text, ":", 2)[0] // "◂ read_file"
	lines := []string{m.theme.Title.Render(fitText(head+" · "+fmt.Sprintf("%d characters", max(p.size, len(p.full))), m.w))}
	for _, l := range strings.Split(cleanText(p.full), "\n") {
		lines = append(lines, strings.Split(wrapText(l, m.w), "\n")...)
	}
	if p.size > len(p.full) {
		lines = append(lines, "", m.theme.Dim.Render(fitText(fmt.Sprintf("the trace keeps the first %d of %d characters; the tool's own output has the rest", len(p.full), p.size), m.w)))
	}
	m.fullVP.SetContentLines(lines)
}

// wrapText wraps s at word boundaries, breaking longer words, to width w.
func wrapText(s string, w int) string {
	return ansi.Hardwrap(ansi.Wordwrap(s, max(w, 1), ""), max(w, 1), true)
}
