package ui

import (
	"fmt"
	"strings"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"tandem/engine"
)

// RunDiffKeyMap are the run diff's keys.
type RunDiffKeyMap struct {
	Up, Down key.Binding
	NextDiff key.Binding
	Choose   key.Binding
	Close    key.Binding
}

// DefaultRunDiffKeyMap is the run diff's default keymap.
var DefaultRunDiffKeyMap = RunDiffKeyMap{
	Up:       key.NewBinding(key.WithKeys("up", "k"), key.WithHelp("↑/k", "up")),
	Down:     key.NewBinding(key.WithKeys("down", "j"), key.WithHelp("↓/j", "down")),
	NextDiff: key.NewBinding(key.WithKeys("n"), key.WithHelp("n", "next difference")),
	Choose:   key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "compare with this run")),
	Close:    key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "close")),
}

// ShortHelp implements help.KeyMap.
func (k RunDiffKeyMap) ShortHelp() []key.Binding {
	return []key.Binding{k.Up, k.Down, k.NextDiff, k.Choose, k.Close}
}

// FullHelp implements help.KeyMap.
func (k RunDiffKeyMap) FullHelp() [][]key.Binding {
	return [][]key.Binding{{k.Up, k.Down, k.NextDiff}, {k.Choose, k.Close}}
}

// RunDiffPickedMsg asks the app to compare run A with run B.
type RunDiffPickedMsg struct{ A, B string }

// RunDiffClosedMsg tells the app the run diff was closed.
type RunDiffClosedMsg struct{}

// RunDiffModel compares the open run with another run of the same flow: first a list of
// the other runs to pick from, then a table of every step's status in both with the line
// diff of the selected differing step's outputs.
type RunDiffModel struct {
	Keys  RunDiffKeyMap
	theme Theme

	runA    string
	flow    string
	choices []engine.RunInfo
	pick    int

	runB   string
	inputs []engine.InputDiff // the inputs that differ, shown first
	rows   []engine.StepDiff
	sel    int
	top    int // the first table row shown
	edits  []engine.LineEdit
	loaded bool
	err    string
	w, h   int
}

// NewRunDiff offers the runs of flow other than runA (the open run) to compare it with.
func NewRunDiff(theme Theme, runA, flow string, runs []engine.RunInfo) RunDiffModel {
	m := RunDiffModel{Keys: DefaultRunDiffKeyMap, theme: theme, runA: runA, flow: flow}
	m.Keys.NextDiff.SetEnabled(false) // until there is a comparison
	for _, r := range runs {
		if r.FlowName == flow && r.ID != runA {
			m.choices = append(m.choices, r)
		}
	}
	return m
}

// SetTheme changes the view's styles.
func (m *RunDiffModel) SetTheme(t Theme) { m.theme = t }

// SetSize sets the view's size in cells.
func (m *RunDiffModel) SetSize(w, h int) {
	m.w, m.h = max(w, 1), max(h, 1)
	m.scroll()
}

// Choices returns how many runs there are to compare with.
func (m RunDiffModel) Choices() int { return len(m.choices) }

// SetDiff shows the comparison of runA with runB, selecting the first differing step.
func (m *RunDiffModel) SetDiff(runB string, rows []engine.StepDiff, err error) {
	m.runB, m.rows, m.loaded, m.sel, m.top = runB, rows, true, 0, 0
	m.Keys.Choose.SetEnabled(false)
	m.Keys.NextDiff.SetEnabled(true)
	m.err = ""
	if err != nil {
		m.err = err.Error()
	}
	for i, r := range rows {
		if !r.Equal {
			m.sel = i
			break
		}
	}
	m.selectRow(m.sel)
}

// SetInputs shows the inputs that differ between the runs, above the steps.
func (m *RunDiffModel) SetInputs(in []engine.InputDiff) { m.inputs = in }

// Rows returns the comparison shown, one row per step.
func (m RunDiffModel) Rows() []engine.StepDiff { return m.rows }

func (m *RunDiffModel) selectRow(i int) {
	if len(m.rows) == 0 {
		m.edits = nil
		return
	}
	m.sel = max(0, min(i, len(m.rows)-1))
	m.edits = nil
	if r := m.rows[m.sel]; !r.Equal && r.OutputA != r.OutputB {
		m.edits = engine.DiffLines(r.OutputA, r.OutputB)
	}
	m.scroll()
}

// tableH is how many table rows show: half the view, at least three.
func (m RunDiffModel) tableH() int { return max(min(len(m.rows), (m.h-3)/2), min(len(m.rows), 3)) }

func (m *RunDiffModel) scroll() {
	h := m.tableH()
	if m.sel < m.top {
		m.top = m.sel
	}
	if h > 0 && m.sel >= m.top+h {
		m.top = m.sel - h + 1
	}
}

// Init implements tea.Model's first half; the run diff needs no start-up command.
func (m RunDiffModel) Init() tea.Cmd { return nil }

// Update picks the run to compare with, then moves through the steps; esc closes.
func (m RunDiffModel) Update(msg tea.Msg) (RunDiffModel, tea.Cmd) {
	k, ok := msg.(tea.KeyPressMsg)
	if !ok {
		return m, nil
	}
	if key.Matches(k, m.Keys.Close) {
		return m, func() tea.Msg { return RunDiffClosedMsg{} }
	}
	if !m.loaded {
		switch {
		case key.Matches(k, m.Keys.Up):
			m.pick = max(m.pick-1, 0)
		case key.Matches(k, m.Keys.Down):
			m.pick = min(m.pick+1, max(len(m.choices)-1, 0))
		case key.Matches(k, m.Keys.Choose):
			if len(m.choices) == 0 {
				return m, nil
			}
			picked := RunDiffPickedMsg{A: m.runA, B: m.choices[m.pick].ID}
			return m, func() tea.Msg { return picked }
		}
		return m, nil
	}
	switch {
	case key.Matches(k, m.Keys.Up):
		m.selectRow(m.sel - 1)
	case key.Matches(k, m.Keys.Down):
		m.selectRow(m.sel + 1)
	case key.Matches(k, m.Keys.NextDiff):
		for i := 1; i <= len(m.rows); i++ {
			if j := (m.sel + i) % len(m.rows); !m.rows[j].Equal {
				m.selectRow(j)
				break
			}
		}
	}
	return m, nil
}

// View renders the list of runs to pick from, or the table and the selected step's diff.
func (m RunDiffModel) View() string {
	var lines []string
	add := func(s string) { lines = append(lines, s) }
	pad := func(s string) string {
		s = fitText(s, m.w)
		return s + strings.Repeat(" ", max(0, m.w-ansi.StringWidth(s)))
	}
	if !m.loaded {
		add(m.theme.Title.Render(pad(fmt.Sprintf("compare run %s of %s with…", m.runA, m.flow))))
		add("")
		if len(m.choices) == 0 {
			add(m.theme.Dim.Render(pad("no other run of " + m.flow + " to compare with; run it again (r) or fork it (F)")))
		}
		for i, r := range m.choices {
			l := fmt.Sprintf("  %s %s  %s", statusIcon(string(r.Status), 0), r.ID, r.Status)
			if i == m.pick {
				add(m.theme.Selected.Render(pad(l)))
			} else {
				add(m.theme.StatusStyle(string(r.Status)).Render(pad(l)))
			}
		}
		return strings.Join(lines, "\n")
	}
	differ := 0
	for _, r := range m.rows {
		if !r.Equal {
			differ++
		}
	}
	add(m.theme.Title.Render(pad(fmt.Sprintf("%s: A %s vs B %s · %d of %d steps differ", m.flow, m.runA, m.runB, differ, len(m.rows)))))
	if m.err != "" {
		add(m.theme.Error.Render(pad(m.err)))
		return strings.Join(lines, "\n")
	}
	if len(m.inputs) == 0 {
		add(m.theme.Dim.Render(pad("inputs: the same")))
	}
	for _, in := range m.inputs {
		add(m.theme.Accent.Render(pad(fmt.Sprintf("input %s: A %s · B %s", in.Name, cleanText(in.A), cleanText(in.B)))))
	}
	idW := len("step")
	for _, r := range m.rows {
		idW = max(idW, len(r.StepID))
	}
	idW = min(idW, max(m.w/3, 8))
	row := func(id, a, b, same string) string {
		return fmt.Sprintf("  %-*s  %-11s  %-11s  %s", idW, fitText(id, idW), a, b, same)
	}
	add(m.theme.Dim.Render(pad(row("step", "A", "B", ""))))
	show := func(s engine.StepStatus) string {
		if s == "" {
			return "—"
		}
		return string(s)
	}
	for i := m.top; i < min(len(m.rows), m.top+m.tableH()); i++ {
		r := m.rows[i]
		same, style := "same", m.theme.Dim
		if !r.Equal {
			same, style = "different", m.theme.Text
		}
		l := pad(row(r.StepID, show(r.StatusA), show(r.StatusB), same))
		if i == m.sel {
			style = m.theme.Selected
		}
		add(style.Render(l))
	}
	add("")
	if len(m.rows) == 0 {
		add(m.theme.Dim.Render(pad("the runs have no steps")))
		return strings.Join(lines, "\n")
	}
	r := m.rows[m.sel]
	switch {
	case r.Equal:
		add(m.theme.Dim.Render(pad(r.StepID + ": the same in both runs")))
	case r.OutputA == r.OutputB:
		add(m.theme.Text.Render(pad(fmt.Sprintf("%s: %s in A, %s in B; the outputs are the same", r.StepID, show(r.StatusA), show(r.StatusB)))))
	default:
		add(m.theme.Title.Render(pad("output of " + r.StepID + " (- A, + B)")))
		for _, e := range m.edits {
			if len(lines) >= m.h {
				break
			}
			l := pad(string(e.Op) + " " + strings.ReplaceAll(cleanText(e.Text), "\n", " "))
			switch e.Op {
			case '-':
				add(m.theme.Error.Render(l))
			case '+':
				add(m.theme.StatusStyle(string(engine.StatusSucceeded)).Render(l))
			default:
				add(m.theme.Dim.Render(l))
			}
		}
	}
	if len(lines) > m.h {
		lines = lines[:m.h]
	}
	return strings.Join(lines, "\n")
}

// handle implements overlay: it picks the run to compare with, loads the comparison and
// moves through it; esc closes.
func (m *RunDiffModel) handle(msg tea.Msg, env overlayEnv) (tea.Cmd, bool) {
	switch msg := msg.(type) {
	case RunDiffClosedMsg:
		return nil, true
	case RunDiffPickedMsg:
		if env.store == nil {
			return nil, false
		}
		return loadRunDiff(env.store, msg.A, msg.B), false
	case runDiffMsg:
		m.SetDiff(msg.b, msg.rows, msg.err)
		m.SetInputs(msg.inputs)
		return nil, false
	}
	var cmd tea.Cmd
	*m, cmd = m.Update(msg)
	return cmd, false
}

func (m *RunDiffModel) help() help.KeyMap     { return m.Keys }
func (m *RunDiffModel) traits() overlayTraits { return overlayTraits{} }
