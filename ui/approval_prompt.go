package ui

import (
	"fmt"
	"strings"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"
)

// ApprovalKeyMap are the approval prompt's keys.
type ApprovalKeyMap struct {
	Allow, AllowRun, Deny key.Binding
	// Focus moves to the prompt from a view that takes text (chat, editor, form, search).
	Focus key.Binding
}

// DefaultApprovalKeyMap is the approval prompt's default keymap.
var DefaultApprovalKeyMap = ApprovalKeyMap{
	Focus:    key.NewBinding(key.WithKeys("tab"), key.WithHelp("tab", "answer (while typing)")),
	Allow:    key.NewBinding(key.WithKeys("y"), key.WithHelp("y", "allow once")),
	AllowRun: key.NewBinding(key.WithKeys("A"), key.WithHelp("A", "allow for the rest of this run")),
	Deny:     key.NewBinding(key.WithKeys("n", "esc"), key.WithHelp("n/esc", "deny")),
}

// ShortHelp implements help.KeyMap.
func (k ApprovalKeyMap) ShortHelp() []key.Binding {
	return []key.Binding{k.Allow, k.AllowRun, k.Deny, k.Focus}
}

// FullHelp implements help.KeyMap.
func (k ApprovalKeyMap) FullHelp() [][]key.Binding { return [][]key.Binding{k.ShortHelp()} }

// ToolAnsweredMsg tells the app the person answered tool request ID: Allow it or not, and
// ForRun for every call of the tool in the rest of the request's run.
type ToolAnsweredMsg struct {
	ID            int
	Allow, ForRun bool
}

// maxCommandLines is as much of a command as the prompt shows; the rest is elided.
const maxCommandLines = 6

// ApprovalPromptModel asks the person whether an agent's tool call may run: the oldest
// pending request, who asks (agent, run, step) and exactly what it would run. It shows under
// the panes or the chat, which stay in view, and takes the keys while a request is pending.
type ApprovalPromptModel struct {
	Keys  ApprovalKeyMap
	theme Theme

	reqs     []ToolRequest
	answered map[int]bool // answered here but maybe still in a snapshot on its way
	w        int
	// focused is set once the person moved to the prompt from a view that takes text, so
	// letters typed there (a "y" in a chat message) never answer by accident.
	focused bool
}

// NewApprovalPrompt returns a prompt with nothing to ask.
func NewApprovalPrompt(theme Theme) ApprovalPromptModel {
	return ApprovalPromptModel{Keys: DefaultApprovalKeyMap, theme: theme, answered: map[int]bool{}}
}

// SetTheme changes the prompt's styles.
func (m *ApprovalPromptModel) SetTheme(t Theme) { m.theme = t }

// SetWidth sets the prompt's inner width in cells.
func (m *ApprovalPromptModel) SetWidth(w int) { m.w = max(w, 1) }

// SetRequests shows the pending requests, oldest first, leaving out those answered here.
func (m *ApprovalPromptModel) SetRequests(reqs []ToolRequest) {
	m.reqs = nil // a fresh list: copies of the model may share the old one
	seen := map[int]bool{}
	for _, r := range reqs {
		seen[r.ID] = true
		if !m.answered[r.ID] {
			m.reqs = append(m.reqs, r)
		}
	}
	if len(m.reqs) == 0 {
		m.focused = false
	}
	// The requests come in order: one left out of this list never comes back.
	for id := range m.answered {
		if !seen[id] {
			delete(m.answered, id)
		}
	}
}

// Asking reports whether a request is waiting for an answer.
func (m ApprovalPromptModel) Asking() bool { return len(m.reqs) > 0 }

// Focused reports whether the person moved to the prompt (its Focus key) to answer it.
func (m ApprovalPromptModel) Focused() bool { return m.focused && len(m.reqs) > 0 }

// Current returns the request the prompt asks about; ok is false when there is none.
func (m ApprovalPromptModel) Current() (ToolRequest, bool) {
	if len(m.reqs) == 0 {
		return ToolRequest{}, false
	}
	return m.reqs[0], true
}

// Update answers the current request on the prompt's keys, with a ToolAnsweredMsg.
func (m ApprovalPromptModel) Update(msg tea.Msg) (ApprovalPromptModel, tea.Cmd) {
	k, ok := msg.(tea.KeyPressMsg)
	if !ok || len(m.reqs) == 0 {
		return m, nil
	}
	cur := m.reqs[0]
	var ans ToolAnsweredMsg
	switch {
	case key.Matches(k, m.Keys.Focus):
		m.focused = true
		return m, nil
	case key.Matches(k, m.Keys.Allow):
		ans = ToolAnsweredMsg{ID: cur.ID, Allow: true}
	case key.Matches(k, m.Keys.AllowRun):
		ans = ToolAnsweredMsg{ID: cur.ID, Allow: true, ForRun: true}
	case key.Matches(k, m.Keys.Deny):
		ans = ToolAnsweredMsg{ID: cur.ID}
	default:
		return m, nil
	}
	m.answered[cur.ID] = true
	kept := m.reqs[:0:0]
	for _, r := range m.reqs[1:] {
		if ans.ForRun && cur.Call.RunID != "" && r.Call.RunID == cur.Call.RunID && r.Tool == cur.Tool {
			m.answered[r.ID] = true // the broker allows these with cur
			continue
		}
		kept = append(kept, r)
	}
	m.reqs = kept
	if len(kept) == 0 {
		m.focused = false
	}
	return m, func() tea.Msg { return ans }
}

// View renders the current request, to be boxed by the app; empty when nothing is asked.
func (m ApprovalPromptModel) View() string {
	cur, ok := m.Current()
	if !ok {
		return ""
	}
	var who []string
	if c := cur.Call; c.RunID != "" {
		if c.Agent != "" {
			who = append(who, "agent "+c.Agent)
		}
		who = append(who, "run "+c.RunID, "step "+c.StepID)
	}
	title := m.theme.Title.Render("Run " + cur.Tool + "?")
	if len(who) > 0 {
		title += m.theme.Dim.Render("  " + strings.Join(who, " · "))
	}
	if more := len(m.reqs) - 1; more > 0 {
		title += m.theme.Dim.Render(fmt.Sprintf("  (%d more waiting)", more))
	}
	lines := []string{ansi.Truncate(title, m.w, "…")}
	prefix := "  "
	if cur.Tool == "shell" {
		prefix = "$ "
	}
	cmd := strings.Split(ansi.Wrap(visible(cur.Command()), max(m.w-2, 1), " "), "\n")
	if len(cmd) > maxCommandLines {
		cmd = append(cmd[:maxCommandLines-1], fmt.Sprintf("… %d more lines", len(cmd)-maxCommandLines+1))
	}
	for i, l := range cmd {
		if i > 0 {
			prefix = "  "
		}
		lines = append(lines, m.theme.Accent.Render(prefix)+m.theme.Text.Render(l))
	}
	return strings.Join(lines, "\n")
}

// visible spells out the control characters of s (but newlines), so escape sequences in a
// command cannot hide what it does: the person sees exactly what would run.
func visible(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '\n':
			b.WriteRune(r)
		case r == '\t':
			b.WriteString("    ")
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0):
			fmt.Fprintf(&b, "\\x%02x", r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// approvalBar is the approval prompt as an overlay: a box under the body while a tool call
// waits for an answer. The app adds it when requests arrive and answers the broker on
// ToolAnsweredMsg.
type approvalBar struct {
	ApprovalPromptModel
	outer int // the box's width
}

// SetSize implements overlay: the box is w wide, as tall as its request.
func (b *approvalBar) SetSize(w, _ int) { b.outer = w; b.SetWidth(w - 2) }

// View renders the request in its box; empty when nothing is asked.
func (b *approvalBar) View() string {
	if !b.Asking() {
		return ""
	}
	return b.theme.Ask.Width(b.outer).Render(b.ApprovalPromptModel.View())
}

// takesKey lets a view that takes text keep its keys until the person moves to the
// prompt, so a "y" typed in a message never allows a command; ctrl+c is never the prompt's.
func (b *approvalBar) takesKey(k tea.KeyPressMsg, typingBelow bool) bool {
	return b.Asking() && k.String() != "ctrl+c" && (!typingBelow || b.Focused() || key.Matches(k, b.Keys.Focus))
}

func (b *approvalBar) handle(msg tea.Msg, _ overlayEnv) (tea.Cmd, bool) {
	var cmd tea.Cmd
	b.ApprovalPromptModel, cmd = b.Update(msg)
	return cmd, !b.Asking()
}

func (b *approvalBar) help() help.KeyMap     { return b.Keys }
func (b *approvalBar) traits() overlayTraits { return overlayTraits{bar: true} }
