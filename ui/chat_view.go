package ui

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textarea"
	"charm.land/bubbles/v2/viewport"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"tandem/agents/model"
)

// ChatKeyMap are the chat's keys. Typing goes to the input, so its own keys are ones that do
// not type text.
type ChatKeyMap struct {
	Send, Newline    key.Binding
	Stop, Leave      key.Binding
	Model, Sessions  key.Binding
	Trace            key.Binding // the last reply's run, in the panes: its tool results in full
	NextResult       key.Binding // select a tool result in the transcript, for Open
	PrevResult       key.Binding
	Open             key.Binding // the selected result in full
	PageUp, PageDown key.Binding
	Up, Down, Pick   key.Binding // in a list
	ClosePicker      key.Binding
	pickerOpen       bool // the help shows the list's keys
}

// DefaultChatKeyMap is the chat's default keymap.
var DefaultChatKeyMap = ChatKeyMap{
	Send:        key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "send")),
	Newline:     key.NewBinding(key.WithKeys("alt+enter", "ctrl+j"), key.WithHelp("alt+enter/ctrl+j", "newline")),
	Stop:        key.NewBinding(key.WithKeys("ctrl+c"), key.WithHelp("ctrl+c", "stop reply")),
	Leave:       key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "leave chat")),
	Model:       key.NewBinding(key.WithKeys("ctrl+o"), key.WithHelp("ctrl+o", "model")),
	Sessions:    key.NewBinding(key.WithKeys("ctrl+r"), key.WithHelp("ctrl+r", "sessions")),
	Trace:       key.NewBinding(key.WithKeys("ctrl+t"), key.WithHelp("ctrl+t", "reply's trace")),
	NextResult:  key.NewBinding(key.WithKeys("tab"), key.WithHelp("tab/shift+tab", "select a tool result")),
	PrevResult:  key.NewBinding(key.WithKeys("shift+tab"), key.WithHelp("shift+tab", "previous tool result")),
	Open:        key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "open the result in full")),
	PageUp:      key.NewBinding(key.WithKeys("pgup"), key.WithHelp("pgup", "scroll up")),
	PageDown:    key.NewBinding(key.WithKeys("pgdown"), key.WithHelp("pgdn", "scroll down")),
	Up:          key.NewBinding(key.WithKeys("up", "ctrl+p"), key.WithHelp("↑", "up")),
	Down:        key.NewBinding(key.WithKeys("down", "ctrl+n"), key.WithHelp("↓", "down")),
	Pick:        key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "choose")),
	ClosePicker: key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "back")),
}

// ShortHelp implements help.KeyMap.
func (k ChatKeyMap) ShortHelp() []key.Binding {
	if k.pickerOpen {
		return []key.Binding{k.Up, k.Down, k.Pick, k.ClosePicker}
	}
	return []key.Binding{k.Send, k.Newline, k.Stop, k.Model, k.Sessions, k.Leave}
}

// FullHelp implements help.KeyMap.
func (k ChatKeyMap) FullHelp() [][]key.Binding {
	if k.pickerOpen {
		return [][]key.Binding{k.ShortHelp()}
	}
	return [][]key.Binding{{k.Send, k.Newline, k.Stop, k.Leave}, {k.Model, k.Sessions, k.Trace, k.NextResult, k.Open, k.PageUp, k.PageDown}}
}

// ChatSendMsg asks the app to run the agent on a prompt: a one-step run, like `tandem ask`.
type ChatSendMsg struct {
	AgentPath, AgentName string
	Model                string // "" runs the agent's own model
	Prompt               string
	Session              string
}

// ChatStopMsg asks the app to stop the reply that is streaming.
type ChatStopMsg struct{}

// ChatOpenRunMsg asks the app to leave the chat for the panes with a reply's run open, where
// its trace shows every tool call and result in full.
type ChatOpenRunMsg struct{ RunID string }

// ChatClosedMsg tells the app the chat was left.
type ChatClosedMsg struct{}

// ChatModelsWantedMsg asks the app to list the model server's models again: the chat
// sends it when its model list opens, so a model pulled since shows.
type ChatModelsWantedMsg struct{}

// ChatSessionMsg asks the app to load a session's conversation into the chat; the chat
// sends nothing until it arrives (as a chatHistoryMsg), so the two never interleave.
type ChatSessionMsg struct{ Name string }

type chatPicker uint8

const (
	pickNone chatPicker = iota
	pickModel
	pickSession
)

const loadingNote = "loading the session…"

// ChatModel is a conversation with an agent of the workspace. Each prompt runs the agent
// through the engine as a recorded run (the app starts it on ChatSendMsg); the reply streams
// in with its thinking dimmed and its tool calls inline. The conversation is a memory
// session, so it persists and can be resumed; the model can be switched per reply.
type ChatModel struct {
	Keys  ChatKeyMap
	theme Theme

	agent   FlowEntry
	session string
	model   string // "" for the agent's own
	models  []string
	all     []SessionInfo   // every session; the list shows this agent's
	now     time.Time       // the app's clock, moved on every frame (SetNow)
	used    map[string]bool // session names this chat has used, so a new one never repeats
	lastCtx int             // prompt and output tokens of the session's last model call, when known
	md      *markdownCache  // replies rendered as markdown, by text and width

	picker chatPicker
	pick   int

	input textarea.Model
	vp    viewport.Model
	turns []*chatTurn

	// A tool result selected with tab (turn and part index; selTurn -1: none), and the one
	// open in full over the transcript (enter), with its own viewport.
	selTurn, selPart int
	selectedLine     int // the transcript line the selected result starts on, -1 when none
	full             *chatPart
	fullVP           viewport.Model

	runID    string // the run of the reply streaming
	asking   bool   // a prompt was sent and its reply has not ended
	loading  bool   // the session's conversation is on its way
	stopping bool
	note     string
	noteErr  bool
	w, h     int
}

// NewChat opens a chat with the agent entry at time now. An agent with memory: session
// continues the session named after it, as `tandem ask` does; others start a new session.
func NewChat(theme Theme, agent FlowEntry, now time.Time) ChatModel {
	ta := textarea.New()
	ta.ShowLineNumbers = false
	ta.SetPromptFunc(2, func(p textarea.PromptInfo) string {
		if p.LineNumber == 0 {
			return "› "
		}
		return "  "
	})
	ta.Placeholder = "message " + agent.Name
	ta.CharLimit = 0
	ta.MaxHeight = 0
	ta.KeyMap.InsertNewline = DefaultChatKeyMap.Newline
	ta.SetHeight(3)
	ta.Focus()
	vp := viewport.New()
	vp.KeyMap = viewport.KeyMap{}
	fvp := viewport.New()
	fvp.KeyMap = viewport.KeyMap{}
	m := ChatModel{Keys: DefaultChatKeyMap, agent: agent, now: now, input: ta, vp: vp, fullVP: fvp, loading: true,
		used: map[string]bool{}, md: newMarkdownCache(), selTurn: -1}
	m.session = m.newSessionName()
	if agent.AgentDef != nil && agent.AgentDef.Memory == "session" {
		m.session = agent.Name
	}
	m.used[m.session] = true
	m.SetTheme(theme)
	return m
}

// inSession makes a chat not yet opened continue session name instead of its own choice.
func (m *ChatModel) inSession(name string) {
	m.session = name
	m.used[name] = true
}

// unsafeFileChars are the characters a session name made from an agent's name leaves out.
var unsafeFileChars = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`[^a-zA-Z0-9._-]+`) })

// newSessionName names a new session after the agent and the time, with a counter when
// that name is taken (by this chat or a stored session): two new sessions in one second
// stay two sessions.
func (m ChatModel) newSessionName() string {
	base := fmt.Sprintf("chat-%s-%s", unsafeFileChars().ReplaceAllString(m.agent.Name, "_"), m.now.Format("20060102-150405"))
	taken := func(name string) bool {
		if m.used[name] {
			return true
		}
		for _, s := range m.all {
			if s.Name == name {
				return true
			}
		}
		return false
	}
	name := base
	for i := 2; taken(name); i++ {
		name = fmt.Sprintf("%s-%d", base, i)
	}
	return name
}

// SetNow moves the chat's clock: session ages and the waiting indicator read it.
func (m *ChatModel) SetNow(t time.Time) { m.now = t }

// SetTheme changes the view's styles.
func (m *ChatModel) SetTheme(t Theme) {
	m.theme = t
	s := textarea.DefaultStyles(t.Dark)
	s.Focused.CursorLine = lipgloss.NewStyle()
	s.Focused.Prompt = t.Accent
	s.Focused.Placeholder = t.Dim
	s.Cursor.Blink = false // a steady cursor: no timer messages for the app to route
	m.input.SetStyles(s)
	for _, turn := range m.turns {
		turn.rendered = nil
	}
	m.render()
}

// SetSize sets the view's size in cells.
func (m *ChatModel) SetSize(w, h int) {
	follow := m.vp.AtBottom() || m.vp.TotalLineCount() <= m.vp.Height()
	m.w, m.h = max(w, 1), max(h, 1)
	m.input.SetWidth(m.w)
	m.input.SetHeight(m.inputH())
	m.vp.SetWidth(m.w)
	m.vp.SetHeight(m.transcriptH())
	m.fullVP.SetWidth(m.w)
	m.fullVP.SetHeight(m.transcriptH())
	m.render()
	if follow { // a transcript read to its end stays there, narrower or shorter
		m.vp.GotoBottom()
	}
	m.renderFull()
}

// inputH is the input's height: three lines, fewer on a short terminal.
func (m ChatModel) inputH() int { return max(min(3, m.h-4), 1) }

// transcriptH leaves room for the title, the input and the note line.
func (m ChatModel) transcriptH() int { return max(m.h-2-m.inputH(), 1) }

// Agent returns the path of the agent file the chat talks to.
func (m ChatModel) Agent() string { return m.agent.Path }

// Session returns the chat's session name.
func (m ChatModel) Session() string { return m.session }

// Busy reports whether a reply is on its way.
func (m ChatModel) Busy() bool { return m.asking }

// Init asks for the session's conversation, to show it and continue it.
func (m ChatModel) Init() tea.Cmd {
	name := m.session
	return func() tea.Msg { return ChatSessionMsg{Name: name} }
}

// Update edits and sends the prompt, stops the reply, switches model and session, and takes
// the results of the app's commands.
func (m ChatModel) Update(msg tea.Msg) (ChatModel, tea.Cmd) {
	switch msg := msg.(type) {
	case chatLoadedMsg:
		return m, m.loaded(msg)
	case chatModelsMsg:
		m.models = msg.models
		if msg.err != nil {
			m.setNote("no model list: "+firstLine(msg.err.Error()), true)
		}
		return m, nil
	case chatSessionsMsg:
		if msg.err != nil {
			m.setNote("no session list: "+firstLine(msg.err.Error()), true)
		}
		m.all = msg.sessions
		return m, nil
	case chatHistoryMsg:
		if msg.session != m.session {
			return m, nil
		}
		m.loading = false
		if m.note == loadingNote {
			m.setNote("", false)
		}
		if msg.err != nil {
			m.setNote(msg.err.Error(), true)
			return m, nil
		}
		m.turns = historyTurns(msg.msgs)
		m.selTurn, m.full = -1, nil
		m.render()
		m.vp.GotoBottom()
		return m, nil
	case chatStartedMsg:
		if msg.err != nil {
			m.finishTurn(m.lastTurn(), "could not start: "+msg.err.Error(), true)
			m.asking, m.stopping = false, false
		} else {
			m.runID = msg.runID
			if t := m.lastTurn(); t != nil {
				t.runID = msg.runID
			}
		}
		m.render()
		return m, nil
	case chatDoneMsg:
		if msg.runID == m.runID {
			m.finishRun(msg.events, msg.err)
		}
		return m, nil
	case tea.KeyPressMsg:
		return m.key(msg)
	}
	var cmd tea.Cmd
	m.input, cmd = m.input.Update(msg)
	return m, cmd
}

func (m ChatModel) key(k tea.KeyPressMsg) (ChatModel, tea.Cmd) {
	if m.picker != pickNone {
		return m.pickerKey(k), m.pickerCmd(k)
	}
	if m.full != nil {
		return m.fullKey(k), nil
	}
	if m.selTurn >= 0 {
		switch {
		case key.Matches(k, m.Keys.Open):
			if t := m.selected(); t != nil {
				m.full = t
				m.renderFull()
				m.fullVP.GotoTop()
			}
			return m, nil
		case key.Matches(k, m.Keys.ClosePicker): // esc: back to the input, the chat stays
			m.selectResult(-1, -1)
			return m, nil
		case !key.Matches(k, m.Keys.NextResult, m.Keys.PrevResult, m.Keys.PageUp, m.Keys.PageDown):
			m.selectResult(-1, -1) // typing goes to the input again
		}
	}
	switch {
	case key.Matches(k, m.Keys.NextResult):
		m.moveSelection(1)
		return m, nil
	case key.Matches(k, m.Keys.PrevResult):
		m.moveSelection(-1)
		return m, nil
	case key.Matches(k, m.Keys.Stop):
		if !m.asking {
			m.setNote("no reply is streaming; esc leaves the chat", false)
			return m, nil
		}
		if m.stopping {
			return m, nil
		}
		m.stopping = true
		m.setNote("stopping the reply…", false)
		return m, func() tea.Msg { return ChatStopMsg{} }
	case key.Matches(k, m.Keys.Leave):
		return m, func() tea.Msg { return ChatClosedMsg{} }
	case key.Matches(k, m.Keys.Trace):
		for i := len(m.turns) - 1; i >= 0; i-- {
			if id := m.turns[i].runID; id != "" {
				return m, func() tea.Msg { return ChatOpenRunMsg{RunID: id} }
			}
		}
		m.setNote("no reply has a run yet: send a message first", false)
		return m, nil
	case key.Matches(k, m.Keys.Send):
		prompt := strings.TrimSpace(m.input.Value())
		if prompt == "" {
			return m, nil
		}
		if m.asking {
			m.setNote("a reply is streaming; ctrl+c stops it", true)
			return m, nil
		}
		if m.loading {
			m.setNote(loadingNote, false)
			return m, nil
		}
		m.input.Reset()
		m.turns = append(m.turns, &chatTurn{prompt: prompt, sentAt: m.now})
		m.asking, m.stopping, m.runID = true, false, ""
		m.setNote("", false)
		m.render()
		m.vp.GotoBottom()
		req := ChatSendMsg{AgentPath: m.agent.Path, AgentName: m.agent.Name, Model: m.model, Prompt: prompt, Session: m.session}
		return m, func() tea.Msg { return req }
	case key.Matches(k, m.Keys.Model):
		m.picker, m.pick = pickModel, 0
		for i, c := range m.modelChoices() {
			if c == m.model {
				m.pick = i
			}
		}
		m.Keys.pickerOpen = true
		return m, func() tea.Msg { return ChatModelsWantedMsg{} }
	case key.Matches(k, m.Keys.Sessions):
		if m.asking {
			m.setNote("wait for the reply (or ctrl+c) before switching sessions", true)
			return m, nil
		}
		m.picker, m.pick = pickSession, 0
		for i, s := range m.sessionChoices() {
			if s.Name == m.session {
				m.pick = i
			}
		}
		m.Keys.pickerOpen = true
		return m, nil
	case key.Matches(k, m.Keys.PageUp):
		m.vp.PageUp()
		return m, nil
	case key.Matches(k, m.Keys.PageDown):
		m.vp.PageDown()
		return m, nil
	}
	var cmd tea.Cmd
	m.input, cmd = m.input.Update(k)
	return m, cmd
}

// modelChoices are "" (the agent's own model) and the server's other models.
func (m ChatModel) modelChoices() []string {
	out := []string{""}
	for _, name := range m.models {
		if name != m.agentModel() {
			out = append(out, name)
		}
	}
	return out
}

// agentModel is the model the agent file names, or the default.
func (m ChatModel) agentModel() string {
	if m.agent.AgentDef != nil && m.agent.AgentDef.Model != "" {
		return m.agent.AgentDef.Model
	}
	return model.DefaultModel()
}

// sessionChoices are a new session and this agent's stored ones, newest first.
func (m ChatModel) sessionChoices() []SessionInfo {
	out := []SessionInfo{{}}
	seen := false
	for _, s := range m.all {
		if s.Agent == m.agent.Name || s.Name == m.session {
			out = append(out, s)
			seen = seen || s.Name == m.session
		}
	}
	if !seen && len(m.turns) > 0 {
		out = append(out, SessionInfo{Name: m.session, Agent: m.agent.Name})
	}
	sort.SliceStable(out[1:], func(i, j int) bool { return out[1+i].UpdatedAt.After(out[1+j].UpdatedAt) })
	return out
}

func (m ChatModel) pickerLen() int {
	if m.picker == pickModel {
		return len(m.modelChoices())
	}
	return len(m.sessionChoices())
}

func (m ChatModel) pickerKey(k tea.KeyPressMsg) ChatModel {
	switch {
	case key.Matches(k, m.Keys.Up):
		m.pick = max(m.pick-1, 0)
	case key.Matches(k, m.Keys.Down):
		m.pick = min(m.pick+1, m.pickerLen()-1)
	case key.Matches(k, m.Keys.ClosePicker):
		m.picker, m.Keys.pickerOpen = pickNone, false
	case key.Matches(k, m.Keys.Pick):
		switch m.picker {
		case pickModel:
			m.model = m.modelChoices()[m.pick]
			m.setNote("replies now use "+m.modelName(), false)
		case pickSession:
			s := m.sessionChoices()[m.pick]
			if s.Name != m.session {
				m.session = s.Name
				if s.Name == "" {
					m.session = m.newSessionName()
				}
				m.used[m.session] = true
				m.turns, m.loading = nil, s.Name != ""
				m.setNote("session "+m.session, false)
				m.render()
			}
		}
		m.picker, m.Keys.pickerOpen = pickNone, false
	}
	return m
}

// pickerCmd asks for the chosen session's conversation once the picker has switched to it.
func (m ChatModel) pickerCmd(k tea.KeyPressMsg) tea.Cmd {
	if m.picker != pickSession || !key.Matches(k, m.Keys.Pick) {
		return nil
	}
	s := m.sessionChoices()[m.pick]
	if s.Name == "" || s.Name == m.session {
		return nil
	}
	name := s.Name
	return func() tea.Msg { return ChatSessionMsg{Name: name} }
}

func (m ChatModel) modelName() string {
	if m.model == "" {
		return m.agentModel()
	}
	return m.model
}

func (m *ChatModel) setNote(s string, isErr bool) { m.note, m.noteErr = s, isErr }

// View renders the title, the transcript (or a list to pick from), the input and a note.
func (m ChatModel) View() string {
	title := fmt.Sprintf("chat · %s · session %s · %s", m.agent.Name, m.session, m.modelName())
	title = fitText(title, m.w)
	rows := []string{m.theme.Title.Render(title) + strings.Repeat(" ", max(0, m.w-ansi.StringWidth(title)))}
	switch {
	case m.picker != pickNone:
		rows = append(rows, m.pickerView())
	case m.full != nil:
		rows = append(rows, m.fullVP.View())
	default:
		rows = append(rows, m.vp.View())
	}
	rows = append(rows, m.input.View())
	note := m.note
	style := m.theme.Dim
	switch {
	case m.full != nil:
		note = "the result in full · pgup/pgdn scroll · esc back to the chat"
	case m.selTurn >= 0 && note == "":
		note = "enter opens the result in full · tab/shift+tab another · esc back to typing"
	case m.noteErr:
		style = m.theme.Error
	case note == "" && m.asking && m.stopping:
		note = "stopping the reply…"
	case note == "" && m.asking:
		note = m.waiting() + " · ctrl+c stops"
	}
	note = fitText(note, m.w)
	rows = append(rows, style.Render(note)+strings.Repeat(" ", max(0, m.w-ansi.StringWidth(note))))
	return strings.Join(rows, "\n")
}

func (m ChatModel) pickerView() string {
	var items []string
	head := "choose the model for the next replies"
	if m.picker == pickModel {
		for _, c := range m.modelChoices() {
			if c == "" {
				items = append(items, m.agentModel()+" (the agent's)")
			} else {
				items = append(items, c)
			}
		}
		if len(m.models) == 0 {
			head += " (no model server listed others)"
		}
	} else {
		head = "choose a session of " + m.agent.Name
		for _, s := range m.sessionChoices() {
			switch {
			case s.Name == "":
				items = append(items, "new session")
			case s.UpdatedAt.IsZero():
				items = append(items, s.Name)
			default:
				items = append(items, fmt.Sprintf("%s · %d messages · %s ago", s.Name, s.Messages, age(m.now, s.UpdatedAt)))
			}
		}
	}
	h := m.transcriptH()
	lines := []string{m.theme.Dim.Render(fitText(head, m.w))}
	start := max(0, m.pick-(h-2))
	for i := start; i < len(items) && len(lines) < h; i++ {
		text := fitText("  "+items[i], m.w)
		if i == m.pick {
			text = fitText("› "+items[i], m.w)
			lines = append(lines, m.theme.Selected.Render(text+strings.Repeat(" ", max(0, m.w-ansi.StringWidth(text)))))
			continue
		}
		lines = append(lines, m.theme.Text.Render(text))
	}
	for len(lines) < h {
		lines = append(lines, "")
	}
	for i, l := range lines {
		lines[i] = l + strings.Repeat(" ", max(0, m.w-ansi.StringWidth(l)))
	}
	return strings.Join(lines, "\n")
}
