package ui

import (
	"fmt"
	"strings"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"tandem/engine"
)

// FlowDiffKeyMap are the flow file diff's keys.
type FlowDiffKeyMap struct {
	Up, Down, PageDown key.Binding
	Close              key.Binding
}

// DefaultFlowDiffKeyMap is the flow file diff's default keymap.
var DefaultFlowDiffKeyMap = FlowDiffKeyMap{
	Up:       key.NewBinding(key.WithKeys("up", "k"), key.WithHelp("↑/k", "up")),
	Down:     key.NewBinding(key.WithKeys("down", "j"), key.WithHelp("↓/j", "down")),
	PageDown: key.NewBinding(key.WithKeys("pgdown", "space"), key.WithHelp("pgdn", "page down")),
	Close:    key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "close")),
}

// ShortHelp implements help.KeyMap.
func (k FlowDiffKeyMap) ShortHelp() []key.Binding {
	return []key.Binding{k.Up, k.Down, k.PageDown, k.Close}
}

// FullHelp implements help.KeyMap.
func (k FlowDiffKeyMap) FullHelp() [][]key.Binding { return [][]key.Binding{k.ShortHelp()} }

// flowDiff shows how a run's flow file differs now from the flow the run started with, line
// by line (- as recorded, + as it is now), over the panes. It is an overlay: this file and
// the key that opens it are all it takes.
type flowDiff struct {
	Keys  FlowDiffKeyMap
	theme Theme

	title string
	edits []engine.LineEdit
	top   int
	w, h  int
}

// newFlowDiff compares recorded (the run's source) with now (the file's) for file name.
func newFlowDiff(t Theme, name, recorded, now string) *flowDiff {
	return &flowDiff{Keys: DefaultFlowDiffKeyMap, theme: t, title: name + ": - as the run recorded it, + as it is now",
		edits: engine.DiffLines(recorded, now)}
}

func (d *flowDiff) SetTheme(t Theme)      { d.theme = t }
func (d *flowDiff) SetSize(w, h int)      { d.w, d.h = max(w, 1), max(h, 1) }
func (d *flowDiff) help() help.KeyMap     { return d.Keys }
func (d *flowDiff) traits() overlayTraits { return overlayTraits{} }

func (d *flowDiff) handle(msg tea.Msg, _ overlayEnv) (tea.Cmd, bool) {
	k, ok := msg.(tea.KeyPressMsg)
	if !ok {
		return nil, false
	}
	rows := max(d.h-1, 1)
	switch {
	case key.Matches(k, d.Keys.Close):
		return nil, true
	case key.Matches(k, d.Keys.Up):
		d.top--
	case key.Matches(k, d.Keys.Down):
		d.top++
	case key.Matches(k, d.Keys.PageDown):
		d.top += rows
	}
	d.top = max(0, min(d.top, len(d.edits)-rows))
	return nil, false
}

// View renders the title and the lines in view, - in the error colour, + in the success one.
func (d *flowDiff) View() string {
	lines := []string{d.theme.Title.Render(fitLine(d.title, d.w))}
	for i := d.top; i < len(d.edits) && len(lines) < d.h; i++ {
		e := d.edits[i]
		l := fitLine(fmt.Sprintf("%c %s", e.Op, strings.ReplaceAll(cleanText(e.Text), "\n", " ")), d.w)
		switch e.Op {
		case '-':
			l = d.theme.Error.Render(l)
		case '+':
			l = d.theme.StatusStyle(string(engine.StatusSucceeded)).Render(l)
		default:
			l = d.theme.Dim.Render(l)
		}
		lines = append(lines, l)
	}
	for len(lines) < d.h {
		lines = append(lines, strings.Repeat(" ", d.w))
	}
	return strings.Join(lines, "\n")
}
