package ui

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"tandem/agents"
	"tandem/agents/tracefmt"
	"tandem/engine"
)

// TraceKeyMap are the trace view's keys.
type TraceKeyMap struct {
	Up, Down, PageUp, PageDown key.Binding
	Top, Bottom                key.Binding
	Thinking                   key.Binding
	Search, Next, Prev         key.Binding
	NextBlock, PrevBlock       key.Binding
	Fold, Copy                 key.Binding
	FoldAll, Problem           key.Binding
}

// DefaultTraceKeyMap is the trace view's default keymap.
var DefaultTraceKeyMap = TraceKeyMap{
	Up:       key.NewBinding(key.WithKeys("up", "k"), key.WithHelp("↑/k", "scroll up")),
	Down:     key.NewBinding(key.WithKeys("down", "j"), key.WithHelp("↓/j", "scroll down")),
	PageUp:   key.NewBinding(key.WithKeys("pgup", "b"), key.WithHelp("pgup/b", "page up")),
	PageDown: key.NewBinding(key.WithKeys("pgdown", "space"), key.WithHelp("pgdn/space", "page down")),
	Top:      key.NewBinding(key.WithKeys("g", "home"), key.WithHelp("g", "top")),
	Bottom:   key.NewBinding(key.WithKeys("G", "end"), key.WithHelp("G", "bottom, follow")),
	Thinking: key.NewBinding(key.WithKeys("t"), key.WithHelp("t", "show/hide thinking")),
	Search:   key.NewBinding(key.WithKeys("/"), key.WithHelp("/", "search")),
	Next:     key.NewBinding(key.WithKeys("n"), key.WithHelp("n/N", "next/previous match")),
	Prev:     key.NewBinding(key.WithKeys("N")),
	// The app keeps r R c a x d C ? q and tab, and its debug keys p s e S F D B, so blocks
	// take keys it leaves free.
	NextBlock: key.NewBinding(key.WithKeys("]"), key.WithHelp("]/[", "next/previous block")),
	PrevBlock: key.NewBinding(key.WithKeys("[")),
	Fold:      key.NewBinding(key.WithKeys("enter", "o"), key.WithHelp("enter/o", "fold/unfold block")),
	Copy:      key.NewBinding(key.WithKeys("y"), key.WithHelp("y", "copy block (or step)")),
	FoldAll:   key.NewBinding(key.WithKeys("O"), key.WithHelp("O", "fold/unfold all")),
	Problem:   key.NewBinding(key.WithKeys("!", "E"), key.WithHelp("!", "next problem")),
}

// ShortHelp implements help.KeyMap.
func (k TraceKeyMap) ShortHelp() []key.Binding {
	return []key.Binding{k.Up, k.Down, k.Bottom, k.NextBlock, k.Fold, k.Copy, k.Thinking, k.Search}
}

// FullHelp implements help.KeyMap.
func (k TraceKeyMap) FullHelp() [][]key.Binding {
	return [][]key.Binding{{k.Up, k.Down, k.PageUp, k.PageDown}, {k.Top, k.Bottom, k.Thinking, k.Search, k.Next},
		{k.NextBlock, k.Fold, k.FoldAll, k.Copy, k.Problem}}
}

// Line kinds, each drawn in its own style.
const (
	lineStdout uint8 = iota
	lineStderr
	lineContent
	lineThinking
	lineBlock
	lineMeta
	lineAnswer  // a row of a rendered answer, drawn from its block's cached rows
	lineProblem // an invalid action, a repeated call, a tool error, a stop
	lineMatch   // not a line kind: the style of search matches
	lineCurrent // not a line kind: the style of the header under the block cursor
)

func streamKind(stream string) uint8 {
	switch stream {
	case "stderr":
		return lineStderr
	case "content":
		return lineContent
	case "thinking":
		return lineThinking
	}
	return lineStdout
}

type traceLine struct {
	text   string // plain text; a header's text is its block's title, drawn when shown
	kind   uint8
	header bool  // the first line of a block
	block  int32 // 1 + the index of the block the line belongs to, 0 for none
}

// traceBuffer is one step's trace as lines. The last line stays open for more text of the
// same kind, so streaming tokens is an append to one string.
type traceBuffer struct {
	lines  []traceLine
	blocks []*traceBlock
	open   bool
	// streams says how far each stream of each attempt has come from the bus and the log,
	// so each part is shown once (trace_streams.go).
	streams map[streamKey]*streamPos
	conv    agents.Conversation // the step's agent requests so far, to show each one whole
	// runStart and runEnd are the last run of streamed content lines, which becomes the
	// answer block when the step ends; -1 when there is none.
	runStart, runEnd int
	// skipped is set by a skip and cleared by a later start (a failed need retried or set by
	// hand), which then says the skip above it no longer holds.
	skipped bool
}

// cleanText makes program output safe to draw: it drops escape sequences and other control
// characters, expands tabs and ends lines with \n only. A lone \r (a progress bar redrawing
// its line) becomes a line break: drawn as is, the terminal would write the rest of the line
// over the panes to its left.
func cleanText(text string) string {
	if strings.IndexByte(text, 0x1b) >= 0 {
		text = ansi.Strip(text)
	}
	if strings.ContainsAny(text, "\t\r") {
		text = strings.ReplaceAll(text, "\t", "    ")
		text = strings.ReplaceAll(text, "\r\n", "\n")
		text = strings.ReplaceAll(text, "\r", "\n")
	}
	if strings.IndexFunc(text, isControl) >= 0 {
		text = strings.Map(func(r rune) rune {
			if isControl(r) {
				return -1
			}
			return r
		}, text)
	}
	return text
}

// isControl reports a control character other than the line break.
func isControl(r rune) bool {
	return r != '\n' && (r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0))
}

// write appends streamed text. Thinking goes into a thinking block, started by its first
// token; content extends the run that becomes the answer.
func (b *traceBuffer) write(kind uint8, text string) {
	text = cleanText(text)
	n := len(b.lines)
	var last traceLine
	if n > 0 {
		last = b.lines[n-1]
	}
	var id int32
	switch kind {
	case lineThinking:
		if n > 0 && last.kind == lineThinking && last.block != 0 {
			id = last.block
		} else {
			b.open = false
			b.blocks = append(b.blocks, &traceBlock{kind: blockThinking, start: n})
			id = int32(len(b.blocks))
			b.lines = append(b.lines, traceLine{kind: lineThinking, header: true, block: id})
		}
		b.blocks[id-1].size += len(text)
	case lineContent:
		if b.runStart < 0 || b.runEnd != n || last.kind != lineContent {
			b.runStart = n
			if b.open && n > 0 && last.kind == lineContent && last.block == 0 {
				b.runStart = n - 1
			}
		}
	}
	for i, part := range strings.Split(text, "\n") {
		if l := len(b.lines); i == 0 && b.open && l > 0 && b.lines[l-1].kind == kind && b.lines[l-1].block == id && !b.lines[l-1].header {
			b.lines[l-1].text += part
			continue
		}
		b.lines = append(b.lines, traceLine{text: part, kind: kind, block: id})
	}
	b.open = !strings.HasSuffix(text, "\n")
	if l := len(b.lines); !b.open && l > 0 && b.lines[l-1].text == "" && !b.lines[l-1].header {
		b.lines = b.lines[:l-1]
	}
	if id != 0 {
		b.blocks[id-1].end = len(b.lines)
	}
	if kind == lineContent {
		b.runEnd = len(b.lines)
	}
}

// line adds a whole line of its own.
func (b *traceBuffer) line(kind uint8, text string) {
	b.open = false
	b.write(kind, text+"\n")
}

// TraceModel shows the live output of one step: stdout and stderr of commands, content and
// thinking of model steps, and trace records as blocks. It follows the end while text streams
// until the user scrolls up. Tool calls, tool results, thinking and the final answer (drawn
// as markdown) are blocks a cursor moves between, to fold or copy.
type TraceModel struct {
	Keys   TraceKeyMap
	theme  Theme
	styles []inline // by line kind
	md     *markdownCache

	runID   string
	stepID  string
	buffers map[string]*traceBuffer
	// deltas counts what the bus delivered per step and stream, since SetRun; watched is
	// set when that was from the run's start (Watch), so the counts are offsets.
	deltas  map[string]map[streamKey]int
	watched bool

	w, h         int
	follow       bool
	top          int // first logical line shown when not following
	hideThinking bool

	searching bool
	query     string // the search of this run's trace, kept from step to step
	match     int    // line of the current match, -1 for none
	problem   int    // line of the problem E last jumped to, -1 for none

	cursor int // the selected block of the shown step, -1 for none
}

// copiedMsg reports text the trace put on the clipboard, for the app's status line.
type copiedMsg struct{ text string }

// NewTrace returns an empty trace view.
func NewTrace(theme Theme) TraceModel {
	m := TraceModel{Keys: DefaultTraceKeyMap, buffers: map[string]*traceBuffer{}, follow: true, match: -1, problem: -1,
		cursor: -1, md: newMarkdownCache()}
	m.SetTheme(theme)
	return m
}

// SetTheme changes the view's styles.
func (m *TraceModel) SetTheme(t Theme) {
	redraw := m.styles != nil && t.Dark != m.theme.Dark
	m.theme = t
	if redraw {
		m.rerender()
	}
	m.styles = make([]inline, lineCurrent+1)
	m.styles[lineStdout] = inlineStyle(t.Text)
	m.styles[lineStderr] = inlineStyle(t.Stderr)
	m.styles[lineContent] = inlineStyle(t.Text)
	m.styles[lineThinking] = inlineStyle(t.Thinking)
	m.styles[lineBlock] = inlineStyle(t.Block)
	m.styles[lineMeta] = inlineStyle(t.Dim)
	m.styles[lineAnswer] = inlineStyle(t.Text)
	m.styles[lineProblem] = inlineStyle(t.Error)
	m.styles[lineMatch] = inlineStyle(t.Match)
	m.styles[lineCurrent] = inlineStyle(t.Selected)
}

// SetSize sets the view's size in cells.
func (m *TraceModel) SetSize(w, h int) {
	w, h = max(w, 1), max(h, 1)
	redraw := w != m.w
	m.w, m.h = w, h
	if redraw {
		m.rerender()
	}
}

// rerender draws every answer again for a new width or background.
func (m *TraceModel) rerender() {
	for id, b := range m.buffers {
		b.rerender(m.md, m.w, m.theme.Dark, func(at, grew int) {
			if id == m.stepID {
				m.moved(at, grew)
			}
		})
	}
}

// moved keeps the shown lines in place when grew lines were added (or removed) at line at.
func (m *TraceModel) moved(at, grew int) {
	if grew == 0 {
		return
	}
	if m.top > at {
		m.top = max(at, m.top+grew)
	}
	if m.match >= at {
		m.match = -1
	}
}

// SetRun forgets every trace and starts collecting run runID's.
func (m *TraceModel) SetRun(runID string) {
	if runID == m.runID {
		return
	}
	m.runID, m.stepID = runID, ""
	m.buffers = map[string]*traceBuffer{}
	m.deltas, m.watched = nil, false
	m.follow, m.top, m.match, m.cursor, m.problem = true, 0, -1, -1, -1
	m.query = "" // a search is per run
}

// Show switches to the trace of step stepID of the current run.
func (m *TraceModel) Show(stepID string) {
	if stepID == m.stepID {
		return
	}
	m.stepID = stepID
	m.follow, m.top, m.match, m.cursor, m.problem = true, 0, -1, -1, -1
}

// Step returns the step whose trace is shown.
func (m TraceModel) Step() string { return m.stepID }

// Capturing reports whether the view is reading a search query, so the app keeps its own
// keys from firing.
func (m TraceModel) Capturing() bool { return m.searching }

func (m *TraceModel) buffer(stepID string) *traceBuffer {
	b, ok := m.buffers[stepID]
	if !ok {
		b = &traceBuffer{runStart: -1, runEnd: -1}
		m.buffers[stepID] = b
	}
	return b
}

// Reset drops the collected trace of every step, before the run's log is replayed.
func (m *TraceModel) Reset() { m.buffers, m.cursor = map[string]*traceBuffer{}, -1 }

// AppendDelta adds live output from the bus.
func (m *TraceModel) AppendDelta(d engine.Delta) {
	if d.RunID != m.runID {
		return
	}
	b := m.buffer(d.StepID)
	if d.Trace != nil {
		if _, ok := m.delta(d.StepID, b, streamKey{d.Attempt, "trace"}, 1); ok {
			m.traceRecord(d.StepID, b, *d.Trace)
		}
		return
	}
	if d.Stream == string(agents.KindAnswer) {
		return // the answer of a fallback reply, shown from the end record
	}
	if from, ok := m.delta(d.StepID, b, streamKey{d.Attempt, d.Stream}, len(d.Text)); ok {
		b.write(streamKind(d.Stream), d.Text[from:])
	}
}

// traceRecord shows one trace record: tool calls and results as blocks, turns and the end
// as short lines, anything else as its JSON.
func (m *TraceModel) traceRecord(stepID string, b *traceBuffer, d engine.TraceData) {
	rec, err := agents.Decode(d.Kind, d.Data)
	if err != nil {
		b.line(lineStderr, "◆ "+err.Error())
		return
	}
	switch r := rec.(type) {
	case agents.ChildRun:
		b.childBlock(r.Tool, r.RunID)
	case agents.ToolCall:
		b.callBlock(r)
	case agents.ToolResult:
		b.resultBlock(r)
	case agents.End:
		if r.Answer != "" {
			m.finishAnswer(stepID, b, r.Answer)
		}
		b.recordLines(tracefmt.Format(r), false)
	case agents.Request:
		// Everything the model saw this turn; it repeats what the trace shows above it, so
		// it starts folded.
		b.recordLines(tracefmt.WholeRequest(r, &b.conv), true)
	default:
		b.recordLines(tracefmt.Format(rec), false)
	}
}

// AppendEvent adds what a logged event says about a step's trace.
func (m *TraceModel) AppendEvent(e engine.Event) {
	if e.RunID != m.runID || e.StepID == "" {
		return
	}
	b := m.buffer(e.StepID)
	switch e.Type {
	case engine.StepStarted:
		var d engine.StepStartedData
		if !decodeInto(b, e, &d) {
			return
		}
		if b.skipped {
			b.line(lineMeta, "── no longer skipped: a step it needs ran again or was set by hand")
			b.skipped = false
		}
		b.line(lineMeta, fmt.Sprintf("── attempt %d ──", e.Attempt))
		// A wait's input is its prompt or event, which the waiting line says; only what runs
		// is drawn as a command.
		if d.Input != "" && d.Kind != "approval" && d.Kind != "wait" && d.Kind != "sleep" {
			b.line(lineMeta, "$ "+clip(d.Input, 2000))
		}
		if d.ChildRunID != "" {
			b.childBlock(e.StepID, d.ChildRunID)
		}
	case engine.StepOutput:
		var d engine.StepOutputData
		if !decodeInto(b, e, &d) {
			return
		}
		if d.Stream == string(agents.KindAnswer) {
			return // the answer of a fallback reply, shown from the end record
		}
		if from, ok := b.chunk(streamKey{e.Attempt, d.Stream}, len(d.Text)); ok {
			b.write(streamKind(d.Stream), d.Text[from:])
		}
	case engine.StepTrace:
		if _, ok := b.chunk(streamKey{e.Attempt, "trace"}, 1); !ok {
			return // shown already, in order with the tokens, from the bus
		}
		var d engine.TraceData
		if !decodeInto(b, e, &d) {
			return
		}
		m.traceRecord(e.StepID, b, d)
	case engine.StepSucceeded, engine.StepFailed, engine.StepInterrupted:
		var d engine.StepResultData
		if !decodeInto(b, e, &d) {
			return
		}
		// The log drops a finished step's unflushed chunks: the result holds the output (a
		// model step's output is its content).
		shown := b.shownOf(streamKey{e.Attempt, "stdout"}) + b.shownOf(streamKey{e.Attempt, "content"})
		if d.Output != "" && shown < len(d.Output) {
			b.write(lineStdout, d.Output[shown:]+"\n")
			b.pos(streamKey{e.Attempt, "stdout"}).shown += len(d.Output) - shown
		}
		if d.StderrTail != "" && b.shownOf(streamKey{e.Attempt, "stderr"}) == 0 {
			b.write(lineStderr, d.StderrTail+"\n")
			b.pos(streamKey{e.Attempt, "stderr"}).shown = len(d.StderrTail)
		}
		// An llm step's reply is its answer; JSON a schema asked for stays as it came.
		if run, ok := b.contentRun(); ok && e.Type == engine.StepSucceeded && !looksLikeJSON(run) {
			m.finishAnswer(e.StepID, b, strings.TrimSpace(run))
		}
		msg := fmt.Sprintf("── %s in %s", strings.TrimPrefix(string(e.Type), "step_"), formatDuration(msDuration(d.DurationMS)))
		if d.Error != "" {
			msg += ": " + d.Error
		}
		b.line(lineMeta, msg)
	case engine.StepSkipped:
		var d engine.StepSkippedData
		if !decodeInto(b, e, &d) {
			return
		}
		b.line(lineMeta, "── skipped: "+d.Reason)
		b.skipped = true
	case engine.StepWaiting:
		var d engine.StepWaitingData
		if !decodeInto(b, e, &d) {
			return
		}
		b.line(lineMeta, "── "+waitLine(d))
	}
}

// waitLine says what a parked step waits for: a person's answer to its prompt, an event, a
// timer, and until when.
func waitLine(d engine.StepWaitingData) string {
	var s string
	switch {
	case d.Kind == "approval":
		s = fmt.Sprintf("waiting for approval: %q", d.Prompt)
	case d.Kind == "sleep":
		return "sleeping until " + d.Until.Local().Format(time.DateTime)
	default:
		s = "waiting for event " + strings.Join(d.Events, " or ")
	}
	if !d.Until.IsZero() {
		s += " (times out " + d.Until.Local().Format(time.DateTime) + ")"
	}
	return s
}

// decodeInto decodes e's payload into v. An event it cannot read is a problem line in the
// trace, not a gap nobody sees.
func decodeInto(b *traceBuffer, e engine.Event, v any) bool {
	if err := e.Decode(v); err != nil {
		b.line(lineProblem, fmt.Sprintf("◆ event %d (%s) cannot be read: %v", e.Seq, e.Type, err))
		return false
	}
	return true
}

// Len returns the number of lines in the shown step's trace.
func (m TraceModel) Len() int {
	if b := m.buffers[m.stepID]; b != nil {
		return len(b.lines)
	}
	return 0
}

func msDuration(ms int64) time.Duration { return time.Duration(ms) * time.Millisecond }

// clip cuts s to at most n bytes, between characters, marking the cut with "…".
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// Init implements tea.Model's first half; the trace needs no start-up command.
func (m TraceModel) Init() tea.Cmd { return nil }

// Update scrolls, toggles thinking and searches.
func (m TraceModel) Update(msg tea.Msg) (TraceModel, tea.Cmd) {
	k, ok := msg.(tea.KeyPressMsg)
	if !ok {
		return m, nil
	}
	if m.searching {
		switch k.String() {
		case "enter":
			m.searching = false
			m.findFrom(m.firstVisible(), 1, true)
		case "esc":
			m.searching, m.query = false, ""
		case "backspace":
			if r := []rune(m.query); len(r) > 0 {
				m.query = string(r[:len(r)-1])
			}
		default:
			if k.Text != "" {
				m.query += k.Text
			}
		}
		return m, nil
	}
	switch {
	case key.Matches(k, m.Keys.Up):
		m.scrollTo(m.firstVisible() - 1)
	case key.Matches(k, m.Keys.Down):
		m.scrollTo(m.firstVisible() + 1)
	case key.Matches(k, m.Keys.PageUp):
		m.scrollTo(m.firstVisible() - m.bodyH())
	case key.Matches(k, m.Keys.PageDown):
		m.scrollTo(m.firstVisible() + m.bodyH())
	case key.Matches(k, m.Keys.Top):
		m.scrollTo(0)
	case key.Matches(k, m.Keys.Bottom):
		m.follow = true
	case key.Matches(k, m.Keys.Thinking):
		m.hideThinking = !m.hideThinking
		if b := m.buffers[m.stepID]; m.hideThinking && b != nil && m.cursor >= 0 && b.blocks[m.cursor].kind == blockThinking {
			m.cursor = -1
		}
	case key.Matches(k, m.Keys.Search):
		m.searching, m.query = true, ""
	case key.Matches(k, m.Keys.Next):
		m.findFrom(m.match+1, 1, false)
	case key.Matches(k, m.Keys.Prev):
		m.findFrom(m.match-1, -1, false)
	case key.Matches(k, m.Keys.NextBlock):
		m.moveCursor(1)
	case key.Matches(k, m.Keys.PrevBlock):
		m.moveCursor(-1)
	case key.Matches(k, m.Keys.Fold):
		if cmd := m.openChild(); cmd != nil {
			return m, cmd
		}
		m.fold()
	case key.Matches(k, m.Keys.FoldAll):
		m.foldAll()
	case key.Matches(k, m.Keys.Problem):
		m.nextProblem()
	case key.Matches(k, m.Keys.Copy):
		return m, m.copyCmd()
	case k.String() == "esc":
		m.query, m.match, m.cursor = "", -1, -1
	}
	return m, nil
}

func (m TraceModel) lines() []traceLine {
	if b := m.buffers[m.stepID]; b != nil {
		return b.lines
	}
	return nil
}

func (m TraceModel) bodyH() int { return max(m.h-1, 1) }

// hidden reports whether line l of buffer b is left out: hidden thinking, or the body of a
// folded block.
func (m TraceModel) hidden(b *traceBuffer, l traceLine) bool {
	if m.hideThinking && l.kind == lineThinking {
		return true
	}
	return l.block != 0 && !l.header && b.blocks[l.block-1].collapsed
}

// scrollTo shows line i at the top, and follows again once the end is in view.
func (m *TraceModel) scrollTo(i int) {
	lines := m.lines()
	m.top = max(0, min(i, len(lines)-1))
	m.follow = false
	if m.top >= m.bottomStart() {
		m.follow = true
	}
}

// bottomStart is the first line shown when following: the end of the trace fills the view.
func (m TraceModel) bottomStart() int {
	b := m.buffers[m.stepID]
	if b == nil {
		return 0
	}
	rows, start := 0, -1 // start: the earliest line counted that fits whole
	for i := len(b.lines) - 1; i >= 0; i-- {
		l := b.lines[i]
		if m.hidden(b, l) {
			if l.block != 0 && !l.header && b.blocks[l.block-1].collapsed {
				i = b.blocks[l.block-1].start + 1 // skip the folded body at once
			}
			continue
		}
		rows += wrappedRows(lineText(b, l), m.w)
		if rows > m.bodyH() && start >= 0 {
			// This line's wrapped rows would push the end out of view: start below it.
			return start
		}
		start = i
		if rows >= m.bodyH() {
			return i
		}
	}
	return 0
}

func (m TraceModel) firstVisible() int {
	if m.follow {
		return m.bottomStart()
	}
	return m.top
}

// lastVisible is the last line (partly) in view.
func (m TraceModel) lastVisible() int {
	b := m.buffers[m.stepID]
	if b == nil {
		return -1
	}
	rows, last := 0, -1
	for i := m.firstVisible(); i < len(b.lines) && rows < m.bodyH(); i++ {
		l := b.lines[i]
		if m.hidden(b, l) {
			continue
		}
		rows += wrappedRows(lineText(b, l), m.w)
		last = i
	}
	return last
}

// findFrom moves to the next line containing the query from line i in direction dir. A
// match in a folded block unfolds it.
func (m *TraceModel) findFrom(i, dir int, wrapToEnd bool) {
	b := m.buffers[m.stepID]
	if m.query == "" || b == nil || len(b.lines) == 0 {
		return
	}
	lines := b.lines
	q := strings.ToLower(m.query)
	if m.follow && wrapToEnd {
		i, dir = len(lines)-1, -1
	}
	for n := 0; n < len(lines); n++ {
		j := ((i+dir*n)%len(lines) + len(lines)) % len(lines)
		l := lines[j]
		if m.hideThinking && l.kind == lineThinking {
			continue
		}
		if strings.Contains(strings.ToLower(lineText(b, l)), q) {
			if l.block != 0 && !l.header {
				b.blocks[l.block-1].collapsed = false
			}
			m.match = j
			m.scrollTo(j - m.bodyH()/2)
			if m.follow && j < m.bottomStart() {
				m.follow = false
			}
			return
		}
	}
	m.match = -1
}

// View renders the header and the visible lines only, so its cost does not grow with the
// trace's length. Answers are drawn from their block's cached markdown rows.
func (m TraceModel) View() string {
	var sb strings.Builder
	sb.WriteString(m.header())
	body := m.bodyH()
	rows := 0
	row := func(s string, width int) {
		sb.WriteByte('\n')
		sb.WriteString(s)
		sb.WriteString(strings.Repeat(" ", max(0, m.w-width)))
		rows++
	}
	b := m.buffers[m.stepID]
	if b == nil || len(b.lines) == 0 {
		row(m.styles[lineMeta].render("no output yet"), len("no output yet"))
	} else {
		for i := m.firstVisible(); i < len(b.lines) && rows < body; i++ {
			l := b.lines[i]
			if m.hidden(b, l) {
				if l.block != 0 && !l.header && b.blocks[l.block-1].collapsed {
					i = b.blocks[l.block-1].end - 1
				}
				continue
			}
			if l.kind == lineAnswer && (m.query == "" || !strings.Contains(strings.ToLower(l.text), strings.ToLower(m.query))) {
				if blk := b.blocks[l.block-1]; blk.width == m.w {
					row(blk.rendered[i-blk.start-1], m.w)
					continue
				}
			}
			text := lineText(b, l)
			kind := l.kind
			if l.header && int(l.block)-1 == m.cursor {
				kind = lineCurrent
			}
			parts := wrapHanging(text, m.w)
			for _, p := range parts {
				if rows == body {
					break
				}
				if kind == lineCurrent {
					// The cursor's highlight spans the pane.
					row(m.styles[kind].render(p+strings.Repeat(" ", max(0, m.w-textWidth(p)))), m.w)
					continue
				}
				row(m.highlight(p, m.styles[kind], i == m.match), textWidth(p))
			}
		}
	}
	for ; rows < body; rows++ {
		sb.WriteByte('\n')
		sb.WriteString(strings.Repeat(" ", m.w))
	}
	return sb.String()
}

func (m TraceModel) header() string {
	parts := []string{m.stepID}
	if m.stepID == "" {
		parts[0] = "no step selected"
	}
	if m.follow {
		parts = append(parts, "following")
	} else {
		parts = append(parts, fmt.Sprintf("line %d/%d", m.top+1, m.Len()))
	}
	if m.hideThinking {
		parts = append(parts, "thinking hidden")
	}
	if m.searching {
		parts = append(parts, "/"+m.query+"▏")
	} else if m.query != "" {
		switch n, at := m.countMatches(m.match); {
		case n > 0 && at > 0:
			parts = append(parts, fmt.Sprintf("/%s %d/%d", m.query, at, n))
		case n > 0: // matches, none of them the current one (another step's, a fold's)
			parts = append(parts, fmt.Sprintf("/%s %d matches · n next", m.query, n))
		default:
			parts = append(parts, "/"+m.query+" (no match)")
		}
	}
	h := fitText(strings.Join(parts, " · "), m.w)
	return m.theme.Title.Render(h) + strings.Repeat(" ", max(0, m.w-ansi.StringWidth(h)))
}

// textWidth is the cell width of plain text, with a fast path for ASCII, which most output is.
func textWidth(s string) int {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 || s[i] < 0x20 {
			return ansi.StringWidth(s)
		}
	}
	return len(s)
}
