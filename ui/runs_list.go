package ui

import (
	"fmt"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"tandem/engine"
	"tandem/flows"
)

// FlowEntry is a flow or agent file of the workspace, or a file that failed to load.
type FlowEntry struct {
	Path  string
	Name  string
	Agent bool
	Flow  *flows.Flow // nil for agents and invalid files
	// AgentDef is the agent, for agent files that load.
	AgentDef *flows.Agent
	Err      string // file:line:col: message lines, for files that do not load
	// Dir is the file's folder under the workspace, slash-separated; "" at the top.
	Dir string
}

// FlowsLoadedMsg carries the workspace's flow files, from LoadFlows.
type FlowsLoadedMsg struct{ Flows []FlowEntry }

// RunSelectedMsg asks the app to open a run.
type RunSelectedMsg struct{ RunID string }

// AgentOpenedMsg asks the app to open a chat with an agent of the sidebar, in Session (""
// for the chat's own choice: the session it is in, or a new one).
type AgentOpenedMsg struct {
	Entry   FlowEntry
	Session string
}

// MoreRunsMsg asks the app for the next page of older runs: the cursor reached the last run
// listed and the listing said more may follow.
type MoreRunsMsg struct{}

// FlowSelectedMsg tells the app the sidebar's cursor is on a flow (to preview its DAG).
// Open is set by enter: the app closes the run it shows to preview the flow.
type FlowSelectedMsg struct {
	Entry FlowEntry
	Open  bool
}

// EditFileMsg asks the app to open a workspace file in $EDITOR at Line (0: the top).
type EditFileMsg struct {
	Path string
	Line int
}

// errorLine is the line of the first file:line:col: error in errs, 0 when there is none.
func errorLine(errs string) int {
	first, _, _ := strings.Cut(errs, "\n")
	parts := strings.SplitN(first, ":", 4)
	if len(parts) < 3 {
		return 0
	}
	n, err := strconv.Atoi(parts[1])
	if err != nil {
		return 0
	}
	return n
}

// RunsKeyMap are the sidebar's keys.
type RunsKeyMap struct {
	Up, Down, Open, Filter key.Binding
	Edit                   key.Binding // open the file in $EDITOR, at its first error
}

// DefaultRunsKeyMap is the sidebar's default keymap.
var DefaultRunsKeyMap = RunsKeyMap{
	Up:     key.NewBinding(key.WithKeys("up", "k"), key.WithHelp("↑/k", "up")),
	Down:   key.NewBinding(key.WithKeys("down", "j"), key.WithHelp("↓/j", "down")),
	Open:   key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "open")),
	Filter: key.NewBinding(key.WithKeys("/"), key.WithHelp("/", "filter")),
	Edit:   key.NewBinding(key.WithKeys("o"), key.WithHelp("o", "edit file")),
}

// ShortHelp implements help.KeyMap.
func (k RunsKeyMap) ShortHelp() []key.Binding {
	return []key.Binding{k.Up, k.Down, k.Open, k.Filter, k.Edit}
}

// FullHelp implements help.KeyMap.
func (k RunsKeyMap) FullHelp() [][]key.Binding { return [][]key.Binding{k.ShortHelp()} }

// sidebarItem is one selectable row: a flow, a run, an eval run (run, with eval set), or
// the chat turns with one agent.
type sidebarItem struct {
	flow *FlowEntry
	run  *engine.RunInfo
	eval bool
	chat *chatGroup
}

// chatGroup stands for the runs of one conversation with an agent, its chat and ask turns in
// one memory session (each turn is a run of the agent's one-step flow, flows.AgentFlow), so
// they do not bury the flow runs: one row that opens the chat in that session. Asks without
// a session are one row per agent. A filter lists the turns one by one.
type chatGroup struct {
	agentPath string          // the agent's file
	name      string          // the agent's name as the runs record it
	session   string          // the memory session the turns continued ("" for none)
	turns     int             // runs listed
	latest    *engine.RunInfo // the newest of them
}

// chatSessionName matches the name the chat gives a new session (newSessionName):
// chat-AGENT-20060102-150405, with -N when that second's name was taken.
// Compiled on first use: package init runs before every command (startup_deps_test).
var chatSessionName = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^chat-.+-(\d{8}-\d{6})(-\d+)?$`) })

// sessionLabel is how a chat row names its session: a chat's own session by when it began
// ("Jan 2 15:04"), a named one by its name, and none for the agent's own memory session
// (named after it) or no session.
func sessionLabel(session, agent string) string {
	if session == "" || session == agent {
		return ""
	}
	if m := chatSessionName().FindStringSubmatch(session); m != nil {
		if t, err := time.ParseInLocation("20060102-150405", m[1], time.Local); err == nil {
			return t.Format("Jan 2 15:04") + strings.ReplaceAll(m[2], "-", " #")
		}
	}
	return session
}

// chatRow is a chat row at most w cells when it can be: "✓ ◇ helper · notes · 2 turns · 1m
// ago". Narrower, the dots go, then the turns, then the agent's name is cut before the
// session's, which is what tells two rows of one agent apart; the age stays.
func chatRow(icon, agent, session, turns, when string, w int) string {
	parts := []string{icon + " ◇ " + agent}
	if session != "" {
		parts = append(parts, session)
	}
	if text := strings.Join(append(parts, turns, when), " · "); ansi.StringWidth(text) <= w {
		return text
	}
	if text := strings.Join(append(parts, turns, when), " "); ansi.StringWidth(text) <= w {
		return text
	}
	if session == "" {
		return keepTail(icon+" ◇ "+agent, turns+" "+when, w)
	}
	tail := session + " " + when
	if room := w - ansi.StringWidth(icon+" ◇ "+tail) - 1; room >= 2 {
		return icon + " ◇ " + fitText(agent, room) + " " + tail
	}
	return keepTail(icon+" ◇ "+session, when, w)
}

// chatAgentPath returns the agent file of a chat or ask turn's run (its flow is the agent's
// one-step flow, .AGENT.yaml.ask.yaml beside the agent); ok is false for any other run.
func chatAgentPath(r engine.RunInfo) (string, bool) {
	base := filepath.Base(r.FlowPath)
	if r.ParentRunID != "" || !strings.HasPrefix(base, ".") || !strings.HasSuffix(base, flows.AgentFlowSuffix) {
		return "", false
	}
	return filepath.Join(filepath.Dir(r.FlowPath), strings.TrimSuffix(base[1:], flows.AgentFlowSuffix)), true
}

// RunsListModel is the sidebar: the workspace's flows and the recent runs, filterable.
type RunsListModel struct {
	Keys  RunsKeyMap
	theme Theme

	flows []FlowEntry
	runs  []engine.RunInfo
	now   time.Time
	more  bool                   // older runs than those listed may exist (SetMore)
	evals map[string]evalSummary // eval runs' results, by run id (sidebar_evals.go)

	filter    string
	filtering bool
	items     []sidebarItem // after the filter
	cursor    int
	offset    int
	w, h      int
}

// NewRunsList returns an empty sidebar.
func NewRunsList(theme Theme) RunsListModel {
	return RunsListModel{Keys: DefaultRunsKeyMap, theme: theme}
}

// SetTheme changes the view's styles.
func (m *RunsListModel) SetTheme(t Theme) { m.theme = t }

// SetSize sets the view's size in cells.
func (m *RunsListModel) SetSize(w, h int) { m.w, m.h = max(w, 1), max(h, 1); m.clamp() }

// SetFlows replaces the listed flows.
func (m *RunsListModel) SetFlows(fs []FlowEntry) { m.flows = fs; m.refilter() }

// SetRuns replaces the listed runs (newest first); now is the time ages are measured to.
func (m *RunsListModel) SetRuns(runs []engine.RunInfo, now time.Time) {
	sel := m.SelectedRun()
	m.runs, m.now = runs, now
	m.refilter()
	if sel != "" { // keep the cursor on the same run as the list moves
		for i, it := range m.items {
			if it.run != nil && it.run.ID == sel {
				m.cursor = i
			}
		}
		m.clamp()
	}
}

// SetMore says whether older runs than those listed may exist; the sidebar asks for them
// (MoreRunsMsg) when the cursor reaches the last run.
func (m *RunsListModel) SetMore(more bool) { m.more = more }

// Capturing reports whether the filter is being typed, so the app keeps its own keys quiet.
func (m RunsListModel) Capturing() bool { return m.filtering }

// SelectedFlow returns the flow under the cursor.
func (m RunsListModel) SelectedFlow() (FlowEntry, bool) {
	if m.cursor < len(m.items) && m.items[m.cursor].flow != nil {
		return *m.items[m.cursor].flow, true
	}
	return FlowEntry{}, false
}

// SelectedRun returns the id of the run under the cursor, or "".
func (m RunsListModel) SelectedRun() string {
	if m.cursor < len(m.items) && m.items[m.cursor].run != nil {
		return m.items[m.cursor].run.ID
	}
	return ""
}

// selectedChat returns the chat group under the cursor, or nil.
func (m RunsListModel) selectedChat() *chatGroup {
	if m.cursor < len(m.items) {
		return m.items[m.cursor].chat
	}
	return nil
}

// agentEntry finds the workspace's agent file at path.
func (m RunsListModel) agentEntry(path string) (FlowEntry, bool) {
	want, _ := filepath.Abs(path)
	for _, f := range m.flows {
		if got, _ := filepath.Abs(f.Path); got == want && f.AgentDef != nil {
			return f, true
		}
	}
	return FlowEntry{}, false
}

func (m *RunsListModel) refilter() {
	q := strings.ToLower(m.filter)
	m.items = m.items[:0]
	for i := range m.flows {
		f := &m.flows[i]
		if q == "" || strings.Contains(strings.ToLower(f.Name+" "+f.Path), q) {
			m.items = append(m.items, sidebarItem{flow: f})
		}
	}
	var evals, runs []sidebarItem
	groups := map[string]*chatGroup{}
	evalIDs := map[string]bool{}
	for _, r := range m.runs {
		if isEvalRun(r) {
			evalIDs[r.ID] = true
		}
	}
	for i := range m.runs {
		r := &m.runs[i]
		if evalIDs[r.ParentRunID] {
			continue // a case or judge run of an eval: its eval view lists it
		}
		if isEvalRun(*r) {
			if q == "" || strings.Contains(strings.ToLower(r.FlowName+" "+r.ID+" "+string(r.Status)), q) {
				evals = append(evals, sidebarItem{run: r, eval: true})
			}
			continue
		}
		if path, ok := chatAgentPath(*r); ok && q == "" {
			k := path + "\x00" + r.Session
			g := groups[k]
			if g == nil {
				g = &chatGroup{agentPath: path, name: r.FlowName, session: r.Session, latest: r} // runs come newest first
				groups[k] = g
				m.items = append(m.items, sidebarItem{chat: g})
			}
			g.turns++
			continue
		}
		if q == "" || strings.Contains(strings.ToLower(r.FlowName+" "+r.ID+" "+string(r.Status)), q) {
			runs = append(runs, sidebarItem{run: r})
		}
	}
	m.items = append(m.items, evals...)
	m.items = append(m.items, runs...)
	m.clamp()
}

func (m *RunsListModel) clamp() {
	m.cursor = max(0, min(m.cursor, len(m.items)-1))
	if m.cursor < m.offset {
		m.offset = m.cursor
	}
	// Scroll until the cursor's row fits below the section and folder titles View draws.
	for m.offset < m.cursor && m.linesThrough(m.offset, m.cursor) > m.h {
		m.offset++
	}
	m.offset = max(0, m.offset)
}

// linesThrough is how many lines View draws for items from..to: the rows, their section
// and folder titles, and the filter line.
func (m RunsListModel) linesThrough(from, to int) int {
	n := 0
	if m.filtering || m.filter != "" {
		n++
	}
	section, folder := "", ""
	for i := from; i <= to && i < len(m.items); i++ {
		it := m.items[i]
		if s := it.section(); s != section {
			section = s
			n++
		}
		if it.flow != nil && it.flow.Dir != folder {
			folder = it.flow.Dir
			n++
		}
		n++
	}
	return n
}

// section is the title of the sidebar section an item is listed under.
func (it sidebarItem) section() string {
	switch {
	case it.flow != nil:
		return "Flows"
	case it.chat != nil:
		return "Chats"
	case it.eval:
		return "Evals"
	}
	return "Runs"
}

// Init implements tea.Model's first half; the sidebar needs no start-up command.
func (m RunsListModel) Init() tea.Cmd { return nil }

// Update moves the cursor, edits the filter and opens the selected run or flow.
func (m RunsListModel) Update(msg tea.Msg) (RunsListModel, tea.Cmd) {
	switch msg := msg.(type) {
	case FlowsLoadedMsg:
		m.SetFlows(msg.Flows)
	case tea.KeyPressMsg:
		if m.filtering {
			switch msg.String() {
			case "enter":
				m.filtering = false
			case "esc":
				m.filtering, m.filter = false, ""
			case "backspace":
				if r := []rune(m.filter); len(r) > 0 {
					m.filter = string(r[:len(r)-1])
				}
			default:
				if msg.Text != "" {
					m.filter += msg.Text
				}
			}
			m.refilter()
			return m, nil
		}
		switch {
		case key.Matches(msg, m.Keys.Up):
			m.cursor--
			m.clamp()
			return m, m.selectionCmd()
		case key.Matches(msg, m.Keys.Down):
			m.cursor++
			m.clamp()
			return m, tea.Batch(m.selectionCmd(), m.moreCmd())
		case key.Matches(msg, m.Keys.Open):
			if g := m.selectedChat(); g != nil {
				if f, ok := m.agentEntry(g.agentPath); ok {
					session := g.session
					return m, func() tea.Msg { return AgentOpenedMsg{Entry: f, Session: session} }
				}
				id := g.latest.ID // the agent's file is gone: its last turn is what is left
				return m, func() tea.Msg { return RunSelectedMsg{RunID: id} }
			}
			if id := m.SelectedRun(); id != "" {
				return m, func() tea.Msg { return RunSelectedMsg{RunID: id} }
			}
			if f, ok := m.SelectedFlow(); ok && f.AgentDef != nil {
				return m, func() tea.Msg { return AgentOpenedMsg{Entry: f} }
			}
			if f, ok := m.SelectedFlow(); ok {
				return m, func() tea.Msg { return FlowSelectedMsg{Entry: f, Open: true} }
			}
			return m, nil
		case key.Matches(msg, m.Keys.Filter):
			m.filtering = true
		case key.Matches(msg, m.Keys.Edit):
			if f, ok := m.SelectedFlow(); ok {
				edit := EditFileMsg{Path: f.Path, Line: errorLine(f.Err)}
				return m, func() tea.Msg { return edit }
			}
		case msg.String() == "esc":
			m.filter = ""
			m.refilter()
		}
	}
	return m, nil
}

// moreCmd asks for older runs when the cursor is within a screen of the last one listed and
// more may exist, so the next page is there before the cursor gets to the end.
func (m RunsListModel) moreCmd() tea.Cmd {
	if !m.more || m.filter != "" || len(m.items)-1-m.cursor > max(m.h, 1) {
		return nil
	}
	return func() tea.Msg { return MoreRunsMsg{} }
}

func (m RunsListModel) selectionCmd() tea.Cmd {
	if f, ok := m.SelectedFlow(); ok {
		return func() tea.Msg { return FlowSelectedMsg{Entry: f} }
	}
	return nil
}

// View renders the two sections, exactly the view's size.
func (m RunsListModel) View() string {
	var lines []string
	add := func(s string) { lines = append(lines, s) }
	switch {
	case m.filtering:
		add(m.theme.Accent.Render(fitText("/"+m.filter+"▏", m.w)))
	case m.filter != "":
		add(m.theme.Dim.Render(fitText("filter: "+m.filter+" (esc clears)", m.w)))
	}
	section, folder := "", ""
	for i := m.offset; i < len(m.items) && len(lines) < m.h; i++ {
		it := m.items[i]
		if s := it.section(); s != section {
			section = s
			add(m.theme.Title.Render(s))
		}
		if it.flow != nil && it.flow.Dir != folder { // a subfolder's files under its name
			folder = it.flow.Dir
			add(m.theme.Dim.Render(fitText(" "+folder+"/", m.w)))
		}
		add(m.itemLine(it, i == m.cursor))
	}
	if len(m.items) == 0 {
		add(m.theme.Dim.Render(fitText("no flows or runs here", m.w)))
	}
	if len(lines) > m.h {
		lines = lines[:m.h]
	}
	for i, l := range lines {
		lines[i] = l + strings.Repeat(" ", max(0, m.w-ansi.StringWidth(l)))
	}
	for len(lines) < m.h {
		lines = append(lines, strings.Repeat(" ", m.w))
	}
	return strings.Join(lines, "\n")
}

func (m RunsListModel) itemLine(it sidebarItem, selected bool) string {
	var text string
	style := m.theme.Text
	switch {
	case it.flow != nil && it.flow.Err != "":
		first, _, _ := strings.Cut(it.flow.Err, "\n")
		text = "✗ " + first
		style = m.theme.Error
	case it.flow != nil && it.flow.Agent:
		text = "◇ " + it.flow.Name + " (agent)"
	case it.flow != nil:
		text = "▸ " + it.flow.Name
	case it.chat != nil:
		g := it.chat
		turns := "1 turn"
		if g.turns > 1 {
			turns = fmt.Sprintf("%d turns", g.turns)
		}
		icon, when := statusIcon(string(g.latest.Status), 0), ago(m.now, g.latest.CreatedAt)
		text = chatRow(icon, g.name, sessionLabel(g.session, g.name), turns, when, m.w-2)
		style = m.theme.StatusStyle(string(g.latest.Status))
	case it.eval:
		text = m.evalLine(it.run, m.w-2)
		style = m.theme.StatusStyle(string(it.run.Status))
	default:
		r := it.run
		icon, when := statusIcon(string(r.Status), 0), ago(m.now, r.CreatedAt)
		text = fmt.Sprintf("%s %s %s %s", icon, r.FlowName, shortID(r.ID), when)
		if len([]rune(text)) > m.w-2 { // narrow: the id goes first (the open run's bar has it), then the name's end
			text = keepTail(icon+" "+r.FlowName, when, m.w-2)
		}
		style = m.theme.StatusStyle(string(r.Status))
	}
	if selected {
		text = fitText("› "+text, m.w)
		return m.theme.Selected.Render(text + strings.Repeat(" ", max(0, m.w-ansi.StringWidth(text))))
	}
	return style.Render(fitText("  "+text, m.w))
}

// shortID is a run id cut to a length that is still unique in practice and typeable.
func shortID(id string) string {
	if len(id) > 10 {
		return id[:10]
	}
	return id
}

// keepTail joins head and tail with a space in at most w cells, cutting head rather than tail
// (a row's age) while head keeps a few cells; "" tails add nothing.
func keepTail(head, tail string, w int) string {
	if tail == "" {
		return head
	}
	hw, tw := len([]rune(head)), len([]rune(tail))
	if hw+1+tw <= w || w-1-tw < 6 {
		return head + " " + tail
	}
	return fitText(head, w-1-tw) + " " + tail
}

// ago prints how long ago t was as an age, "7m ago", so that it does not read as a duration;
// "" when either time is unknown.
func ago(now, t time.Time) string {
	if a := age(now, t); a != "" {
		return a + " ago"
	}
	return ""
}

// age prints how long ago t was: 5s, 3m, 2h, 4d.
func age(now, t time.Time) string {
	if now.IsZero() || t.IsZero() {
		return ""
	}
	return ageOf(now.Sub(t))
}

// ageOf prints a duration as an age: 5s, 3m, 2h, 4d.
func ageOf(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", max(0, int(d.Seconds())))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh", int(d.Hours()))
	}
	return fmt.Sprintf("%dd", int(d.Hours()/24))
}

// flowRunsNote says, for a flow previewed with no run open, whether it has runs among those
// listed: "(not run; r runs it)", or how many (the runs of eval cases among them) and how the
// newest went.
func (m RunsListModel) flowRunsNote(path string) string {
	want, _ := filepath.Abs(path)
	n, byEval := 0, 0
	var latest *engine.RunInfo
	count := func(r *engine.RunInfo) bool {
		if got, _ := filepath.Abs(r.FlowPath); got != want {
			return false
		}
		if n++; latest == nil || r.CreatedAt.After(latest.CreatedAt) {
			latest = r
		}
		return true
	}
	for i := range m.runs {
		if r := &m.runs[i]; r.ParentRunID == "" {
			count(r)
		}
	}
	for _, r := range m.runs { // eval runs' cases, in the order the eval runs are listed
		sum := m.evals[r.ID]
		for i := range sum.cases {
			if count(&sum.cases[i]) {
				byEval++
			}
		}
	}
	if n == 0 {
		return "(not run; r runs it)"
	}
	runs := "1 run"
	if n > 1 {
		runs = fmt.Sprintf("%d runs", n)
		if m.more {
			runs = fmt.Sprintf("%d+ runs", n)
		}
	}
	switch {
	case byEval == n && n == 1:
		runs += " by an eval"
	case byEval == n:
		runs += " by evals"
	case byEval > 0:
		runs += fmt.Sprintf(", %d by evals", byEval)
	}
	when := ""
	if a := ago(m.now, latest.CreatedAt); a != "" {
		when = " " + a
	}
	return fmt.Sprintf("(%s, last %s %s%s; r runs it again)", runs, statusIcon(string(latest.Status), 0), latest.Status, when)
}
