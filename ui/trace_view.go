package ui

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"tandem/engine"
)

// TraceKeyMap are the trace view's keys.
type TraceKeyMap struct {
	Up, Down, PageUp, PageDown key.Binding
	Top, Bottom                key.Binding
	Thinking                   key.Binding
	Search, Next, Prev         key.Binding
}

// DefaultTraceKeyMap is the trace view's default keymap.
var DefaultTraceKeyMap = TraceKeyMap{
	Up:       key.NewBinding(key.WithKeys("up", "k"), key.WithHelp("↑/k", "scroll up")),
	Down:     key.NewBinding(key.WithKeys("down", "j"), key.WithHelp("↓/j", "scroll down")),
	PageUp:   key.NewBinding(key.WithKeys("pgup", "b"), key.WithHelp("pgup/b", "page up")),
	PageDown: key.NewBinding(key.WithKeys("pgdown", "f", "space"), key.WithHelp("pgdn/f", "page down")),
	Top:      key.NewBinding(key.WithKeys("g", "home"), key.WithHelp("g", "top")),
	Bottom:   key.NewBinding(key.WithKeys("G", "end"), key.WithHelp("G", "bottom, follow")),
	Thinking: key.NewBinding(key.WithKeys("t"), key.WithHelp("t", "show/hide thinking")),
	Search:   key.NewBinding(key.WithKeys("/"), key.WithHelp("/", "search")),
	Next:     key.NewBinding(key.WithKeys("n"), key.WithHelp("n/N", "next/previous match")),
	Prev:     key.NewBinding(key.WithKeys("N")),
}

// ShortHelp implements help.KeyMap.
func (k TraceKeyMap) ShortHelp() []key.Binding {
	return []key.Binding{k.Up, k.Down, k.Bottom, k.Thinking, k.Search}
}

// FullHelp implements help.KeyMap.
func (k TraceKeyMap) FullHelp() [][]key.Binding {
	return [][]key.Binding{{k.Up, k.Down, k.PageUp, k.PageDown}, {k.Top, k.Bottom, k.Thinking, k.Search, k.Next}}
}

// Line kinds, each drawn in its own style.
const (
	lineStdout uint8 = iota
	lineStderr
	lineContent
	lineThinking
	lineBlock
	lineMeta
	lineMatch // not a line kind: the style of search matches
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
	text string
	kind uint8
}

// traceBuffer is one step's trace as lines. The last line stays open for more text of the
// same kind, so streaming tokens is an append to one string.
type traceBuffer struct {
	lines []traceLine
	open  bool
	live  bool            // deltas arrived through the bus; the log's copies are skipped
	seen  map[int]seenOut // per attempt: how much output was shown, to fill in the rest at the end
}

type seenOut struct{ stdout, stderr int }

func (b *traceBuffer) write(kind uint8, text string) {
	if strings.IndexByte(text, 0x1b) >= 0 {
		text = ansi.Strip(text)
	}
	if strings.ContainsAny(text, "\t\r") {
		text = strings.ReplaceAll(text, "\t", "    ")
		text = strings.ReplaceAll(text, "\r\n", "\n")
	}
	for i, part := range strings.Split(text, "\n") {
		if i == 0 && b.open && len(b.lines) > 0 && b.lines[len(b.lines)-1].kind == kind {
			b.lines[len(b.lines)-1].text += part
			continue
		}
		b.lines = append(b.lines, traceLine{text: part, kind: kind})
	}
	b.open = !strings.HasSuffix(text, "\n")
	if !b.open && len(b.lines) > 0 && b.lines[len(b.lines)-1].text == "" {
		b.lines = b.lines[:len(b.lines)-1]
	}
}

// line adds a whole line of its own.
func (b *traceBuffer) line(kind uint8, text string) {
	b.open = false
	b.write(kind, text+"\n")
}

// TraceModel shows the live output of one step: stdout and stderr of commands, content and
// thinking of model steps, and trace records as blocks. It follows the end while text streams
// until the user scrolls up.
type TraceModel struct {
	Keys   TraceKeyMap
	theme  Theme
	styles []inline // by line kind

	runID   string
	stepID  string
	buffers map[string]*traceBuffer

	w, h         int
	follow       bool
	top          int // first logical line shown when not following
	hideThinking bool

	searching bool
	query     string
	match     int // line of the current match, -1 for none
}

// NewTrace returns an empty trace view.
func NewTrace(theme Theme) TraceModel {
	m := TraceModel{Keys: DefaultTraceKeyMap, buffers: map[string]*traceBuffer{}, follow: true, match: -1}
	m.SetTheme(theme)
	return m
}

// SetTheme changes the view's styles.
func (m *TraceModel) SetTheme(t Theme) {
	m.theme = t
	m.styles = make([]inline, lineMatch+1)
	m.styles[lineStdout] = inlineStyle(t.Text)
	m.styles[lineStderr] = inlineStyle(t.Stderr)
	m.styles[lineContent] = inlineStyle(t.Text)
	m.styles[lineThinking] = inlineStyle(t.Thinking)
	m.styles[lineBlock] = inlineStyle(t.Block)
	m.styles[lineMeta] = inlineStyle(t.Dim)
	m.styles[lineMatch] = inlineStyle(t.Match)
}

// SetSize sets the view's size in cells.
func (m *TraceModel) SetSize(w, h int) { m.w, m.h = max(w, 1), max(h, 1) }

// SetRun forgets every trace and starts collecting run runID's.
func (m *TraceModel) SetRun(runID string) {
	if runID == m.runID {
		return
	}
	m.runID, m.stepID = runID, ""
	m.buffers = map[string]*traceBuffer{}
	m.follow, m.top, m.match = true, 0, -1
}

// Show switches to the trace of step stepID of the current run.
func (m *TraceModel) Show(stepID string) {
	if stepID == m.stepID {
		return
	}
	m.stepID = stepID
	m.follow, m.top, m.match = true, 0, -1
}

// Step returns the step whose trace is shown.
func (m TraceModel) Step() string { return m.stepID }

// Capturing reports whether the view is reading a search query, so the app keeps its own
// keys from firing.
func (m TraceModel) Capturing() bool { return m.searching }

func (m *TraceModel) buffer(stepID string) *traceBuffer {
	b, ok := m.buffers[stepID]
	if !ok {
		b = &traceBuffer{seen: map[int]seenOut{}}
		m.buffers[stepID] = b
	}
	return b
}

// Reset drops the collected trace of every step, before the run's log is replayed.
func (m *TraceModel) Reset() { m.buffers = map[string]*traceBuffer{} }

// AppendDelta adds live output from the bus.
func (m *TraceModel) AppendDelta(d engine.Delta) {
	if d.RunID != m.runID {
		return
	}
	b := m.buffer(d.StepID)
	b.live = true
	m.count(b, 0, d.Stream, len(d.Text))
	b.write(streamKind(d.Stream), d.Text)
}

func (m *TraceModel) count(b *traceBuffer, attempt int, stream string, n int) {
	s := b.seen[attempt]
	switch stream {
	case "stdout", "content": // a model step's output is its content
		s.stdout += n
	case "stderr":
		s.stderr += n
	}
	b.seen[attempt] = s
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
		_ = e.Decode(&d)
		// Live deltas carry no attempt number; they count under 0 until the attempt is known.
		b.seen[e.Attempt] = b.seen[0]
		delete(b.seen, 0)
		b.line(lineMeta, fmt.Sprintf("── attempt %d ──", e.Attempt))
		if d.Input != "" {
			b.line(lineMeta, "$ "+clip(d.Input, 2000))
		}
	case engine.StepOutput:
		if b.live {
			return
		}
		var d engine.StepOutputData
		_ = e.Decode(&d)
		m.count(b, e.Attempt, d.Stream, len(d.Text))
		b.write(streamKind(d.Stream), d.Text)
	case engine.StepTrace:
		var d engine.TraceData
		_ = e.Decode(&d)
		data, _ := json.Marshal(d.Data)
		b.line(lineBlock, "◆ "+d.Kind+" "+clip(string(data), 4000))
	case engine.StepSucceeded, engine.StepFailed, engine.StepInterrupted:
		var d engine.StepResultData
		_ = e.Decode(&d)
		seen := b.seen[e.Attempt]
		seen.stdout += b.seen[0].stdout
		seen.stderr += b.seen[0].stderr
		delete(b.seen, 0)
		// The log drops a finished step's unflushed chunks: the result holds the output.
		if d.Output != "" && seen.stdout < len(d.Output) {
			b.write(lineStdout, d.Output[seen.stdout:]+"\n")
		}
		if d.StderrTail != "" && seen.stderr == 0 {
			b.write(lineStderr, d.StderrTail+"\n")
		}
		b.seen[e.Attempt] = seenOut{}
		msg := fmt.Sprintf("── %s in %s", strings.TrimPrefix(string(e.Type), "step_"), formatDuration(msDuration(d.DurationMS)))
		if d.Error != "" {
			msg += ": " + d.Error
		}
		b.line(lineMeta, msg)
	case engine.StepSkipped:
		var d engine.StepSkippedData
		_ = e.Decode(&d)
		b.line(lineMeta, "── skipped: "+d.Reason)
	case engine.StepWaiting:
		var d engine.StepWaitingData
		_ = e.Decode(&d)
		b.line(lineMeta, "── waiting ("+d.Kind+") "+d.Prompt+strings.Join(d.Events, ", "))
	}
}

// Len returns the number of lines in the shown step's trace.
func (m TraceModel) Len() int {
	if b := m.buffers[m.stepID]; b != nil {
		return len(b.lines)
	}
	return 0
}

func msDuration(ms int64) time.Duration { return time.Duration(ms) * time.Millisecond }

func clip(s string, n int) string {
	if len(s) <= n {
		return s
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
	case key.Matches(k, m.Keys.Search):
		m.searching, m.query = true, ""
	case key.Matches(k, m.Keys.Next):
		m.findFrom(m.match+1, 1, false)
	case key.Matches(k, m.Keys.Prev):
		m.findFrom(m.match-1, -1, false)
	case k.String() == "esc":
		m.query, m.match = "", -1
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

func (m TraceModel) hidden(l traceLine) bool {
	return m.hideThinking && l.kind == lineThinking
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
	lines := m.lines()
	rows := 0
	i := len(lines) - 1
	for ; i >= 0; i-- {
		if m.hidden(lines[i]) {
			continue
		}
		rows += wrappedRows(lines[i].text, m.w)
		if rows >= m.bodyH() {
			break
		}
	}
	return max(i, 0)
}

func (m TraceModel) firstVisible() int {
	if m.follow {
		return m.bottomStart()
	}
	return m.top
}

func wrappedRows(s string, w int) int {
	n := textWidth(s)
	if n <= w {
		return 1
	}
	return (n + w - 1) / w
}

// findFrom moves to the next line containing the query from line i in direction dir.
func (m *TraceModel) findFrom(i, dir int, wrapToEnd bool) {
	lines := m.lines()
	if m.query == "" || len(lines) == 0 {
		return
	}
	q := strings.ToLower(m.query)
	if m.follow && wrapToEnd {
		i, dir = len(lines)-1, -1
	}
	for n := 0; n < len(lines); n++ {
		j := ((i+dir*n)%len(lines) + len(lines)) % len(lines)
		if !m.hidden(lines[j]) && strings.Contains(strings.ToLower(lines[j].text), q) {
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
// trace's length.
func (m TraceModel) View() string {
	var b strings.Builder
	b.WriteString(m.header())
	lines := m.lines()
	body := m.bodyH()
	var rows []string
	var kinds []uint8
	var marks []bool
	for i := m.firstVisible(); i < len(lines) && len(rows) < body; i++ {
		l := lines[i]
		if m.hidden(l) {
			continue
		}
		parts := []string{l.text}
		if textWidth(l.text) > m.w {
			parts = strings.Split(ansi.Hardwrap(l.text, m.w, true), "\n")
		}
		for _, p := range parts {
			if len(rows) == body {
				break
			}
			rows = append(rows, p)
			kinds = append(kinds, l.kind)
			marks = append(marks, i == m.match)
		}
	}
	if len(lines) == 0 {
		rows = append(rows, "no output yet")
		kinds = append(kinds, lineMeta)
		marks = append(marks, false)
	}
	for i, r := range rows {
		b.WriteByte('\n')
		pad := strings.Repeat(" ", max(0, m.w-textWidth(r)))
		b.WriteString(m.styleLine(r, kinds[i], marks[i]) + pad)
	}
	for i := len(rows); i < body; i++ {
		b.WriteByte('\n')
		b.WriteString(strings.Repeat(" ", m.w))
	}
	return b.String()
}

func (m TraceModel) styleLine(s string, kind uint8, match bool) string {
	st := m.styles[kind]
	if match && m.query != "" {
		if i := strings.Index(strings.ToLower(s), strings.ToLower(m.query)); i >= 0 && i+len(m.query) <= len(s) {
			j := i + len(m.query)
			return st.render(s[:i]) + m.styles[lineMatch].render(s[i:j]) + st.render(s[j:])
		}
	}
	return st.render(s)
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
		if m.match >= 0 {
			parts = append(parts, fmt.Sprintf("/%s (line %d)", m.query, m.match+1))
		} else {
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
