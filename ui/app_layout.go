package ui

import (
	"fmt"
	"strings"

	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"tandem/engine"
	"tandem/flows"
)

// Layout: side by side at 100 columns and more, stacked below when there is the height for
// three panes, and otherwise (or zoomed with +) the focused pane alone over a one-line hint
// that says how to reach the others.
const (
	wideAt   = 100
	stackMin = 28
)

// layout is where the panes go in a frame.
type layout struct {
	size [paneCount][2]int // each pane's outer size
	wide bool              // side by side; else stacked, or alone
	solo bool              // the focused pane alone, with the hint under it
}

// layout places the panes in the body.
func (m *Model) layout() layout {
	bodyH := m.bodyHeight()
	var l layout
	switch {
	case m.zoom || (m.w < wideAt && bodyH < stackMin):
		l.solo = true
		full := [2]int{m.w, max(bodyH-1, 1)}
		l.size = [paneCount][2]int{full, full, full}
	case m.w >= wideAt:
		l.wide = true
		sw := min(36, m.w/5)
		dw := (m.w - sw) * 55 / 100
		l.size = [paneCount][2]int{{sw, bodyH}, {dw, bodyH}, {m.w - sw - dw, bodyH}}
	default:
		sh := max(bodyH/4, 3)
		dh := max((bodyH-sh)/2, 3)
		l.size = [paneCount][2]int{{m.w, sh}, {m.w, dh}, {m.w, max(bodyH-sh-dh, 3)}}
	}
	return l
}

func (m *Model) helpHeight() int {
	if !m.help.ShowAll {
		return 1
	}
	return lipgloss.Height(m.help.View(m.helpKeys()))
}

func (m *Model) resize() {
	m.help.SetWidth(m.w)
	l := m.layout()
	m.sidebar.SetSize(l.size[paneSidebar][0]-2, l.size[paneSidebar][1]-2)
	m.dag.SetSize(l.size[paneDAG][0]-2, l.size[paneDAG][1]-2)
	m.trace.SetSize(l.size[paneTrace][0]-2, l.size[paneTrace][1]-2)
	full := m.overlaySize()
	m.overlays.setSize(m.w, full[0]-2, full[1]-2)
}

// overlaySize is the outer size of an overlay over the body: the whole body.
func (m *Model) overlaySize() [2]int { return [2]int{m.w, m.bodyHeight()} }

// bodyHeight is the height of the panes or the overlay: the terminal less the status and
// help bars and the overlays' bars.
func (m *Model) bodyHeight() int {
	h := m.h - 1 - m.helpHeight()
	for _, b := range m.overlays.bars() {
		if v := b.View(); v != "" {
			h -= lipgloss.Height(v)
		}
	}
	return max(h, 3)
}

func (m Model) helpKeys() helpKeys {
	app := m.keys
	live := m.run.live()
	if live { // p says what it does to the open run
		if held(m.run.state) {
			app.Pause.SetHelp(app.Pause.Help().Key, "continue")
		} else {
			app.Pause.SetHelp(app.Pause.Help().Key, "pause")
		}
	}
	h := helpKeys{app: app, focus: m.focus, live: live}
	if bars := m.overlays.bars(); len(bars) > 0 {
		h.over = bars[len(bars)-1]
		return h
	}
	if o := m.overlays.body(); o != nil {
		h.over = o
		return h
	}
	switch m.focus {
	case paneSidebar:
		h.pane = m.sidebar.Keys
	case paneDAG:
		h.pane = m.dag.Keys
	default:
		h.pane = m.trace.Keys
	}
	return h
}

// View lays the panes out with the status and help bars.
func (m Model) View() tea.View {
	v := tea.NewView(m.render())
	v.AltScreen = true
	v.WindowTitle = "tandem"
	return v
}

// slotOverlay is the pane cache's slot for the overlay over the body.
const slotOverlay = int(paneCount)

// render draws the frame: the panes' boxes (reused from m.boxes while unchanged), then the
// overlays' bars and the status and help bars, every line exactly m.w cells wide and at
// most m.h lines.
func (m Model) render() string {
	if m.w == 0 || m.h == 0 {
		return "loading…"
	}
	l := m.layout()
	views := [paneCount]func() string{m.sidebar.View, m.dag.View, m.trace.View}
	box := func(p pane) paneBox {
		return m.boxes.box(int(p), m.theme, views[p](), l.size[p], m.focus == p)
	}
	sc := newScreen(m.w, m.h)
	switch o := m.overlays.body(); {
	case o != nil:
		sc.row(m.boxes.box(slotOverlay, m.theme, o.View(), m.overlaySize(), true))
	case l.wide:
		sc.row(box(paneSidebar), box(paneDAG), box(paneTrace))
	case l.solo:
		sc.row(box(m.focus))
		sc.bar(m.soloHint())
	default:
		sc.row(box(paneSidebar))
		sc.row(box(paneDAG))
		sc.row(box(paneTrace))
	}
	for _, b := range m.overlays.bars() {
		if v := b.View(); v != "" {
			sc.bar(v)
		}
	}
	sc.bar(m.statusBar())
	sc.bar(m.help.View(m.helpKeys()))
	return sc.String()
}

var paneNames = [paneCount]string{"sidebar", "DAG", "trace"}

// soloHint says which pane shows alone and how to reach the others.
func (m Model) soloHint() string {
	var parts []string
	for p := range paneCount {
		if p == m.focus {
			parts = append(parts, "["+paneNames[p]+"]")
		} else {
			parts = append(parts, paneNames[p])
		}
	}
	hint := " " + strings.Join(parts, " · ") + "  tab/shift+tab: " + paneNames[m.focus.next(1)] + "/" + paneNames[m.focus.next(-1)]
	if m.zoom {
		hint += " · - unzooms"
	}
	return m.theme.Dim.Render(fitLine(hint, m.w))
}

func (m Model) statusBar() string {
	var left string
	if st := m.run.state; st != nil {
		end := m.now
		if !st.EndedAt.IsZero() {
			end = st.EndedAt
		}
		hold := holdStatus(st)
		if r := rejectedSteps(st); len(r) > 0 {
			hold += " (" + strings.Join(r, ", ") + " rejected)"
		}
		switch w := waitingOn(st, m.now); {
		case w == "":
		case st.Status == engine.RunStatusWaiting:
			hold += " " + w
		default:
			hold += " · waiting " + w
		}
		left = fmt.Sprintf(" %s %s  %s  %s  %s ", statusIcon(string(st.Status), 0), st.Start.FlowName,
			shortID(st.ID), hold, formatDuration(end.Sub(st.StartedAt)))
		if st.Tokens.Prompt+st.Tokens.Output > 0 || usesModel(m.run.flow) {
			left += fmt.Sprintf(" tokens %d/%d ", st.Tokens.Prompt, st.Tokens.Output)
		}
		if c := m.run.diskChange(); c != "" {
			left += " file changed (" + c + "; V shows) "
		}
	} else if m.run.flow != nil {
		left = " " + m.run.flow.Name + "  " + m.sidebar.flowRunsNote(m.run.flow.Path) + " "
	} else {
		left = " no run open "
	}
	right := m.status.text
	if right != "" {
		right = " " + firstLine(right) + " "
	}
	follow := ""
	switch {
	case m.run.state == nil:
	case m.follow:
		follow = " follow ✓ "
	default:
		follow = " follow ✗ "
	}
	right = follow + m.serverBadge() + right // first, so a long note is cut before them
	room := m.w - ansi.StringWidth(left)
	right = fitText(right, max(room, 0))
	gap := strings.Repeat(" ", max(0, room-ansi.StringWidth(right)))
	rs := m.theme.Status
	if !m.status.ok && m.status.text != "" {
		rs = rs.Foreground(m.theme.Error.GetForeground())
	}
	return m.theme.Status.Render(fitText(left, m.w)) + m.theme.Status.Render(gap) + rs.Render(right)
}

// usesModel reports whether a flow has a model step (llm: or agent:), whose run's tokens the
// status bar counts; a flow of commands and waits spends none, so it shows no count.
func usesModel(f *flows.Flow) bool {
	if f == nil {
		return false
	}
	for _, s := range f.Steps {
		if s.Kind == flows.KindLLM || s.Kind == flows.KindAgent {
			return true
		}
	}
	return false
}

func firstLine(s string) string {
	first, _, _ := strings.Cut(s, "\n")
	return first
}
