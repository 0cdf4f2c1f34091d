package ui

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"tandem/agents"
	"tandem/agents/model"
	"tandem/agents/tracefmt"
	"tandem/engine"
)

// A chat's transcript: turns of a prompt and its reply, folded from the engine's notices
// and its log, and laid out for the chat's viewport.

// Parts of a chat turn, each drawn in its own style.
const (
	partContent uint8 = iota
	partThinking
	partToolCall
	partToolResult
	partToolError
	partNote
)

type chatPart struct {
	kind uint8
	text string
	// full is a tool result as the model got it (the trace keeps its first 4,000 characters;
	// size says how long it was), for enter to open; a call's key is its name and arguments.
	full string
	size int
	key  string
}

// chatTurn is a prompt and the reply to it: the parts the log has committed, in order, and the
// live text that has streamed since.
type chatTurn struct {
	prompt   string
	runID    string
	parts    []chatPart
	seq      int64  // the last log event applied
	thinking string // live, not yet in the log
	content  string
	done     bool
	status   string // how a reply that did not answer ended
	failed   bool
	rendered []string // cached lines of a finished turn
	renderW  int

	// What the waiting indicator reads while the reply is on its way.
	sentAt time.Time // the prompt was sent
	genAt  time.Time // its first token arrived; zero while the model loads and reads
	tokens int       // tokens (streamed chunks) of the current model call
	tool   string    // the tool running, between model calls
	// Whether the model was loaded when the prompt was sent (the server's list of loaded
	// models: loadUnknown when it cannot say), and when it was seen loaded.
	load     uint8
	loadedAt time.Time
	calls    int // model calls of this reply that finished
	lastCtx  int // prompt and output tokens of the last of them
	results  int // characters of tool results since it
	// What Ollama reported, for the line under a finished reply.
	loadMS, promptMS int64
	promptTokens     int

	// In a fallback turn the reply is a JSON action: the chat shows the answer the runner
	// decodes from it (the answer stream), not the JSON. One flag for the log, one live.
	fallback, liveFallback bool
}

func (t *chatTurn) add(kind uint8, text string) {
	if text == "" {
		return
	}
	if n := len(t.parts); n > 0 && t.parts[n-1].kind == kind && (kind == partContent || kind == partThinking) {
		t.parts[n-1].text += text
		return
	}
	t.parts = append(t.parts, chatPart{kind: kind, text: text})
}

// callsOf counts the turn's calls with key (tool name and arguments).
func (t *chatTurn) callsOf(key string) int {
	n := 0
	for _, p := range t.parts {
		if p.kind == partToolCall && p.key == key {
			n++
		}
	}
	return n
}

func (m *ChatModel) lastTurn() *chatTurn {
	if len(m.turns) == 0 {
		return nil
	}
	return m.turns[len(m.turns)-1]
}

// turnOf returns the turn whose reply is run runID.
func (m *ChatModel) turnOf(runID string) *chatTurn {
	if t := m.lastTurn(); t != nil && runID != "" && t.runID == runID && !t.done {
		return t
	}
	return nil
}

// AppendNotices adds what the engine's bus says about the reply that is streaming: live
// thinking and content, and the log's records of them, tool calls and results in order.
func (m *ChatModel) AppendNotices(ns []engine.Notice) {
	t := m.turnOf(m.runID)
	if t == nil {
		return
	}
	changed := false
	for _, n := range ns {
		if d := n.Delta; d != nil && d.RunID == m.runID {
			if d.Trace != nil {
				if rec, err := agents.Decode(d.Trace.Kind, d.Trace.Data); err == nil {
					if turn, ok := rec.(agents.Turn); ok {
						t.liveFallback = turn.Mode == "fallback"
					}
				}
				continue
			}
			switch agents.Kind(d.Stream) {
			case agents.KindThinking:
				t.thinking += d.Text
			case agents.KindContent:
				if !t.liveFallback {
					t.content += d.Text
				}
			case agents.KindAnswer:
				t.content += d.Text
				continue // its tokens were counted as content
			}
			if t.genAt.IsZero() {
				t.genAt = m.now
			}
			t.tokens++ // Ollama streams about a token a chunk
			t.tool = ""
			changed = true
		}
		if e := n.Event; e != nil && e.RunID == m.runID && e.Seq > t.seq {
			t.seq = e.Seq
			changed = m.applyEvent(t, *e) || changed
		}
	}
	if changed {
		m.renderFollowing()
	}
}

// applyEvent folds one of the reply run's events into its turn. The log's copy of streamed
// text replaces the live copy, so tool calls (logged in order with the text) land where they
// happened.
func (m *ChatModel) applyEvent(t *chatTurn, e engine.Event) bool {
	switch e.Type {
	case engine.StepOutput:
		var d engine.StepOutputData
		if err := e.Decode(&d); err != nil {
			t.add(partNote, fmt.Sprintf("! event %d (%s) cannot be read: %v", e.Seq, e.Type, err))
			return true
		}
		switch agents.Kind(d.Stream) {
		case agents.KindThinking:
			t.thinking = strings.TrimPrefix(t.thinking, d.Text)
			t.add(partThinking, d.Text)
		case agents.KindContent:
			if t.fallback {
				return false
			}
			t.content = strings.TrimPrefix(t.content, d.Text)
			t.add(partContent, d.Text)
		case agents.KindAnswer:
			t.content = strings.TrimPrefix(t.content, d.Text)
			t.add(partContent, d.Text)
		}
	case engine.StepTrace:
		var d engine.TraceData
		if err := e.Decode(&d); err != nil {
			t.add(partNote, fmt.Sprintf("! event %d (%s) cannot be read: %v", e.Seq, e.Type, err))
			return true
		}
		rec, err := agents.Decode(d.Kind, d.Data)
		if err != nil {
			t.add(partNote, "! "+err.Error())
			return true
		}
		switch r := rec.(type) {
		case agents.Turn:
			t.genAt, t.tokens, t.tool = time.Time{}, 0, ""
			t.fallback = r.Mode == "fallback"
			return false
		case agents.Usage:
			t.calls++
			t.lastCtx, t.results = r.PromptTokens+r.OutputTokens, 0
			t.loadMS += r.LoadMS
			t.promptMS += r.PromptMS
			t.promptTokens += r.PromptTokens
			if text := brief(r); text != "" { // the reply was cut at the token limit
				t.add(partNote, text)
				return true
			}
			return false
		case agents.ToolCall:
			t.tool = r.Name
			args, _ := json.Marshal(r.Arguments)
			t.parts = append(t.parts, chatPart{kind: partToolCall, text: brief(r), key: r.Name + " " + string(args)})
		case agents.ToolResult:
			kind := partToolResult
			if r.Error {
				kind = partToolError
			}
			t.parts = append(t.parts, chatPart{kind: kind, text: brief(r), full: r.Result, size: r.Size})
			t.results += len(r.Result)
		case agents.InvalidAction, agents.InvalidAnswer, agents.Repair, agents.RepeatedCall:
			text := brief(r)
			if text == "" {
				return false
			}
			t.add(partNote, text)
		case agents.End:
			// An answer that is not text (an object a schema asks for) has no answer stream.
			if r.EndReason == agents.EndAnswer && r.Answer != "" && !t.showsAnswer(r.Answer) {
				t.add(partContent, prettyJSON(r.Answer))
			}
			// An error ends the run too, which says so; budgets and loops only show here.
			t.add(partNote, brief(r))
		default:
			return false
		}
	case engine.StepFailed, engine.StepInterrupted:
		var d engine.StepResultData
		_ = e.Decode(&d)
		if d.Error != "" && !d.Final && e.Type == engine.StepFailed {
			t.add(partNote, "↻ attempt failed, retrying: "+d.Error)
		}
	case engine.RunSucceeded, engine.RunFailed, engine.RunCancelled, engine.RunInterrupted:
		var d engine.RunResultData
		_ = e.Decode(&d)
		status := map[engine.EventType]string{engine.RunFailed: "failed", engine.RunCancelled: "cancelled",
			engine.RunInterrupted: "stopped"}[e.Type]
		if status != "" && d.Error != "" && e.Type != engine.RunInterrupted {
			status += ": " + d.Error
		}
		m.finishTurn(t, status, e.Type == engine.RunFailed)
		if t.lastCtx > 0 {
			m.lastCtx = t.lastCtx
		}
		m.asking, m.stopping = false, false
		m.setNote("", false)
	default:
		return false
	}
	return true
}

// finishRun shows the reply as its run's log recorded it, once its execution has returned:
// complete and in order whatever the bus delivered before. A run this process did not
// finish (another one holds it) goes on streaming from the bus.
func (m *ChatModel) finishRun(events []engine.Event, err error) {
	t := m.turnOf(m.runID)
	if t == nil {
		return
	}
	if len(events) > 0 {
		t.parts, t.thinking, t.content, t.seq, t.fallback = nil, "", "", 0, false
		for _, e := range events {
			t.seq = max(t.seq, e.Seq)
			m.applyEvent(t, e)
		}
	}
	if !t.done && err != nil {
		m.finishTurn(t, "failed: "+err.Error(), true)
		m.asking, m.stopping = false, false
	}
	m.renderFollowing()
}

func (m *ChatModel) finishTurn(t *chatTurn, status string, failed bool) {
	if t == nil || t.done {
		return
	}
	// What streamed but never reached the log stays, so a stopped reply shows what it said.
	t.add(partThinking, t.thinking)
	t.add(partContent, t.content)
	t.thinking, t.content = "", ""
	t.done, t.status, t.failed = true, status, failed
}

// renderFollowing re-renders and keeps the end in view if it was.
func (m *ChatModel) renderFollowing() {
	follow := m.vp.AtBottom() || m.vp.TotalLineCount() <= m.vp.Height()
	m.render()
	if follow {
		m.vp.GotoBottom()
	}
}

// render lays the transcript out for the viewport; finished turns are cached.
func (m *ChatModel) render() {
	if m.w == 0 {
		return
	}
	var lines []string
	if len(m.turns) == 0 {
		lines = append(lines, m.theme.Dim.Render(fitText("say something to "+m.agent.Name+"; enter sends", m.w)))
	}
	m.selectedLine = -1
	for i, t := range m.turns {
		if i > 0 {
			lines = append(lines, "")
		}
		if t.done && t.renderW == m.w && t.rendered != nil && i != m.selTurn {
			lines = append(lines, t.rendered...)
			continue
		}
		sel := -1
		if i == m.selTurn {
			sel = m.selPart
		}
		tl, at := m.renderTurn(t, sel)
		if at >= 0 {
			m.selectedLine = len(lines) + at
		}
		if t.done {
			t.rendered, t.renderW = tl, m.w
		}
		lines = append(lines, tl...)
	}
	m.vp.SetContentLines(lines)
}

// renderTurn lays out one turn; part sel (-1: none) is drawn selected, and at is the line
// it starts on (-1 when none is).
func (m *ChatModel) renderTurn(t *chatTurn, sel int) (lines []string, at int) {
	at = -1
	add := func(style lipgloss.Style, prefix, s string) {
		w := max(m.w-ansi.StringWidth(prefix), 1)
		for i, l := range strings.Split(ansi.Hardwrap(ansi.Wordwrap(cleanText(s), w, ""), w, true), "\n") {
			p := prefix
			if i > 0 {
				p = strings.Repeat(" ", ansi.StringWidth(prefix))
			}
			lines = append(lines, style.Render(p+l))
		}
	}
	for i, l := range strings.Split(t.prompt, "\n") {
		prefix := "› "
		if i > 0 {
			prefix = "  "
		}
		add(m.theme.Accent.Bold(true), prefix, l)
	}
	parts := append([]chatPart(nil), t.parts...)
	if t.thinking != "" {
		parts = append(parts, chatPart{kind: partThinking, text: t.thinking})
	}
	if t.content != "" {
		if n := len(parts); n > 0 && parts[n-1].kind == partContent {
			parts[n-1].text += t.content
		} else {
			parts = append(parts, chatPart{kind: partContent, text: t.content})
		}
	}
	for i, p := range parts {
		text := strings.Trim(p.text, "\n")
		if i == sel && isResult(p) {
			at = len(lines)
			add(m.theme.Selected, "› ", text)
			continue
		}
		switch p.kind {
		case partThinking:
			for _, l := range strings.Split(text, "\n") {
				add(m.theme.Thinking, "  ", l)
			}
		case partContent:
			shown := text
			if strings.TrimSpace(shown) == "" {
				continue
			}
			if t.done { // finished text is markdown, rendered once per width (md caches it)
				for _, l := range m.md.render(cleanText(shown), max(m.w-2, 1), m.theme.Dark) {
					lines = append(lines, "  "+l)
				}
				continue
			}
			for _, l := range strings.Split(shown, "\n") {
				add(m.theme.Text, "  ", l)
			}
		case partToolCall:
			add(m.theme.Block, "  ", text)
		case partToolResult:
			add(m.theme.Dim, "  ", text)
		case partToolError, partNote:
			add(m.theme.Error, "  ", text)
		}
	}
	switch {
	case !t.done && len(parts) == 0:
		add(m.theme.Dim, "  ", "…")
	case t.done && t.status != "" && t.failed:
		add(m.theme.Error, "  ", "✗ "+t.status)
	case t.done && t.status != "":
		add(m.theme.Dim, "  ", "■ reply "+t.status)
	}
	if t.done && t.runID != "" { // where to read the whole trace
		line := "run " + t.runID
		if t.loadMS >= 100 {
			line += fmt.Sprintf(" · loaded the model in %.1fs", float64(t.loadMS)/1000)
		}
		if t.promptTokens > 0 {
			line += fmt.Sprintf(" · read %d prompt tokens in %.1fs", t.promptTokens, float64(t.promptMS)/1000)
		}
		add(m.theme.Dim, "  ", line)
	}
	return lines, at
}

// brief is how the chat shows a record: as tandem ask does, results cut to 160 characters.
func brief(r agents.Record) string {
	l, _ := tracefmt.Brief(r, 160)
	return l.Text
}

// showsAnswer reports whether the turn's text already ends with answer.
func (t *chatTurn) showsAnswer(answer string) bool {
	for i := len(t.parts) - 1; i >= 0; i-- {
		if t.parts[i].kind == partContent {
			return strings.TrimSpace(t.parts[i].text) == strings.TrimSpace(answer)
		}
	}
	return false
}

// historyTurns rebuilds the turns of a stored conversation.
func historyTurns(msgs []model.Message) []*chatTurn {
	var out []*chatTurn
	var t *chatTurn
	for _, msg := range msgs {
		switch msg.Role {
		case "user":
			t = &chatTurn{prompt: msg.Content, done: true}
			out = append(out, t)
		case "assistant":
			if t == nil {
				t = &chatTurn{done: true}
				out = append(out, t)
			}
			t.add(partThinking, msg.Thinking)
			t.add(partContent, agents.ReplyText(msg.Content))
			if msg.Stopped {
				t.status = "stopped"
			}
			for _, c := range msg.ToolCalls {
				args, _ := json.Marshal(c.Arguments)
				key := c.Name + " " + string(args)
				t.parts = append(t.parts, chatPart{kind: partToolCall, text: brief(agents.ToolCall{Name: c.Name, Arguments: c.Arguments}), key: key})
				if n := t.callsOf(key); n > 1 { // a stored conversation has no trace records
					t.add(partNote, brief(agents.RepeatedCall{Name: c.Name, Arguments: c.Arguments, Times: n}))
				}
			}
		case "tool":
			if t != nil {
				t.parts = append(t.parts, chatPart{kind: partToolResult, text: brief(agents.ToolResult{Name: msg.ToolName, Result: msg.Content}),
					full: msg.Content, size: len(msg.Content)})
			}
		}
	}
	return out
}

// waiting says what the reply on its way is doing, for the chat's note line: the model
// loading and reading the prompt, then generating (tokens, tokens a second, elapsed), or a
// tool running between model calls.
func (m ChatModel) waiting() string {
	t := m.lastTurn()
	if t == nil || t.done {
		return "replying…"
	}
	since := func(at time.Time) string {
		if at.IsZero() || m.now.Before(at) {
			return "0.0s"
		}
		return fmt.Sprintf("%.1fs", m.now.Sub(at).Seconds())
	}
	switch {
	case t.tool != "":
		return fmt.Sprintf("running %s · %s", t.tool, since(t.sentAt))
	case t.runID == "":
		return "starting the run · " + since(t.sentAt)
	case t.genAt.IsZero() && t.calls == 0 && t.load == loadPending:
		return fmt.Sprintf("%s: loading the model · %s", m.modelName(), since(t.sentAt))
	case t.genAt.IsZero() && (t.calls > 0 || t.load == loadDone):
		reading := "reading the prompt"
		if n := m.promptEstimate(t); n > 0 {
			reading += fmt.Sprintf(" (≈%d tokens)", n)
		}
		return fmt.Sprintf("%s: %s · %s", m.modelName(), reading, since(t.sentAt))
	case t.genAt.IsZero():
		return fmt.Sprintf("%s: loading the model, reading the prompt · %s", m.modelName(), since(t.sentAt))
	}
	rate := ""
	if d := m.now.Sub(t.genAt).Seconds(); d > 0.2 && t.tokens > 1 {
		rate = fmt.Sprintf(" · %.1f tok/s", float64(t.tokens-1)/d)
	}
	return fmt.Sprintf("%s: generating · %d tokens%s · %s", m.modelName(), t.tokens, rate, since(t.sentAt))
}

// Whether the reply's model was loaded when its prompt was sent.
const (
	loadUnknown uint8 = iota // the server cannot say (or has not yet)
	loadPending              // not loaded: the server is loading it
	loadDone                 // loaded (already, or since)
)

// promptEstimate guesses the prompt tokens of the model call on its way, from what Ollama
// counted for the last one (plus what came since: tool results, or the new prompt, at four
// characters a token); 0 when there is no count to start from.
func (m ChatModel) promptEstimate(t *chatTurn) int {
	if t.calls > 0 {
		return t.lastCtx + t.results/4
	}
	if m.lastCtx > 0 {
		return m.lastCtx + len(t.prompt)/4
	}
	return 0
}

// loaded takes the server's answer on whether the reply's model is loaded; while it loads,
// it asks again every second.
func (m *ChatModel) loaded(msg chatLoadedMsg) tea.Cmd {
	t := m.lastTurn()
	if t == nil || t.done || !t.genAt.IsZero() || t.calls > 0 || msg.model != m.modelName() || t.load == loadDone {
		return nil
	}
	if msg.loaded {
		t.load, t.loadedAt = loadDone, m.now
		return nil
	}
	t.load = loadPending
	name := msg.model
	return tea.Tick(time.Second, func(time.Time) tea.Msg { return chatLoadWantedMsg{model: name} })
}
