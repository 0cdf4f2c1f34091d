package ui

import (
	"fmt"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"tandem/engine"
	"tandem/flows"
)

// DAGKeyMap are the DAG view's keys.
type DAGKeyMap struct {
	Up, Down, Left, Right key.Binding
	Expand                key.Binding
	Search                key.Binding // type a step id to jump to it
	Detail                key.Binding // cycle the node form: fit, boxes, compact
}

// DefaultDAGKeyMap is the DAG view's default keymap.
var DefaultDAGKeyMap = DAGKeyMap{
	Up:     key.NewBinding(key.WithKeys("up", "k"), key.WithHelp("↑/k", "up")),
	Down:   key.NewBinding(key.WithKeys("down", "j"), key.WithHelp("↓/j", "down")),
	Left:   key.NewBinding(key.WithKeys("left", "h"), key.WithHelp("←/h", "previous layer")),
	Right:  key.NewBinding(key.WithKeys("right", "l"), key.WithHelp("→/l", "next layer")),
	Expand: key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "expand/collapse map")),
	Search: key.NewBinding(key.WithKeys("/"), key.WithHelp("/", "find step")),
	Detail: key.NewBinding(key.WithKeys("z"), key.WithHelp("z", "boxes/compact")),
}

// ShortHelp implements help.KeyMap.
func (k DAGKeyMap) ShortHelp() []key.Binding {
	return []key.Binding{k.Up, k.Down, k.Left, k.Right, k.Expand, k.Search, k.Detail}
}

// FullHelp implements help.KeyMap.
func (k DAGKeyMap) FullHelp() [][]key.Binding { return [][]key.Binding{k.ShortHelp()} }

// StepSelectedMsg tells the app which step the DAG has selected.
type StepSelectedMsg struct {
	RunID  string
	StepID string
}

// FrameMsg advances spinners and running durations; the app sends it on its tick.
type FrameMsg struct{ Now time.Time }

// nodeInfo is what a box shows about one step, taken from the run's state.
type nodeInfo struct {
	status    string
	attempts  int
	started   time.Time // the running attempt's start
	waiting   time.Time // a parked step's start: it is waiting, not running
	duration  time.Duration
	items     int // map steps: children
	itemsDone int
	mark      uint8 // markNone, markBreakpoint or markHeld
	// icon and note say what a status alone does not: skipped by when: or by a failed
	// need, set by hand, reused from another run, an approval rejected, what a wait is for.
	icon  string
	note  string
	until time.Time // a wait's deadline, for the time left
}

// Debug marks drawn on a box's top border.
const (
	markNone       uint8 = iota
	markBreakpoint       // a breakpoint is set before the step
	markHeld             // the run stopped at the step's breakpoint
)

// DAGModel draws a run's steps as a layered graph with a movable selection. It caches the
// layout per graph shape and repaints a box only when its label changes.
type DAGModel struct {
	Keys  DAGKeyMap
	theme Theme

	flow     *flows.Flow
	steps    map[string]*flows.Step // the flow's steps by id
	runID    string
	info     map[string]nodeInfo
	expanded map[string]bool

	layout  *dagLayout
	labels  []string
	styles  []uint8
	marks   []uint8
	sel     int
	x0, y0  int
	w, h    int
	frame   int
	now     time.Time
	version int

	cache    *renderCache // shared by copies of the model, so View can fill it
	styleTab []inline

	// searching is set while a step id is typed after /; every key goes to the query.
	searching bool
	query     string

	// problem is why the file previewed does not load (file:line:col: message lines),
	// shown instead of a graph.
	problem string

	// level is the node form z chose: levelFit picks boxes when they fit the pane and the
	// compact form otherwise.
	level dagLevel
}

// dagLevel is how much a node shows.
type dagLevel uint8

const (
	levelFit     dagLevel = iota // boxes when they fit, else compact
	levelBoxes                   // bordered boxes, left to right
	levelCompact                 // one line per node, top-down
	levelCount
)

// NewDAG returns an empty DAG view.
func NewDAG(theme Theme) DAGModel {
	m := DAGModel{Keys: DefaultDAGKeyMap, info: map[string]nodeInfo{}, expanded: map[string]bool{},
		cache: &renderCache{}}
	m.SetTheme(theme)
	return m
}

// dagStatuses orders the statuses for cell style ids.
var dagStatuses = []string{
	string(engine.StatusPending), string(engine.StatusRunning), string(engine.StatusRetrying),
	string(engine.StatusWaiting), string(engine.StatusSucceeded), string(engine.StatusFailed),
	string(engine.StatusSkipped), string(engine.StatusInterrupted),
}

// cellMark styles the debug marks on boxes; it follows the node styles. cellSelected is
// the selected node of the compact form.
var (
	cellMark     = cellNodeBase + uint8(2*len(dagStatuses))
	cellSelected = cellMark + 1
)

// SetTheme changes the view's styles.
func (m *DAGModel) SetTheme(t Theme) {
	m.theme = t
	m.styleTab = make([]inline, int(cellSelected)+1)
	m.styleTab[cellEdge] = inlineStyle(t.Edge)
	m.styleTab[cellMark] = inlineStyle(t.Breakpoint)
	m.styleTab[cellSelected] = inlineStyle(t.Selected)
	for i, s := range dagStatuses {
		st := t.StatusStyle(s)
		m.styleTab[int(cellNodeBase)+2*i] = inlineStyle(st)
		m.styleTab[int(cellNodeBase)+2*i+1] = inlineStyle(st.Bold(true))
	}
	m.version++
}

// SetSize sets the view's size in cells.
func (m *DAGModel) SetSize(w, h int) {
	m.w, m.h = max(w, 1), max(h, 1)
	if m.layout != nil && m.wantCompact(rankDAG(m.layout.nodes)) != m.layout.compact {
		m.relayout(m.layout.nodes)
	}
	m.scrollToSelection()
}

// wantCompact says which form the nodes of ranked take at the view's size and level.
func (m *DAGModel) wantCompact(ranked *dagLayout) bool {
	switch m.level {
	case levelBoxes:
		return false
	case levelCompact:
		return true
	}
	if m.w <= 1 && m.h <= 1 { // not sized yet
		return false
	}
	return ranked.width > m.w || ranked.height > m.h
}

// SetRun shows run runID of flow f in state st (st may be nil for a flow not yet run). now is
// the time running durations are measured to.
func (m *DAGModel) SetRun(runID string, f *flows.Flow, st *engine.State, now time.Time) {
	if f != m.flow || runID != m.runID {
		m.flow, m.runID = f, runID
		m.steps = map[string]*flows.Step{}
		if f != nil {
			for _, s := range f.Steps {
				m.steps[s.ID] = s
			}
		}
		m.expanded = map[string]bool{}
		m.layout = nil
		m.sel = 0
		m.x0, m.y0 = 0, 0
	}
	m.SetState(st, now)
}

// SetState refreshes the boxes from the run's state.
func (m *DAGModel) SetState(st *engine.State, now time.Time) {
	m.now = now
	m.info = stepInfos(st)
	m.refresh()
}

// Selected returns the id of the selected node: a step id, or a map child's id.
func (m DAGModel) Selected() string {
	if m.layout == nil || m.sel >= len(m.layout.nodes) {
		return ""
	}
	return m.layout.nodes[m.sel].id
}

// SelectedIsMap reports whether the selected node is a collapsed or expanded map step.
func (m DAGModel) SelectedIsMap() bool {
	if m.flow == nil {
		return false
	}
	s := m.steps[m.Selected()]
	return s != nil && s.Map != ""
}

// nodes lists the graph's boxes: a step each, or a map step's children when it is expanded.
func (m *DAGModel) nodes() []layoutNode {
	if m.flow == nil {
		return nil
	}
	children := func(id string) []string {
		if !m.expanded[id] {
			return nil
		}
		n := m.info[id].items
		ids := make([]string, n)
		for i := range ids {
			ids[i] = engine.ChildID(id, i)
		}
		return ids
	}
	var out []layoutNode
	for _, s := range m.flow.Steps {
		var needs []string
		for _, n := range s.Needs {
			if c := children(n); c != nil {
				needs = append(needs, c...)
			} else {
				needs = append(needs, n)
			}
		}
		kind := string(s.Kind)
		if s.Join == flows.JoinAny {
			kind += " any" // a merge: it runs when one of its needs succeeded
		}
		if c := children(s.ID); c != nil {
			for _, id := range c {
				out = append(out, layoutNode{id: id, kind: kind, needs: needs})
			}
			continue
		}
		out = append(out, layoutNode{id: s.ID, kind: kind, needs: needs})
	}
	return out
}

// refresh rebuilds the layout when the graph's shape changed and repaints changed boxes.
func (m *DAGModel) refresh() {
	if m.flow == nil {
		m.layout = nil
		return
	}
	nodes := m.nodes()
	if m.layout == nil || !sameNodes(m.layout.nodes, nodes) {
		m.relayout(nodes)
		return
	}
	for i := range nodes {
		m.paint(i, false)
	}
}

// relayout lays the nodes out anew in the form that fits, keeping the selection, and
// paints every node.
func (m *DAGModel) relayout(nodes []layoutNode) {
	prev := m.Selected()
	if r := rankDAG(nodes); m.wantCompact(r) {
		m.layout = compactLayout(r)
	} else {
		r.paint()
		m.layout = r
	}
	m.labels = make([]string, len(nodes))
	m.styles = make([]uint8, len(nodes))
	m.marks = make([]uint8, len(nodes))
	m.sel = 0
	for i, n := range nodes {
		if n.id == prev || (prev != "" && strings.HasPrefix(n.id, prev+"[")) ||
			(prev != "" && strings.HasPrefix(prev, n.id+"[")) {
			m.sel = i
			break
		}
	}
	m.version++
	for i := range nodes {
		m.paint(i, true)
	}
	m.scrollToSelection()
}

func sameNodes(a, b []layoutNode) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].id != b[i].id {
			return false
		}
	}
	return true
}

// paint repaints node i when its label or style changed (or always when force is set).
func (m *DAGModel) paint(i int, force bool) {
	n := m.layout.nodes[i]
	ni := m.info[n.id]
	if ni.status == "" {
		ni.status = string(engine.StatusPending)
	}
	label := m.label(n, ni)
	style := cellNodeBase
	for k, s := range dagStatuses {
		if s == ni.status {
			style = cellNodeBase + uint8(2*k)
		}
	}
	if i == m.sel {
		style++
		if m.layout.compact {
			style = cellSelected
		}
	}
	if !force && label == m.labels[i] && style == m.styles[i] && ni.mark == m.marks[i] {
		return
	}
	m.labels[i], m.styles[i], m.marks[i] = label, style, ni.mark
	m.layout.paintNode(i, label, style, i == m.sel)
	switch ni.mark {
	case markBreakpoint:
		m.layout.paintMark(i, "● break", cellMark)
	case markHeld:
		m.layout.paintMark(i, "● held here", cellMark)
	}
	m.version++
}

// Init implements tea.Model's first half; the DAG needs no start-up command.
func (m DAGModel) Init() tea.Cmd { return nil }

// Update moves the selection and toggles map expansion on keys, and animates on FrameMsg.
func (m DAGModel) Update(msg tea.Msg) (DAGModel, tea.Cmd) {
	switch msg := msg.(type) {
	case FrameMsg:
		m.frame++
		m.now = msg.Now
		if m.layout != nil {
			for i, n := range m.layout.nodes {
				if ni := m.info[n.id]; ni.status == string(engine.StatusRunning) || !ni.until.IsZero() || !ni.waiting.IsZero() { // spinners, time left, time waited
					m.paint(i, false)
				}
			}
		}
	case tea.KeyPressMsg:
		if m.layout == nil || len(m.layout.nodes) == 0 {
			return m, nil
		}
		prev := m.sel
		if m.searching {
			m.searchKey(msg)
			return m, m.moved(prev, false)
		}
		switch {
		case key.Matches(msg, m.Keys.Search):
			m.searching, m.query = true, ""
			return m, nil
		case key.Matches(msg, m.Keys.Up):
			m.moveRow(-1)
		case key.Matches(msg, m.Keys.Down):
			m.moveRow(1)
		case key.Matches(msg, m.Keys.Left):
			m.moveLayer(-1)
		case key.Matches(msg, m.Keys.Right):
			m.moveLayer(1)
		case key.Matches(msg, m.Keys.Expand):
			m.toggle()
		case key.Matches(msg, m.Keys.Detail):
			m.level = (m.level + 1) % levelCount
			m.relayout(m.layout.nodes)
			return m, nil
		}
		return m, m.moved(prev, key.Matches(msg, m.Keys.Expand))
	}
	return m, nil
}

// moved repaints after the selection moved from prev and tells the app which step is
// selected (also when always).
func (m *DAGModel) moved(prev int, always bool) tea.Cmd {
	if m.sel != prev {
		m.paint(prev, false)
		m.paint(m.sel, false)
		m.scrollToSelection()
	}
	if m.sel == prev && !always {
		return nil
	}
	sel := StepSelectedMsg{RunID: m.runID, StepID: m.Selected()}
	return func() tea.Msg { return sel }
}

// Capturing reports whether a step id is being typed, so the app keeps its keys quiet.
func (m DAGModel) Capturing() bool { return m.searching }

// searchKey edits the query and selects the first step whose id contains it; enter keeps
// the selection, esc ends the search too.
func (m *DAGModel) searchKey(k tea.KeyPressMsg) {
	switch k.String() {
	case "enter", "esc":
		m.searching, m.query = false, ""
		return
	case "backspace":
		if r := []rune(m.query); len(r) > 0 {
			m.query = string(r[:len(r)-1])
		}
	default:
		if k.Text == "" {
			return
		}
		m.query += k.Text
	}
	q := strings.ToLower(m.query)
	for i, n := range m.layout.nodes {
		if q != "" && strings.Contains(strings.ToLower(n.id), q) {
			m.sel = i
			return
		}
	}
}

// Select selects the step id when it is in the graph, and reports whether it is.
func (m *DAGModel) Select(id string) bool {
	if m.layout == nil {
		return false
	}
	for i, n := range m.layout.nodes {
		if n.id == id {
			prev := m.sel
			m.sel = i
			m.moved(prev, false)
			return true
		}
	}
	return false
}

// toggle expands a collapsed map step into its children, or collapses the map the selected
// child belongs to.
func (m *DAGModel) toggle() {
	id := m.Selected()
	if i := strings.IndexByte(id, '['); i > 0 {
		m.expanded[id[:i]] = false
	} else if s := m.steps[id]; s != nil && s.Map != "" && m.info[id].items > 0 {
		m.expanded[id] = !m.expanded[id]
	} else {
		return
	}
	m.refresh()
}

func (m *DAGModel) moveRow(d int) {
	l := m.layout
	s := l.slots[l.nodeAt[m.sel]]
	layer := l.layers[s.layer]
	for r := s.row + d; r >= 0 && r < len(layer); r += d {
		if n := l.slots[layer[r]].node; n >= 0 {
			m.sel = n
			return
		}
	}
}

func (m *DAGModel) moveLayer(d int) {
	l := m.layout
	if l.compact { // left to a step it needs, right to one that needs it
		best := -1
		if d < 0 {
			for _, p := range l.preds[m.sel] {
				if best < 0 || l.slots[l.nodeAt[p]].y > l.slots[l.nodeAt[best]].y {
					best = p
				}
			}
		} else {
			for i, ps := range l.preds {
				for _, p := range ps {
					if p == m.sel && (best < 0 || l.slots[l.nodeAt[i]].y < l.slots[l.nodeAt[best]].y) {
						best = i
					}
				}
			}
		}
		if best >= 0 {
			m.sel = best
		}
		return
	}
	s := l.slots[l.nodeAt[m.sel]]
	for layer := s.layer + d; layer >= 0 && layer < len(l.layers); layer += d {
		best, bestDist := -1, 0
		for _, t := range l.layers[layer] {
			ts := l.slots[t]
			if ts.node < 0 {
				continue
			}
			dist := abs(ts.y - s.y)
			if best < 0 || dist < bestDist {
				best, bestDist = ts.node, dist
			}
		}
		if best >= 0 {
			m.sel = best
			return
		}
	}
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// scrollToSelection moves the window so the selected box is in view.
func (m *DAGModel) scrollToSelection() {
	l := m.layout
	if l == nil || m.sel >= len(l.nodes) || m.w == 0 {
		return
	}
	s := l.slots[l.nodeAt[m.sel]]
	h := m.viewH()
	if l.compact {
		m.x0 = 0 // the lanes and labels are read from the left
	} else {
		if s.x+l.boxW > m.x0+m.w {
			m.x0 = s.x + l.boxW - m.w
		}
		if s.x < m.x0 {
			m.x0 = s.x
		}
	}
	if s.y+l.nodeH > m.y0+h {
		m.y0 = s.y + l.nodeH - h
	}
	if s.y < m.y0 {
		m.y0 = s.y
	}
	m.x0 = max(0, min(m.x0, l.width-m.w))
	m.y0 = max(0, min(m.y0, l.height-h))
}

// overflows reports whether the graph is larger than the view, which then gives its last
// row to the position indicator.
func (m DAGModel) overflows() bool {
	l := m.layout
	return l != nil && m.h > 2 && (l.height > m.h || (!l.compact && l.width > m.w))
}

// viewH is the rows the graph is drawn in.
func (m DAGModel) viewH() int {
	if m.overflows() {
		return m.h - 1
	}
	return m.h
}

// position is the indicator under a graph larger than the view: where the selection is
// and which rows or columns show.
func (m DAGModel) position() string {
	l := m.layout
	n := len(l.nodes)
	s := fmt.Sprintf(" %d/%d · rows %d-%d of %d", m.sel+1, n, m.y0+1, min(m.y0+m.viewH(), l.height), l.height)
	if !l.compact && l.width > m.w {
		s += fmt.Sprintf(" · cols %d-%d of %d", m.x0+1, min(m.x0+m.w, l.width), l.width)
	}
	if m.level == levelFit && !l.compact {
		s += " · z compacts"
	}
	return fitText(s, m.w)
}

// SetProblem shows why the file previewed does not load instead of a graph; "" clears it.
func (m *DAGModel) SetProblem(errs string) { m.problem = errs }

// View renders the visible window of the graph, exactly the view's size.
func (m DAGModel) View() string {
	if m.problem != "" && m.flow == nil {
		var lines []string
		for l := range strings.SplitSeq(strings.TrimRight(m.problem, "\n"), "\n") {
			for p := range strings.SplitSeq(ansi.Hardwrap(ansi.Wordwrap(cleanText(l), m.w, " "), m.w, true), "\n") {
				lines = append(lines, m.theme.Error.Render(p))
			}
		}
		lines = append(lines, "", m.theme.Dim.Render(fitText("o opens the file in $EDITOR at the first error", m.w)))
		return place(m.w, m.h, strings.Join(lines, "\n"))
	}
	if m.layout == nil || len(m.layout.nodes) == 0 {
		return place(m.w, m.h, m.theme.Dim.Render("no flow selected"))
	}
	k := [5]int{m.version, m.x0, m.y0, m.w, m.h}
	if m.searching { // the query takes the bottom row
		view := m.window(k)
		if i := strings.LastIndexByte(view, '\n'); i >= 0 {
			view = view[:i+1]
		} else {
			view = ""
		}
		q := fitText("/"+m.query, m.w)
		if m.query != "" && !strings.Contains(strings.ToLower(m.Selected()), strings.ToLower(m.query)) {
			q = fitText("/"+m.query+"  (no step matches)", m.w)
		}
		return view + m.theme.Accent.Render(q) + strings.Repeat(" ", max(0, m.w-ansi.StringWidth(q)))
	}
	return m.window(k)
}

// window renders the visible part of the graph, cached by k: the rows in view, naming the
// other ends of edges that leave them, and the position indicator when the graph is larger.
func (m DAGModel) window(k [5]int) string {
	if s, ok := m.cache.get(k); ok {
		return s
	}
	h := m.viewH()
	l := m.layout
	s := l.withHints(l.offScreen(m.y0, h), cellEdge, func() string {
		return l.window(m.x0, m.y0, m.w, h, func(id uint8, s string) string {
			if id == cellPlain {
				return s
			}
			return m.styleTab[id].render(s)
		})
	})
	if h < m.h {
		p := m.position()
		s += "\n" + m.theme.Dim.Render(p) + strings.Repeat(" ", max(0, m.w-ansi.StringWidth(p)))
	}
	m.cache.put(k, s)
	return s
}

// renderCache keeps the last rendered frame with the key it was rendered for.
type renderCache struct {
	key  [5]int
	text string
	ok   bool
}

func (c *renderCache) get(k [5]int) (string, bool) {
	if c == nil || !c.ok || c.key != k {
		return "", false
	}
	return c.text, true
}

func (c *renderCache) put(k [5]int, s string) {
	if c != nil {
		c.key, c.text, c.ok = k, s, true
	}
}

// place pads or cuts s to exactly w x h cells.
func place(w, h int, s string) string {
	return lipgloss.NewStyle().Width(w).Height(h).MaxWidth(w).MaxHeight(h).Render(s)
}
