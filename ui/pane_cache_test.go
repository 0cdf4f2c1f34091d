package ui

import (
	"fmt"
	"image/color"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"tandem/engine"
)

func TestAppFrameFillsTheTerminalExactly(t *testing.T) {
	states := []struct {
		name string
		keys []string
	}{
		{"before any run", nil},
		{"after a run", []string{"j", "r"}},
		{"with the full help", []string{"j", "r", "?"}},
		{"with the trace focused", []string{"j", "r", "tab", "tab"}},
		{"with the step detail open", []string{"j", "r", "d"}},
	}
	sizes := [][2]int{{40, 10}, {200, 60}, {80, 24}, {99, 17}, {100, 12}, {160, 45}, {20, 5}, {3, 3}, {1, 1}}
	for _, size := range sizes {
		for _, st := range states {
			w, h := size[0], size[1]
			t.Run(fmt.Sprintf("%dx%d %s", w, h, st.name), func(t *testing.T) {
				a := newTestApp(t, w, h)
				a.press(st.keys...)
				a.drain()
				frame := a.m.View().Content
				lines := strings.Split(frame, "\n")
				if len(lines) != h {
					t.Errorf("frame has %d lines for a %d-line terminal", len(lines), h)
				}
				for i, l := range lines {
					if lw := ansi.StringWidth(l); lw != w {
						t.Errorf("line %d is %d wide for a %d-column terminal: %q", i, lw, w, ansi.Strip(l))
					}
				}
				if want := lipglossFrame(a.m); frame != want {
					t.Errorf("frame differs from lipgloss's composition of the same panes:\n%s\nwant:\n%s",
						ansi.Strip(frame), ansi.Strip(want))
				}
			})
		}
	}
}

// lipglossFrame composes the frame the way the app did before paneCache and screen: every
// pane bordered, joined and cut to the terminal by lipgloss.
func lipglossFrame(m Model) string {
	l := m.layout()
	box := func(p pane, size [2]int, content string, focused bool) string {
		st := m.theme.Pane
		if focused {
			st = m.theme.Focused
		}
		return st.Width(size[0]).Height(size[1]).MaxHeight(size[1]).Render(content)
	}
	pb := func(p pane) string {
		views := [paneCount]func() string{m.sidebar.View, m.dag.View, m.trace.View}
		return box(p, l.size[p], views[p](), m.focus == p)
	}
	var body string
	switch o := m.overlays.body(); {
	case o != nil:
		body = box(0, m.overlaySize(), o.View(), true)
	case l.wide:
		body = lipgloss.JoinHorizontal(lipgloss.Top, pb(paneSidebar), pb(paneDAG), pb(paneTrace))
	case l.solo:
		body = pb(m.focus) + "\n" + m.soloHint()
	default:
		body = lipgloss.JoinVertical(lipgloss.Left, pb(paneSidebar), pb(paneDAG), pb(paneTrace))
	}
	out := body + "\n" + m.statusBar() + "\n" + m.help.View(m.helpKeys())
	return lipgloss.NewStyle().MaxWidth(m.w).MaxHeight(m.h).Render(out)
}

func TestAppCachedFrameMatchesAFreshRender(t *testing.T) {
	a := newTestApp(t, 120, 24)
	a.press("j", "r")
	a.drain()
	output := func(text string) tea.Msg {
		d := engine.Delta{RunID: a.m.run.id, StepID: a.m.trace.Step(), Stream: "stdout", Text: text}
		return noticesMsg{notices: []engine.Notice{{Delta: &d}}}
	}
	steps := []struct {
		name string
		msgs []tea.Msg
		want string // text the frame must show after the step, if any
	}{
		{"a delta is appended to the trace", []tea.Msg{output("streamed words\n")}, "streamed words"},
		{"another delta is appended", []tea.Msg{output("and more\n")}, "and more"},
		{"the focus moves", []tea.Msg{keyPress("tab")}, ""},
		{"the terminal is resized", []tea.Msg{tea.WindowSizeMsg{Width: 90, Height: 40}}, ""},
		{"the background turns light", []tea.Msg{tea.BackgroundColorMsg{Color: color.White}}, ""},
		{"the full help opens", []tea.Msg{keyPress("?")}, ""},
		{"the step detail opens", []tea.Msg{keyPress("d")}, ""},
		{"the step detail closes", []tea.Msg{keyPress("esc")}, ""},
		{"the terminal grows wide again", []tea.Msg{tea.WindowSizeMsg{Width: 150, Height: 30}, output("after resize\n")}, "after resize"},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			_ = a.m.View() // the frame before the change is in the cache
			for _, msg := range st.msgs {
				a.send(msg)
			}
			got := a.m.View().Content
			if st.want != "" && !strings.Contains(ansi.Strip(got), st.want) {
				t.Errorf("frame lacks %q:\n%s", st.want, ansi.Strip(got))
			}
			fresh := a.m
			fresh.boxes = newPaneCache()
			if want := fresh.View().Content; got != want {
				t.Errorf("cached frame differs from a fresh one:\n%s\nwant:\n%s", ansi.Strip(got), ansi.Strip(want))
			}
			fresh.boxes = nil
			if want := fresh.View().Content; got != want {
				t.Errorf("cached frame differs from an uncached one:\n%s\nwant:\n%s", ansi.Strip(got), ansi.Strip(want))
			}
		})
	}
}

func TestAppTokenRedrawsOnlyTheTraceBox(t *testing.T) {
	a := newTestApp(t, 160, 45)
	a.press("j", "r")
	a.drain()
	_ = a.m.View()
	before := a.m.boxes.draws
	d := engine.Delta{RunID: a.m.run.id, StepID: a.m.trace.Step(), Stream: "stdout", Text: "token "}
	a.send(noticesMsg{notices: []engine.Notice{{Delta: &d}}})
	_ = a.m.View()
	if n := a.m.boxes.draws - before; n != 1 {
		t.Errorf("a token drew %d boxes, want 1 (the trace's)", n)
	}
	_ = a.m.View()
	if n := a.m.boxes.draws - before; n != 1 {
		t.Errorf("an unchanged frame drew %d more boxes, want none", n-1)
	}
}

func TestPaneCacheRedrawsWhenWhatABoxIsDrawnFromChanges(t *testing.T) {
	type drawn struct {
		theme   Theme
		content string
		size    [2]int
		focused bool
	}
	base := drawn{NewTheme(true), "one\ntwo", [2]int{20, 6}, false}
	tests := []struct {
		name   string
		change func(*drawn)
	}{
		{"the content changes", func(d *drawn) { d.content = "one\nthree" }},
		{"the width changes", func(d *drawn) { d.size[0] = 24 }},
		{"the height changes", func(d *drawn) { d.size[1] = 8 }},
		{"the pane gains the focus", func(d *drawn) { d.focused = true }},
		{"the background turns light", func(d *drawn) { d.theme = NewTheme(false) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newPaneCache()
			c.box(int(paneDAG), base.theme, base.content, base.size, base.focused)
			d := base
			tt.change(&d)
			got := c.box(int(paneDAG), d.theme, d.content, d.size, d.focused)
			want := (*paneCache)(nil).box(int(paneDAG), d.theme, d.content, d.size, d.focused)
			if strings.Join(got.lines, "\n") != strings.Join(want.lines, "\n") || got.width != want.width {
				t.Errorf("cached box differs from a fresh one:\n%s\nwant:\n%s",
					strings.Join(got.lines, "\n"), strings.Join(want.lines, "\n"))
			}
			if c.draws != 2 {
				t.Errorf("drew %d boxes, want 2", c.draws)
			}
			c.box(int(paneDAG), d.theme, d.content, d.size, d.focused)
			if c.draws != 2 {
				t.Errorf("drew the unchanged box again")
			}
		})
	}
}
