package ui

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textarea"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"
)

// TextEditorKeyMap are the text editor's keys. Enter inserts a new line, so saving takes a
// modifier.
type TextEditorKeyMap struct {
	Save, Cancel, External key.Binding
}

// DefaultTextEditorKeyMap is the text editor's default keymap.
var DefaultTextEditorKeyMap = TextEditorKeyMap{
	Save:     key.NewBinding(key.WithKeys("ctrl+s", "alt+enter"), key.WithHelp("ctrl+s", "save")),
	Cancel:   key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "cancel")),
	External: key.NewBinding(key.WithKeys("ctrl+e"), key.WithHelp("ctrl+e", "open in $EDITOR")),
}

// ShortHelp implements help.KeyMap.
func (k TextEditorKeyMap) ShortHelp() []key.Binding {
	return []key.Binding{k.Save, k.External, k.Cancel}
}

// FullHelp implements help.KeyMap.
func (k TextEditorKeyMap) FullHelp() [][]key.Binding { return [][]key.Binding{k.ShortHelp()} }

// EditPurpose says what an edited text is for.
type EditPurpose int

// What the text editor edits.
const (
	EditRetryInput EditPurpose = iota // a step's input for a retry
	EditSkipOutput                    // the output a skipped step completes with
)

// TextSubmittedMsg carries the saved text of the editor to the app.
type TextSubmittedMsg struct {
	Purpose       EditPurpose
	RunID, StepID string
	Text          string
}

// TextCancelledMsg tells the app the editor was closed without saving.
type TextCancelledMsg struct{}

// externalEditedMsg brings back the text edited in $EDITOR.
type externalEditedMsg struct {
	text string
	err  error
}

// TextEditorModel edits a block of text for a step of a run: the input of a retry or the
// output of a skip. It saves with TextSubmittedMsg and cancels with TextCancelledMsg.
type TextEditorModel struct {
	Keys  TextEditorKeyMap
	theme Theme
	ta    textarea.Model

	purpose       EditPurpose
	runID, stepID string
	title, hint   string
	note          string // the last $EDITOR failure
	w, h          int
}

// NewTextEditor returns an editor for purpose on step stepID of run runID, holding text.
// title heads it; hint says what saving does.
func NewTextEditor(theme Theme, purpose EditPurpose, runID, stepID, title, hint, text string) TextEditorModel {
	ta := textarea.New()
	ta.ShowLineNumbers = false
	ta.Prompt = ""
	ta.CharLimit = 0
	ta.MaxHeight = 0
	ta.SetValue(text)
	ta.Focus()
	m := TextEditorModel{Keys: DefaultTextEditorKeyMap, ta: ta, purpose: purpose, runID: runID, stepID: stepID,
		title: title, hint: hint}
	m.SetTheme(theme)
	return m
}

// SetTheme changes the view's styles.
func (m *TextEditorModel) SetTheme(t Theme) {
	m.theme = t
	s := textarea.DefaultStyles(t.Dark)
	s.Focused.CursorLine = lipgloss.NewStyle()
	s.Focused.Placeholder = t.Dim
	s.Cursor.Blink = false // a steady cursor: no timer messages for the app to route
	m.ta.SetStyles(s)
}

// SetSize sets the view's size in cells.
func (m *TextEditorModel) SetSize(w, h int) {
	m.w, m.h = max(w, 1), max(h, 1)
	m.ta.SetWidth(m.w)
	m.ta.SetHeight(max(m.h-3, 1))
}

// Value returns the text being edited.
func (m TextEditorModel) Value() string { return m.ta.Value() }

// Init implements tea.Model's first half; the editor needs no start-up command.
func (m TextEditorModel) Init() tea.Cmd { return nil }

// Update edits the text, saves on ctrl+s, cancels on esc and hands the text to $EDITOR on
// ctrl+e.
func (m TextEditorModel) Update(msg tea.Msg) (TextEditorModel, tea.Cmd) {
	switch msg := msg.(type) {
	case externalEditedMsg:
		if msg.err != nil {
			m.note = "$EDITOR: " + msg.err.Error()
			return m, nil
		}
		m.note = ""
		m.ta.SetValue(msg.text)
		return m, nil
	case tea.KeyPressMsg:
		switch {
		case key.Matches(msg, m.Keys.Save):
			done := TextSubmittedMsg{Purpose: m.purpose, RunID: m.runID, StepID: m.stepID, Text: m.ta.Value()}
			return m, func() tea.Msg { return done }
		case key.Matches(msg, m.Keys.Cancel):
			return m, func() tea.Msg { return TextCancelledMsg{} }
		case key.Matches(msg, m.Keys.External):
			return m, editExternally(m.ta.Value())
		}
	}
	var cmd tea.Cmd
	m.ta, cmd = m.ta.Update(msg)
	return m, cmd
}

// editExternally suspends the workbench and edits text in $VISUAL or $EDITOR (vi without
// either), bringing the result back as externalEditedMsg.
func editExternally(text string) tea.Cmd {
	return func() tea.Msg {
		f, err := os.CreateTemp("", "tandem-edit-*.txt")
		if err != nil {
			return externalEditedMsg{err: err}
		}
		path := f.Name()
		_, werr := f.WriteString(text)
		if cerr := f.Close(); werr == nil {
			werr = cerr
		}
		if werr != nil {
			_ = os.Remove(path)
			return externalEditedMsg{err: werr}
		}
		c := editorCommand(path, 0)
		// ExecProcess's command yields the message that makes the program hand the terminal
		// over; its callback runs once the editor exits.
		return tea.ExecProcess(c, func(err error) tea.Msg {
			defer os.Remove(path)
			if err != nil {
				return externalEditedMsg{err: err}
			}
			b, err := os.ReadFile(path)
			return externalEditedMsg{text: strings.TrimSuffix(string(b), "\n"), err: err}
		})()
	}
}

// editorCommand is $VISUAL or $EDITOR (vi without either) on path, at line when it is not
// 0 (the +N argument vi, emacs, nano and most others read).
func editorCommand(path string, line int) *exec.Cmd {
	editor := os.Getenv("VISUAL")
	if editor == "" {
		editor = os.Getenv("EDITOR")
	}
	args := strings.Fields(editor)
	if len(args) == 0 {
		args = []string{"vi"}
	}
	if line > 0 {
		args = append(args, "+"+strconv.Itoa(line))
	}
	return exec.Command(args[0], append(args[1:], path)...) //nolint:gosec // the user's own editor
}

// editFile suspends the workbench and opens a workspace file in the editor; the watch
// lists it again when it is saved.
func editFile(msg EditFileMsg) tea.Cmd {
	return tea.ExecProcess(editorCommand(msg.Path, msg.Line), func(err error) tea.Msg {
		if err != nil {
			return infoMsg{err: fmt.Errorf("edit %s: %w", msg.Path, err)}
		}
		return infoMsg{text: "edited " + msg.Path}
	})
}

// View renders the title, what saving does and the text area.
func (m TextEditorModel) View() string {
	title := fitText(m.title, m.w)
	hint := m.hint
	hintStyle := m.theme.Dim
	if m.note != "" {
		hint, hintStyle = m.note, m.theme.Error
	}
	hint = fitText(hint, m.w)
	return m.theme.Title.Render(title) + strings.Repeat(" ", max(0, m.w-ansi.StringWidth(title))) + "\n" +
		hintStyle.Render(hint) + "\n\n" + m.ta.View()
}

// handle implements overlay: the editor takes text; saving retries the step with it as its
// input, or skips the step with it as its output.
func (m *TextEditorModel) handle(msg tea.Msg, env overlayEnv) (tea.Cmd, bool) {
	switch msg := msg.(type) {
	case TextCancelledMsg:
		return nil, true
	case TextSubmittedMsg:
		if msg.Purpose == EditSkipOutput {
			env.info("skipping " + msg.StepID + " with a manual output")
			return skipStep(env.exec, env.eng, msg.RunID, msg.StepID, msg.Text), true
		}
		env.info("retrying " + msg.StepID + " with an edited input")
		return retryStep(env.exec, env.eng, msg.RunID, msg.StepID, msg.Text), true
	}
	var cmd tea.Cmd
	*m, cmd = m.Update(msg)
	return cmd, false
}

func (m *TextEditorModel) help() help.KeyMap     { return m.Keys }
func (m *TextEditorModel) traits() overlayTraits { return overlayTraits{typing: true} }
