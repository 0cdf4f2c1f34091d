package ui

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"tandem/flows"
)

// FormKeyMap are a form's keys.
type FormKeyMap struct {
	Next, Prev key.Binding
	Enter      key.Binding
	Submit     key.Binding
	Cancel     key.Binding
}

// DefaultFormKeyMap is a form's default keymap.
var DefaultFormKeyMap = FormKeyMap{
	Next:   key.NewBinding(key.WithKeys("tab", "down"), key.WithHelp("tab/↓", "next field")),
	Prev:   key.NewBinding(key.WithKeys("shift+tab", "up"), key.WithHelp("shift+tab/↑", "previous field")),
	Enter:  key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "next, submit on the last")),
	Submit: key.NewBinding(key.WithKeys("ctrl+s"), key.WithHelp("ctrl+s", "submit")),
	Cancel: key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "cancel")),
}

// ShortHelp implements help.KeyMap.
func (k FormKeyMap) ShortHelp() []key.Binding {
	return []key.Binding{k.Next, k.Enter, k.Submit, k.Cancel}
}

// FullHelp implements help.KeyMap.
func (k FormKeyMap) FullHelp() [][]key.Binding {
	return [][]key.Binding{{k.Next, k.Prev}, {k.Enter, k.Submit, k.Cancel}}
}

// FormPurpose says what a form's values are for.
type FormPurpose int

// What a form asks for.
const (
	FormRunInputs FormPurpose = iota // a flow's inputs, to start a run
	FormSignal                       // an event and its data, to signal a run
	FormFork                         // a run's inputs, changed to fork it
)

// FormField is one labelled line of a form.
type FormField struct {
	Name  string
	Hint  string // the value's type and what it is for, shown beside the name
	Value string // the initial value
	// Secret fields echo bullets, so a token typed into the form is not on the screen.
	Secret bool
}

// FormSubmittedMsg carries a form's values, by field name, to the app. The app checks them
// and either closes the form or shows what is wrong with SetError.
type FormSubmittedMsg struct {
	Purpose FormPurpose
	Values  map[string]string
}

// FormCancelledMsg tells the app the form was closed without submitting.
type FormCancelledMsg struct{}

// FormModel is a small form of one-line fields, for a flow's inputs or a signal.
type FormModel struct {
	Keys  FormKeyMap
	theme Theme

	purpose FormPurpose
	title   string
	fields  []FormField
	inputs  []textinput.Model
	focus   int
	err     string
	note    string // what submitting will do, kept up to date by the app
	w, h    int
}

// NewForm returns a form titled title with fields, the first one focused.
func NewForm(theme Theme, purpose FormPurpose, title string, fields []FormField) FormModel {
	m := FormModel{Keys: DefaultFormKeyMap, purpose: purpose, title: title, fields: fields}
	for _, f := range fields {
		in := textinput.New()
		in.Prompt = "› "
		in.CharLimit = 0
		in.SetValue(f.Value)
		if f.Secret {
			in.EchoMode = textinput.EchoPassword
		}
		m.inputs = append(m.inputs, in)
	}
	m.SetTheme(theme)
	m.setFocus(0)
	return m
}

// SetTheme changes the view's styles.
func (m *FormModel) SetTheme(t Theme) {
	m.theme = t
	s := textinput.DefaultStyles(t.Dark)
	s.Focused.Prompt = t.Accent
	s.Cursor.Blink = false // a steady cursor: no timer messages for the app to route
	for i := range m.inputs {
		m.inputs[i].SetStyles(s)
	}
}

// SetSize sets the view's size in cells.
func (m *FormModel) SetSize(w, h int) {
	m.w, m.h = max(w, 1), max(h, 1)
	for i := range m.inputs {
		m.inputs[i].SetWidth(max(m.w-4, 1))
	}
}

// SetError shows why the values were refused, followed by hint, and focuses the first field
// with a problem when err lists each input's (a *flows.InputError).
func (m *FormModel) SetError(err error, hint string) {
	m.err = err.Error() + hint
	var ie *flows.InputError
	if !errors.As(err, &ie) {
		return
	}
	for _, p := range ie.Problems {
		for i, f := range m.fields {
			if f.Name == p.Input {
				m.setFocus(i)
				return
			}
		}
	}
}

// SetNote shows what submitting the values will do, under the fields.
func (m *FormModel) SetNote(s string) { m.note = s }

// Values returns the fields' values by name, as they are now.
func (m FormModel) Values() map[string]string {
	out := map[string]string{}
	for i, f := range m.fields {
		out[f.Name] = m.inputs[i].Value()
	}
	return out
}

// Err returns the message SetError showed, "" when none.
func (m FormModel) Err() string { return m.err }

// Purpose says what the form's values are for.
func (m FormModel) Purpose() FormPurpose { return m.purpose }

func (m *FormModel) setFocus(i int) {
	if len(m.inputs) == 0 {
		return
	}
	m.focus = (i + len(m.inputs)) % len(m.inputs)
	for j := range m.inputs {
		if j == m.focus {
			m.inputs[j].Focus()
			m.inputs[j].CursorEnd()
		} else {
			m.inputs[j].Blur()
		}
	}
}

// Init implements tea.Model's first half; the form needs no start-up command.
func (m FormModel) Init() tea.Cmd { return nil }

// Update edits the focused field, moves between fields, submits and cancels.
func (m FormModel) Update(msg tea.Msg) (FormModel, tea.Cmd) {
	if k, ok := msg.(tea.KeyPressMsg); ok {
		switch {
		case key.Matches(k, m.Keys.Cancel):
			return m, func() tea.Msg { return FormCancelledMsg{} }
		case key.Matches(k, m.Keys.Submit),
			key.Matches(k, m.Keys.Enter) && m.focus == len(m.inputs)-1:
			return m, m.submit()
		case key.Matches(k, m.Keys.Next), key.Matches(k, m.Keys.Enter):
			m.setFocus(m.focus + 1)
			return m, nil
		case key.Matches(k, m.Keys.Prev):
			m.setFocus(m.focus - 1)
			return m, nil
		}
	}
	if len(m.inputs) == 0 {
		return m, nil
	}
	var cmd tea.Cmd
	m.inputs[m.focus], cmd = m.inputs[m.focus].Update(msg)
	return m, cmd
}

func (m FormModel) submit() tea.Cmd {
	done := FormSubmittedMsg{Purpose: m.purpose, Values: m.Values()}
	return func() tea.Msg { return done }
}

// View renders the title, each field under its label, and the last refusal.
func (m FormModel) View() string {
	line := func(s string) string {
		s = fitText(s, m.w)
		return s + strings.Repeat(" ", max(0, m.w-ansi.StringWidth(s)))
	}
	var b strings.Builder
	b.WriteString(m.theme.Title.Render(line(m.title)))
	for i, f := range m.fields {
		b.WriteString("\n\n")
		label := m.theme.Text
		if i == m.focus {
			label = m.theme.Accent
		}
		b.WriteString(label.Render(fitText(f.Name, m.w)))
		if f.Hint != "" {
			b.WriteString(m.theme.Dim.Render(fitText("  "+f.Hint, max(m.w-ansi.StringWidth(f.Name), 0))))
		}
		b.WriteString("\n  ")
		b.WriteString(m.inputs[i].View())
	}
	if m.note != "" {
		b.WriteString("\n\n")
		b.WriteString(m.theme.Dim.Render(ansi.Hardwrap(ansi.Wordwrap(m.note, m.w, " ,"), m.w, true)))
	}
	if m.err != "" {
		b.WriteString("\n\n")
		wrapped := ansi.Hardwrap(ansi.Wordwrap(m.err, m.w, ""), m.w, true)
		b.WriteString(m.theme.Error.Render(wrapped))
	}
	return b.String()
}

// inputFields are a flow's inputs as form fields, prefilled with the values of prev (the
// inputs of the run shown, when it ran this flow) or else their defaults.
func inputFields(f *flows.Flow, prev map[string]any) []FormField {
	fields := make([]FormField, 0, len(f.Inputs))
	for _, in := range f.Inputs {
		typ := in.Type
		if typ == "" {
			typ = "string"
		}
		hint := []string{typ}
		if in.Required {
			hint = append(hint, "required")
		}
		if len(in.Enum) > 0 {
			vals := make([]string, len(in.Enum))
			for i, e := range in.Enum {
				vals[i] = formatInput(e)
			}
			hint = append(hint, "one of "+strings.Join(vals, ", "))
		}
		if in.Description != "" {
			hint = append(hint, in.Description)
		}
		v := ""
		if p, ok := prev[in.Name]; ok && !in.Secret { // a logged secret is only flows.Redacted
			v = formatInput(p)
		} else if in.HasDefault {
			v = formatInput(in.Default)
		}
		if in.Secret {
			hint = append([]string{"secret"}, hint...)
		}
		fields = append(fields, FormField{Name: in.Name, Hint: strings.Join(hint, " · "), Value: v, Secret: in.Secret})
	}
	return fields
}

// formatInput writes a typed value the way flows.ResolveInputs reads it back.
func formatInput(v any) string {
	switch t := v.(type) {
	case nil:
		return ""
	case string:
		return t
	case float64:
		return strconv.FormatFloat(t, 'f', -1, 64)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// resolveFormInputs types a run-inputs form's values by the flow's inputs. An empty field
// counts as not given, so its default applies.
func resolveFormInputs(f *flows.Flow, values map[string]string) (map[string]any, error) {
	given := map[string]string{}
	for k, v := range values {
		if strings.TrimSpace(v) != "" {
			given[k] = v
		}
	}
	return flows.ResolveInputs(f, given)
}

// signalFields are the fields of a signal form: the event, prefilled with what the
// selected step waits for, and optional JSON data.
func signalFields(event string) []FormField {
	return []FormField{
		{Name: "event", Hint: "the event's name, as a wait step names it", Value: event},
		{Name: "data", Hint: "optional JSON the waiting step receives as its output"},
	}
}

// parseSignal checks a signal form's values: an event name, and data that is empty or JSON.
func parseSignal(values map[string]string) (event string, data []byte, err error) {
	event = strings.TrimSpace(values["event"])
	if event == "" {
		return "", nil, &flows.InputError{Problems: []flows.InputProblem{{Input: "event",
			Message: fmt.Sprintf("field %q: name the event to send", "event")}}}
	}
	if d := strings.TrimSpace(values["data"]); d != "" {
		if !json.Valid([]byte(d)) {
			return "", nil, &flows.InputError{Problems: []flows.InputProblem{{Input: "data",
				Message: fmt.Sprintf("field %q: %q is not JSON; quote a string (\"text\") or leave it empty", "data", d)}}}
		}
		data = []byte(d)
	}
	return event, data, nil
}
