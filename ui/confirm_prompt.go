package ui

import (
	"strings"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"
)

// ConfirmKeyMap are the confirmation line's keys.
type ConfirmKeyMap struct {
	Confirm, Cancel key.Binding
	// Alt answers yes with the other action Offer offered; disabled when none is.
	Alt key.Binding
}

// DefaultConfirmKeyMap is the confirmation line's default keymap.
var DefaultConfirmKeyMap = ConfirmKeyMap{
	Confirm: key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "confirm")),
	Cancel:  key.NewBinding(key.WithKeys("esc", "ctrl+c"), key.WithHelp("esc", "cancel")),
	Alt:     key.NewBinding(key.WithDisabled()),
}

// ShortHelp implements help.KeyMap.
func (k ConfirmKeyMap) ShortHelp() []key.Binding { return []key.Binding{k.Confirm, k.Alt, k.Cancel} }

// FullHelp implements help.KeyMap.
func (k ConfirmKeyMap) FullHelp() [][]key.Binding { return [][]key.Binding{k.ShortHelp()} }

// confirmAction names the state change a confirmation line asks about.
type confirmAction int

const (
	confirmApprove confirmAction = iota + 1
	confirmReject
	confirmCancel
	confirmRetry
	confirmFork
	confirmRetryReload
)

// ConfirmedMsg tells the app the person confirmed the action, with the comment typed (for
// an approval or a rejection).
type ConfirmedMsg struct {
	action        confirmAction
	RunID, StepID string
	Comment       string
}

// ConfirmCancelledMsg tells the app the person declined.
type ConfirmCancelledMsg struct{}

// ConfirmModel is the one-line question a key that changes a run asks before it does:
// "approve review of run 01J…? comment: …". It sits above the status bar and takes every key
// while it asks, so letters typed by mistake are a comment or nothing, never an action.
type ConfirmModel struct {
	Keys  ConfirmKeyMap
	theme Theme

	action        confirmAction
	alt           confirmAction // the other yes, on Keys.Alt; 0 for none
	runID, stepID string
	question      string
	comment       bool // an optional comment can be typed
	input         textinput.Model
	w             int
}

// NewConfirm returns a confirmation line that asks nothing yet.
func NewConfirm(theme Theme) ConfirmModel {
	in := textinput.New()
	in.Prompt = ""
	in.Placeholder = "optional comment"
	in.CharLimit = 500
	m := ConfirmModel{Keys: DefaultConfirmKeyMap, input: in}
	m.SetTheme(theme)
	return m
}

// SetTheme changes the line's styles.
func (m *ConfirmModel) SetTheme(t Theme) {
	m.theme = t
	s := textinput.DefaultStyles(t.Dark)
	s.Cursor.Blink = false
	s.Focused.Placeholder = t.Dim
	m.input.SetStyles(s)
}

// SetWidth sets the line's width in cells.
func (m *ConfirmModel) SetWidth(w int) { m.w = max(w, 1) }

// Ask starts asking question about action on step stepID of run runID; with comment an
// optional comment can be typed before confirming.
func (m *ConfirmModel) Ask(action confirmAction, runID, stepID, question string, comment bool) {
	m.action, m.runID, m.stepID, m.question, m.comment = action, runID, stepID, question, comment
	m.input.Reset()
	if comment {
		m.input.Focus()
	} else {
		m.input.Blur()
	}
	m.Keys.Confirm.SetHelp("enter", "yes, "+strings.SplitN(question, " ", 2)[0])
	m.alt = 0
	m.Keys.Alt = key.NewBinding(key.WithDisabled())
}

// Offer adds a second way to say yes, on key k, described by help: Ask asked about the
// first. It lasts until the next Ask.
func (m *ConfirmModel) Offer(a confirmAction, k, help string) {
	m.alt = a
	m.Keys.Alt = key.NewBinding(key.WithKeys(k), key.WithHelp(k, help))
}

// Asking reports whether the line waits for an answer.
func (m ConfirmModel) Asking() bool { return m.action != 0 }

// Update confirms on enter, declines on esc and edits the comment; other keys do nothing.
func (m ConfirmModel) Update(msg tea.Msg) (ConfirmModel, tea.Cmd) {
	if !m.Asking() {
		return m, nil
	}
	if k, ok := msg.(tea.KeyPressMsg); ok {
		switch {
		case key.Matches(k, m.Keys.Confirm):
			done := ConfirmedMsg{action: m.action, RunID: m.runID, StepID: m.stepID, Comment: strings.TrimSpace(m.input.Value())}
			m.action = 0
			return m, func() tea.Msg { return done }
		case key.Matches(k, m.Keys.Cancel):
			m.action = 0
			return m, func() tea.Msg { return ConfirmCancelledMsg{} }
		case m.alt != 0 && key.Matches(k, m.Keys.Alt):
			done := ConfirmedMsg{action: m.alt, RunID: m.runID, StepID: m.stepID}
			m.action = 0
			return m, func() tea.Msg { return done }
		}
	}
	if !m.comment {
		return m, nil
	}
	var cmd tea.Cmd
	m.input, cmd = m.input.Update(msg)
	return m, cmd
}

// View renders the question, and the comment field when there is one, in one line.
func (m ConfirmModel) View() string {
	q := " " + m.question + " "
	line := m.theme.Accent.Bold(true).Render(fitText(q, m.w))
	used := min(ansi.StringWidth(q), m.w)
	if m.comment && m.w-used > 12 {
		m.input.SetWidth(m.w - used - 11)
		line += m.theme.Dim.Render("comment: ") + m.input.View()
	}
	return fitLine(line, m.w)
}

// fitLine cuts or pads a styled line to exactly w cells.
func fitLine(s string, w int) string {
	s = ansi.Truncate(s, w, "")
	return s + strings.Repeat(" ", max(0, w-ansi.StringWidth(s)))
}

// SetSize implements overlay: the line is w wide whatever h is.
func (m *ConfirmModel) SetSize(w, _ int) { m.SetWidth(w) }

// handle implements overlay: it takes every key while it asks, and closes once answered
// (the app acts on ConfirmedMsg).
func (m *ConfirmModel) handle(msg tea.Msg, _ overlayEnv) (tea.Cmd, bool) {
	var cmd tea.Cmd
	*m, cmd = m.Update(msg)
	return cmd, !m.Asking()
}

func (m *ConfirmModel) help() help.KeyMap { return m.Keys }
func (m *ConfirmModel) traits() overlayTraits {
	return overlayTraits{bar: true, typing: m.comment, allKeys: true}
}
