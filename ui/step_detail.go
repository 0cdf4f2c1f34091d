package ui

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/viewport"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"tandem/engine"
)

// StepDetailKeyMap are the step detail's keys.
type StepDetailKeyMap struct {
	Up, Down, PageUp, PageDown key.Binding
	Top, Bottom                key.Binding
	Close                      key.Binding
}

// DefaultStepDetailKeyMap is the step detail's default keymap.
var DefaultStepDetailKeyMap = StepDetailKeyMap{
	Up:       key.NewBinding(key.WithKeys("up", "k"), key.WithHelp("↑/k", "scroll up")),
	Down:     key.NewBinding(key.WithKeys("down", "j"), key.WithHelp("↓/j", "scroll down")),
	PageUp:   key.NewBinding(key.WithKeys("pgup", "b"), key.WithHelp("pgup/b", "page up")),
	PageDown: key.NewBinding(key.WithKeys("pgdown", "f", "space"), key.WithHelp("pgdn/f", "page down")),
	Top:      key.NewBinding(key.WithKeys("g", "home"), key.WithHelp("g", "top")),
	Bottom:   key.NewBinding(key.WithKeys("G", "end"), key.WithHelp("G", "bottom")),
	Close:    key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "close")),
}

// ShortHelp implements help.KeyMap.
func (k StepDetailKeyMap) ShortHelp() []key.Binding {
	return []key.Binding{k.Up, k.Down, k.PageDown, k.Close}
}

// FullHelp implements help.KeyMap.
func (k StepDetailKeyMap) FullHelp() [][]key.Binding {
	return [][]key.Binding{{k.Up, k.Down, k.PageUp, k.PageDown}, {k.Top, k.Bottom, k.Close}}
}

// StepDetailClosedMsg tells the app the step detail was closed.
type StepDetailClosedMsg struct{}

// StepDetailModel shows everything the log says about one step of a run: its input after
// templating, its output, and every attempt with its idempotency key, exit code, error and
// stderr tail. It renders when the step changes, not on every View.
type StepDetailModel struct {
	Keys  StepDetailKeyMap
	theme Theme
	vp    viewport.Model

	runID, kind string
	step        engine.StepState
	w, h        int
}

// NewStepDetail returns an empty step detail.
func NewStepDetail(theme Theme) StepDetailModel {
	vp := viewport.New()
	vp.KeyMap = viewport.KeyMap{} // the detail's own keymap drives it, so the help bar is true
	return StepDetailModel{Keys: DefaultStepDetailKeyMap, theme: theme, vp: vp}
}

// SetTheme changes the view's styles.
func (m *StepDetailModel) SetTheme(t Theme) { m.theme = t; m.render() }

// SetSize sets the view's size in cells.
func (m *StepDetailModel) SetSize(w, h int) {
	m.w, m.h = max(w, 1), max(h, 1)
	m.vp.SetWidth(m.w)
	m.vp.SetHeight(max(m.h-1, 1))
	m.render()
}

// SetStep shows step st of run runID; kind is the step's kind from its flow ("" when
// unknown). Calling it again with the same step refreshes it and keeps the scroll position.
func (m *StepDetailModel) SetStep(runID, kind string, st *engine.StepState) {
	same := runID == m.runID && st != nil && st.ID == m.step.ID
	m.runID, m.kind = runID, kind
	m.step = engine.StepState{}
	if st != nil {
		m.step = *st
		m.step.Attempts = append([]engine.Attempt(nil), st.Attempts...)
	}
	off := m.vp.YOffset()
	m.render()
	if same {
		m.vp.SetYOffset(off)
	} else {
		m.vp.GotoTop()
	}
}

// Step returns the id of the step shown.
func (m StepDetailModel) Step() string { return m.step.ID }

// Init implements tea.Model's first half; the detail needs no start-up command.
func (m StepDetailModel) Init() tea.Cmd { return nil }

// Update scrolls, and closes on esc.
func (m StepDetailModel) Update(msg tea.Msg) (StepDetailModel, tea.Cmd) {
	k, ok := msg.(tea.KeyPressMsg)
	if !ok {
		return m, nil
	}
	switch {
	case key.Matches(k, m.Keys.Up):
		m.vp.ScrollUp(1)
	case key.Matches(k, m.Keys.Down):
		m.vp.ScrollDown(1)
	case key.Matches(k, m.Keys.PageUp):
		m.vp.PageUp()
	case key.Matches(k, m.Keys.PageDown):
		m.vp.PageDown()
	case key.Matches(k, m.Keys.Top):
		m.vp.GotoTop()
	case key.Matches(k, m.Keys.Bottom):
		m.vp.GotoBottom()
	case key.Matches(k, m.Keys.Close):
		return m, func() tea.Msg { return StepDetailClosedMsg{} }
	}
	return m, nil
}

// View renders a title line and the visible part of the detail.
func (m StepDetailModel) View() string {
	title := "step " + m.step.ID
	if m.step.ID == "" {
		title = "no step selected"
	}
	if n := m.vp.TotalLineCount(); n > m.vp.Height() {
		title += fmt.Sprintf(" · %d%%", int(m.vp.ScrollPercent()*100))
	}
	title = fitText(title, m.w)
	return m.theme.Title.Render(title) + strings.Repeat(" ", max(0, m.w-ansi.StringWidth(title))) + "\n" + m.vp.View()
}

// render rebuilds the detail's lines, wrapped to the view's width.
func (m *StepDetailModel) render() {
	if m.w == 0 {
		return
	}
	var lines []string
	add := func(style lipgloss.Style, s string) {
		// Wrapped lines hang under the first one's indent, so blocks stay readable.
		body := strings.TrimLeft(s, " ")
		indent := strings.Repeat(" ", min(len(s)-len(body), m.w/2))
		w := max(m.w-len(indent), 1)
		for _, l := range strings.Split(ansi.Hardwrap(ansi.Wordwrap(body, w, ""), w, true), "\n") {
			lines = append(lines, style.Render(indent+l))
		}
	}
	text, dim, title := m.theme.Text, m.theme.Dim, m.theme.Title
	field := func(name, value string) {
		if value != "" {
			add(text, fmt.Sprintf("  %-9s %s", name, value))
		}
	}
	block := func(style lipgloss.Style, s string) {
		for _, l := range strings.Split(strings.TrimRight(cleanText(s), "\n"), "\n") {
			add(style, "    "+l)
		}
	}
	st := m.step
	if st.ID == "" {
		m.vp.SetContentLines([]string{dim.Render("select a step in the DAG, then press d")})
		return
	}
	status := m.theme.StatusStyle(string(st.Status))
	kind := m.kind
	if kind == "" {
		kind = "step"
	}
	add(status, fmt.Sprintf("%s %s · %s · %s", statusIcon(string(st.Status), 0), st.ID, kind, st.Status))
	field("run", m.runID)
	if st.Parent != "" {
		item, _ := json.Marshal(st.Item)
		field("item", fmt.Sprintf("%d of %s: %s", st.Index, st.Parent, clip(string(item), 200)))
	}
	if st.Items > 0 {
		field("items", fmt.Sprint(st.Items))
	}
	field("child run", st.ChildRunID)
	field("skipped", st.SkipReason)
	if w := st.Waiting; w != nil {
		field("waiting", strings.TrimSpace(w.Kind+" "+w.Prompt+" "+strings.Join(w.Events, ", ")))
	}
	if st.Tokens.Prompt+st.Tokens.Output > 0 {
		field("tokens", fmt.Sprintf("%d prompt, %d output", st.Tokens.Prompt, st.Tokens.Output))
	}
	if st.Manual {
		field("output", "set by hand (skip with a manual output)")
	}
	if st.InputOverride != "" {
		field("next input", "edited for the next attempt:")
		block(text, st.InputOverride)
	}

	lines = append(lines, "")
	add(title, fmt.Sprintf("Attempts (%d)", len(st.Attempts)))
	if len(st.Attempts) == 0 {
		add(dim, "  none yet")
	}
	for i, a := range st.Attempts {
		parts := []string{fmt.Sprintf("#%d %s", a.N, a.Status)}
		if a.ExitCode != nil {
			parts = append(parts, fmt.Sprintf("exit %d", *a.ExitCode))
		}
		if !a.EndedAt.IsZero() || a.Duration > 0 {
			parts = append(parts, formatDuration(a.Duration))
		}
		add(m.theme.StatusStyle(string(a.Status)), "  "+statusIcon(string(a.Status), 0)+" "+strings.Join(parts, " · "))
		field("key", a.Key)
		if !a.StartedAt.IsZero() {
			field("started", a.StartedAt.UTC().Format("2006-01-02 15:04:05.000"))
		}
		field("reason", a.Reason)
		if a.Error != "" {
			add(m.theme.Error, fmt.Sprintf("  %-9s %s", "error", a.Error))
		}
		// An attempt's input is shown when it differs from the latest, as after an edited retry.
		if i < len(st.Attempts)-1 && a.Input != "" && a.Input != st.Attempts[len(st.Attempts)-1].Input {
			add(text, "  input")
			block(text, clip(a.Input, 4000))
		}
		if a.StderrTail != "" {
			add(text, "  stderr")
			block(m.theme.Stderr, a.StderrTail)
		}
	}

	lines = append(lines, "")
	input := ""
	if a := st.LastAttempt(); a != nil {
		input = a.Input
	}
	if len(st.Attempts) > 1 {
		add(title, fmt.Sprintf("Input (attempt %d)", st.LastAttempt().N))
	} else {
		add(title, "Input")
	}
	if input == "" {
		add(dim, "  none recorded")
	} else {
		block(text, input)
	}

	lines = append(lines, "")
	add(title, "Output")
	if st.Output == "" {
		add(dim, "  none")
	} else {
		block(text, prettyJSON(st.Output))
	}
	m.vp.SetContentLines(lines)
}

// prettyJSON indents s when it is a JSON object or array, and returns it as is otherwise.
func prettyJSON(s string) string {
	t := strings.TrimSpace(s)
	if !strings.HasPrefix(t, "{") && !strings.HasPrefix(t, "[") {
		return s
	}
	var b bytes.Buffer
	if json.Indent(&b, []byte(t), "", "  ") != nil {
		return s
	}
	return b.String()
}

// handle implements overlay: keys scroll, esc closes.
func (m *StepDetailModel) handle(msg tea.Msg, _ overlayEnv) (tea.Cmd, bool) {
	if _, ok := msg.(StepDetailClosedMsg); ok {
		return nil, true
	}
	var cmd tea.Cmd
	*m, cmd = m.Update(msg)
	return cmd, false
}

func (m *StepDetailModel) help() help.KeyMap     { return m.Keys }
func (m *StepDetailModel) traits() overlayTraits { return overlayTraits{} }

// runChanged shows the step's latest state when it changed.
func (m *StepDetailModel) runChanged(r *openRun, steps map[string]bool) {
	if st := r.step(m.step.ID); st != nil && steps[m.step.ID] {
		m.SetStep(r.id, r.stepKind(st), st)
	}
}
