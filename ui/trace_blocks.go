package ui

import (
	"encoding/json"
	"fmt"
	"strings"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"tandem/agents"
	"tandem/agents/tracefmt"
)

// Tool calls, tool results, thinking and final answers are blocks of a trace: a header line
// followed by body lines. A block folds to its header, the block cursor selects one, and y
// copies its text. Blocks are ranges of the buffer's lines, so scrolling, search and
// following treat them like any other line, and a streamed token still appends to one string.

type blockKind uint8

const (
	blockCall blockKind = iota
	blockResult
	blockThinking
	blockAnswer
	blockRecord // a formatted record with contents: a request, an invalid reply
	blockChild  // a run a step or a tool started: enter opens it
)

// collapseOver is the body length, in lines, above which calls and results start folded.
const collapseOver = 6

// traceBlock is one block of a buffer: lines[start] is its header, lines[start+1:end] its body.
type traceBlock struct {
	kind       blockKind
	start, end int
	name       string // the tool called
	failed     bool   // the tool returned an error
	size       int    // bytes of the whole text, before the agent cut a long result
	raw        string // what y copies; a thinking block's text is read from its lines
	collapsed  bool
	rendered   []string // an answer's markdown rows, one per body line, each width cells wide
	width      int
}

// title is the block's header without its fold marker: what it is and how big.
func (b *traceBlock) title() string {
	switch b.kind {
	case blockCall:
		return fmt.Sprintf("call %s · %s", b.name, formatSize(b.size))
	case blockResult:
		label := "result of "
		if b.failed {
			label = "error from "
		}
		return fmt.Sprintf("%s%s · %s, %s", label, b.name, formatSize(b.size), plural(b.end-b.start-1, "line"))
	case blockThinking:
		return "thinking · " + plural(b.end-b.start-1, "line")
	case blockChild:
		return fmt.Sprintf("↳ %s started run %s · enter opens it", b.name, b.raw)
	case blockRecord:
		return b.name
	}
	return "answer · " + formatSize(b.size)
}

func formatSize(n int) string {
	if n < 1000 {
		return fmt.Sprintf("%d B", n)
	}
	return fmt.Sprintf("%.1f kB", float64(n)/1000)
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// addBlock appends blk with a header line of kind and the body, each line of kind bodyKind.
func (b *traceBuffer) addBlock(blk *traceBlock, kind uint8, body []string, bodyKind uint8) {
	b.open = false
	b.blocks = append(b.blocks, blk)
	id := int32(len(b.blocks))
	blk.start = len(b.lines)
	b.lines = append(b.lines, traceLine{kind: kind, header: true, block: id})
	for _, l := range body {
		b.lines = append(b.lines, traceLine{text: l, kind: bodyKind, block: id})
	}
	blk.end = len(b.lines)
	blk.collapsed = len(body) > collapseOver
}

// callBlock turns a tool call into a block.
func (b *traceBuffer) callBlock(r agents.ToolCall) {
	args, _ := json.MarshalIndent(r.Arguments, "", "  ")
	text := string(args)
	b.addBlock(&traceBlock{kind: blockCall, name: r.Name, size: len(text), raw: text},
		lineBlock, indent(text), lineContent)
}

// resultBlock turns a tool result into a block.
func (b *traceBuffer) resultBlock(r agents.ToolResult) {
	size := r.Size
	if size == 0 {
		size = len(r.Result)
	}
	headKind, bodyKind := lineBlock, lineContent
	if r.Error { // a tool error is a problem: drawn as one, and E finds it
		headKind, bodyKind = lineProblem, lineStderr
	}
	b.addBlock(&traceBlock{kind: blockResult, name: r.Name, failed: r.Error, size: size, raw: r.Result},
		headKind, indent(strings.TrimRight(r.Result, "\n")), bodyKind)
}

// indent splits text into lines for a block body, cleaned as streamed text is.
func indent(text string) []string {
	text = cleanText(text)
	if text == "" {
		return nil
	}
	lines := strings.Split(text, "\n")
	for i, l := range lines {
		lines[i] = "  " + l
	}
	return lines
}

// classKinds are the line kinds the trace draws tracefmt's classes in.
var classKinds = [...]uint8{tracefmt.Normal: lineStdout, tracefmt.Dim: lineMeta, tracefmt.Heading: lineMeta,
	tracefmt.Tool: lineBlock, tracefmt.Thinking: lineThinking, tracefmt.Problem: lineProblem}

func classKind(c tracefmt.Class) uint8 {
	if int(c) < len(classKinds) {
		return classKinds[c]
	}
	return lineStdout
}

// recordLines adds a formatted record: its head as a line, or with contents as a block
// whose header is the head, folded when fold is set or the contents are long.
func (b *traceBuffer) recordLines(f tracefmt.Block, fold bool) {
	if len(f.Body) == 0 {
		b.line(classKind(f.Head.Class), f.Head.Text)
		return
	}
	body := make([]string, len(f.Body))
	for i, l := range f.Body {
		body[i] = "  " + cleanText(l.Text)
	}
	blk := &traceBlock{kind: blockRecord, name: cleanText(f.Head.Text), size: len(f.Copy), raw: f.Copy}
	b.addBlock(blk, classKind(f.Head.Class), body, lineStdout)
	blk.collapsed = blk.collapsed || fold
}

// childBlock notes the run a step (a sub-flow) or a tool (a flow or agent tool) started,
// as a block the cursor can select and enter opens.
func (b *traceBuffer) childBlock(who, runID string) {
	b.addBlock(&traceBlock{kind: blockChild, name: who, raw: runID}, lineBlock, nil, lineStdout)
}

// TraceOpenRunMsg asks the app to open a run a step of the trace started.
type TraceOpenRunMsg struct{ RunID string }

// openChild opens the child run under the block cursor; nil when the cursor is on no
// child run's block.
func (m TraceModel) openChild() tea.Cmd {
	b := m.buffers[m.stepID]
	if b == nil || m.cursor < 0 || b.blocks[m.cursor].kind != blockChild {
		return nil
	}
	id := b.blocks[m.cursor].raw
	return func() tea.Msg { return TraceOpenRunMsg{RunID: id} }
}

// contentRun returns the text of the last run of streamed content not yet made an answer.
func (b *traceBuffer) contentRun() (string, bool) {
	if b.runStart < 0 || b.runEnd > len(b.lines) {
		return "", false
	}
	var sb strings.Builder
	for i, l := range b.lines[b.runStart:b.runEnd] {
		if i > 0 {
			sb.WriteByte('\n')
		}
		sb.WriteString(l.text)
	}
	return sb.String(), true
}

// answer makes answer a markdown block. When the last run of streamed content is the answer,
// the block takes its place; otherwise (the answer came wrapped in JSON) it is appended. It
// returns where lines were replaced and by how many lines the trace grew.
func (b *traceBuffer) answer(answer string, md *markdownCache, width int, dark bool) (at, grew int) {
	blk := &traceBlock{kind: blockAnswer, raw: answer, size: len(answer)}
	at, end := len(b.lines), len(b.lines)
	if run, ok := b.contentRun(); ok && strings.TrimSpace(run) == strings.TrimSpace(answer) {
		at, end = b.runStart, b.runEnd
	}
	b.runStart, b.runEnd = -1, -1
	b.blocks = append(b.blocks, blk)
	id := int32(len(b.blocks))
	blk.rendered, blk.width = md.render(answer, width, dark), max(width, 1)
	repl := make([]traceLine, 0, len(blk.rendered)+1)
	repl = append(repl, traceLine{kind: lineBlock, header: true, block: id})
	repl = append(repl, answerLines(blk.rendered, id)...)
	grew = b.splice(at, end, repl)
	blk.start, blk.end = at, at+len(repl)
	if end == len(b.lines)-grew {
		b.open = false
	}
	return at, grew
}

func answerLines(rows []string, id int32) []traceLine {
	out := make([]traceLine, len(rows))
	for i, r := range rows {
		out[i] = traceLine{text: strings.TrimRight(ansi.Strip(r), " "), kind: lineAnswer, block: id}
	}
	return out
}

// rerender renders every answer again at width, for a resize or a new background, telling
// onMove where lines were replaced and by how many lines the trace grew.
func (b *traceBuffer) rerender(md *markdownCache, width int, dark bool, onMove func(at, grew int)) {
	for id, blk := range b.blocks {
		if blk.kind != blockAnswer {
			continue
		}
		blk.rendered, blk.width = md.render(blk.raw, width, dark), max(width, 1)
		grew := b.splice(blk.start+1, blk.end, answerLines(blk.rendered, int32(id+1)))
		blk.end += grew
		onMove(blk.start+1, grew)
	}
}

// splice replaces lines[at:end] with repl, moving the blocks and the content run after them,
// and returns by how many lines the trace grew.
func (b *traceBuffer) splice(at, end int, repl []traceLine) int {
	grew := len(repl) - (end - at)
	if grew == 0 {
		copy(b.lines[at:], repl)
		return 0
	}
	tail := append([]traceLine(nil), b.lines[end:]...)
	b.lines = append(append(b.lines[:at], repl...), tail...)
	for _, blk := range b.blocks {
		if blk.start >= end {
			blk.start += grew
			blk.end += grew
		}
	}
	if b.runStart >= end {
		b.runStart += grew
		b.runEnd += grew
	}
	return grew
}

// blockText is what y copies for block blk: a thinking block's lines, the others' raw text.
func (b *traceBuffer) blockText(blk *traceBlock) string {
	if blk.kind != blockThinking {
		return blk.raw
	}
	var sb strings.Builder
	for i, l := range b.lines[blk.start+1 : blk.end] {
		if i > 0 {
			sb.WriteByte('\n')
		}
		sb.WriteString(l.text)
	}
	return sb.String()
}

// text is the whole trace as plain text, answers as their markdown, for y without a block.
func (b *traceBuffer) text() string {
	var sb strings.Builder
	for i := 0; i < len(b.lines); i++ {
		l := b.lines[i]
		if i > 0 {
			sb.WriteByte('\n')
		}
		if l.header {
			blk := b.blocks[l.block-1]
			sb.WriteString(blk.title())
			if blk.kind == blockAnswer {
				sb.WriteByte('\n')
				sb.WriteString(blk.raw)
				i = blk.end - 1
			}
			continue
		}
		sb.WriteString(l.text)
	}
	return sb.String()
}

// moveCursor selects the next (dir 1) or previous (dir -1) block in the trace, or without a
// selection the first or last one in view, and scrolls its header into view.
func (m *TraceModel) moveCursor(dir int) {
	b := m.buffers[m.stepID]
	if b == nil {
		return
	}
	// Blocks are found by position: an answer takes the place of content streamed earlier.
	pos := m.firstVisible() - 1
	if dir < 0 {
		pos = m.lastVisible() + 1
	}
	if m.cursor >= 0 {
		pos = b.blocks[m.cursor].start
	}
	best := -1
	for i, blk := range b.blocks {
		if m.hideThinking && blk.kind == blockThinking {
			continue
		}
		if (dir > 0 && blk.start > pos && (best < 0 || blk.start < b.blocks[best].start)) ||
			(dir < 0 && blk.start < pos && (best < 0 || blk.start > b.blocks[best].start)) {
			best = i
		}
	}
	if best < 0 {
		return
	}
	m.cursor = best
	m.reveal(b.blocks[best])
}

// reveal scrolls so blk's header is in view, leaving the view alone when it already is.
func (m *TraceModel) reveal(blk *traceBlock) {
	if blk.start < m.firstVisible() || blk.start > m.lastVisible() {
		m.scrollTo(blk.start)
	}
}

// fold folds or unfolds the block under the cursor; without one it selects the first block
// in view.
func (m *TraceModel) fold() {
	b := m.buffers[m.stepID]
	if b == nil {
		return
	}
	if m.cursor < 0 {
		m.moveCursor(1)
		return
	}
	blk := b.blocks[m.cursor]
	blk.collapsed = !blk.collapsed
	if !m.follow && m.top > blk.start && m.top < blk.end {
		m.top = blk.start
	}
	if m.match > blk.start && m.match < blk.end {
		m.match = -1
	}
	m.reveal(blk)
}

// copyCmd puts the block under the cursor, or the whole step's trace, on the clipboard with
// OSC 52 and tells the app how much it copied.
func (m TraceModel) copyCmd() tea.Cmd {
	b := m.buffers[m.stepID]
	if b == nil {
		return nil
	}
	text := b.text()
	if m.cursor >= 0 {
		text = b.blockText(b.blocks[m.cursor])
	}
	return tea.Batch(tea.SetClipboard(text), func() tea.Msg { return copiedMsg{text: text} })
}

// finishAnswer makes answer step stepID's answer block, drawn as markdown.
func (m *TraceModel) finishAnswer(stepID string, b *traceBuffer, answer string) {
	at, grew := b.answer(answer, m.md, m.w, m.theme.Dark)
	if stepID == m.stepID {
		m.moved(at, grew)
	}
}

func looksLikeJSON(s string) bool {
	s = strings.TrimSpace(s)
	return s == "" || s[0] == '{' || s[0] == '['
}

// lineText is line l as shown: a header is its block's fold marker and title.
func lineText(b *traceBuffer, l traceLine) string {
	if !l.header {
		return l.text
	}
	blk := b.blocks[l.block-1]
	if blk.collapsed {
		return "▸ " + blk.title()
	}
	return "▾ " + blk.title()
}
