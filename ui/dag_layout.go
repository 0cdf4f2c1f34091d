package ui

import (
	"sort"
	"strings"
)

// The DAG is laid out in topological layers (a node's layer is the longest path to it from a
// root), left to right. Edges that skip layers get dummy slots in the layers between, so a line
// never crosses a box. The result is a grid of cells painted once per graph shape; boxes are
// repainted when their labels change and the visible window is rendered from the grid.

const (
	boxH     = 3 // a box is a border, one line of text, a border
	slotH    = 4 // a box and the blank line under it
	gapW     = 7 // columns between layers, where edges run
	maxIDW   = 24
	minInner = 16
)

// layoutNode is one box of the drawing.
type layoutNode struct {
	id    string   // step id, or a map child's id ("each[2]")
	kind  string   // the step's kind
	needs []string // ids of the nodes it depends on
}

// slot is one place in a layer: a node, or a dummy carrying a long edge through the layer.
type slot struct {
	node  int   // index into dagLayout.nodes, -1 for a dummy
	preds []int // slots in the previous layer
	layer int
	row   int
	x, y  int // top-left of the slot's box
}

// cell is one character of the drawing with the style it is drawn in.
type cell struct {
	r     rune
	style uint8
}

// Cell styles: plain text, edges, and a border per node (looked up at render time).
const (
	cellPlain uint8 = iota
	cellEdge
	cellNodeBase // cellNodeBase+status index; see dagStatusIndex
)

// Edge directions in a cell, combined into box-drawing characters.
const (
	dirUp = 1 << iota
	dirDown
	dirLeft
	dirRight
)

var edgeRunes = [16]rune{
	0:                                    ' ',
	dirLeft:                              '─',
	dirRight:                             '─',
	dirLeft | dirRight:                   '─',
	dirUp:                                '│',
	dirDown:                              '│',
	dirUp | dirDown:                      '│',
	dirRight | dirDown:                   '╭',
	dirLeft | dirDown:                    '╮',
	dirUp | dirRight:                     '╰',
	dirUp | dirLeft:                      '╯',
	dirUp | dirDown | dirRight:           '├',
	dirUp | dirDown | dirLeft:            '┤',
	dirLeft | dirRight | dirDown:         '┬',
	dirLeft | dirRight | dirUp:           '┴',
	dirLeft | dirRight | dirUp | dirDown: '┼',
}

// dagLayout is the drawing of one graph shape.
type dagLayout struct {
	nodes  []layoutNode
	slots  []slot
	nodeAt []int   // node index -> slot index
	layers [][]int // slot indices per layer, top to bottom
	inner  int     // a box's text width
	boxW   int
	width  int
	height int
	grid   [][]cell

	// compact is the one-line node form: the nodes one per row, top-down, their edges in
	// lanes on the left (dag_list.go). nodeH is a node's height: boxH, or 1 when compact.
	compact bool
	nodeH   int
	preds   [][]int // compact: node index -> the nodes it needs
	succs   [][]int // compact: node index -> the nodes that need it
	// hints are offScreen's last answer, for the rows hintsFor (y0, h) it was asked about.
	hints    map[int]string
	hintsFor [2]int
}

// paint makes the grid of a ranked layout and draws its edges.
func (l *dagLayout) paint() {
	l.grid = make([][]cell, l.height)
	for y := range l.grid {
		row := make([]cell, l.width)
		for x := range row {
			row[x] = cell{r: ' '}
		}
		l.grid[y] = row
	}
	l.paintEdges()
}

// rankDAG places nodes in layers and orders each layer to keep edges short, giving the
// boxes their places without drawing them: its size says whether the boxes fit a pane, and
// paint draws them. Needs naming unknown nodes are ignored; a cycle (which validation rules
// out) is broken where it is found.
func rankDAG(nodes []layoutNode) *dagLayout {
	l := &dagLayout{nodes: nodes, nodeAt: make([]int, len(nodes)), nodeH: boxH}
	index := make(map[string]int, len(nodes))
	for i, n := range nodes {
		index[n.id] = i
	}

	// Layers: longest path from a root.
	layer := make([]int, len(nodes))
	state := make([]uint8, len(nodes)) // 0 new, 1 visiting, 2 done
	var visit func(i int) int
	visit = func(i int) int {
		switch state[i] {
		case 1:
			return 0 // a cycle; validation should have rejected it
		case 2:
			return layer[i]
		}
		state[i] = 1
		best := 0
		for _, need := range nodes[i].needs {
			if j, ok := index[need]; ok {
				if d := visit(j) + 1; d > best {
					best = d
				}
			}
		}
		layer[i], state[i] = best, 2
		return best
	}
	maxLayer := 0
	for i := range nodes {
		if d := visit(i); d > maxLayer {
			maxLayer = d
		}
	}
	l.layers = make([][]int, maxLayer+1)
	for i := range nodes {
		l.nodeAt[i] = l.addSlot(i, layer[i])
	}
	// Edges, with dummies for the layers an edge skips.
	for i, n := range nodes {
		to := l.nodeAt[i]
		for _, need := range n.needs {
			j, ok := index[need]
			if !ok || layer[j] >= layer[i] {
				continue
			}
			from := l.nodeAt[j]
			for d := layer[j] + 1; d < layer[i]; d++ {
				s := l.addSlot(-1, d)
				l.slots[s].preds = []int{from}
				from = s
			}
			l.slots[to].preds = append(l.slots[to].preds, from)
		}
	}
	l.order()
	l.place()
	return l
}

func (l *dagLayout) addSlot(node, layer int) int {
	l.slots = append(l.slots, slot{node: node, layer: layer, row: len(l.layers[layer])})
	s := len(l.slots) - 1
	l.layers[layer] = append(l.layers[layer], s)
	return s
}

// order sorts each layer by the mean row of its neighbours (the barycenter heuristic), a few
// sweeps down and up, which untangles most crossings in flows people write.
func (l *dagLayout) order() {
	succs := make([][]int, len(l.slots))
	for s := range l.slots {
		for _, p := range l.slots[s].preds {
			succs[p] = append(succs[p], s)
		}
	}
	key := make([]float64, len(l.slots)) // by slot, reused by every sort
	sortLayer := func(layer []int, nbrs func(int) []int) {
		for _, s := range layer {
			ns := nbrs(s)
			if len(ns) == 0 {
				key[s] = float64(l.slots[s].row)
				continue
			}
			sum := 0
			for _, n := range ns {
				sum += l.slots[n].row
			}
			key[s] = float64(sum) / float64(len(ns))
		}
		sort.SliceStable(layer, func(a, b int) bool { return key[layer[a]] < key[layer[b]] })
		for r, s := range layer {
			l.slots[s].row = r
		}
	}
	for range 2 {
		for d := 1; d < len(l.layers); d++ {
			sortLayer(l.layers[d], func(s int) []int { return l.slots[s].preds })
		}
		for d := len(l.layers) - 2; d >= 0; d-- {
			sortLayer(l.layers[d], func(s int) []int { return succs[s] })
		}
	}
}

// place gives every slot its position and sizes the grid. Layers are centred vertically.
func (l *dagLayout) place() {
	idW, kindW := 0, 0
	for _, n := range l.nodes {
		idW = max(idW, len(n.id))
		kindW = max(kindW, len(n.kind))
	}
	// icon, id, kind, " · 12 · 1m05s"
	l.inner = max(minInner, 2+min(idW, maxIDW)+1+kindW+14)
	l.boxW = l.inner + 4 // borders and a space each side
	rows := 0
	for _, layer := range l.layers {
		rows = max(rows, len(layer))
	}
	l.width = len(l.layers)*(l.boxW+gapW) - gapW
	l.height = max(rows*slotH-1, boxH)
	for d, layer := range l.layers {
		top := (rows - len(layer)) * slotH / 2
		for r, s := range layer {
			l.slots[s].x = d * (l.boxW + gapW)
			l.slots[s].y = top + r*slotH
		}
	}
}

// paintEdges draws every edge into the gaps (and dummies) as box-drawing lines. Each source
// gets a lane in the gap so parallel edges stay apart.
func (l *dagLayout) paintEdges() {
	bits := make(map[[2]int]uint8)
	set := func(x, y int, b uint8) { bits[[2]int{x, y}] |= b }
	hline := func(x1, x2, y int) {
		if x1 > x2 {
			x1, x2 = x2, x1
		}
		for x := x1; x <= x2; x++ {
			if x > x1 {
				set(x, y, dirLeft)
			}
			if x < x2 {
				set(x, y, dirRight)
			}
		}
	}
	vline := func(x, y1, y2 int) {
		if y1 > y2 {
			y1, y2 = y2, y1
		}
		for y := y1; y <= y2; y++ {
			if y > y1 {
				set(x, y, dirUp)
			}
			if y < y2 {
				set(x, y, dirDown)
			}
		}
	}
	var arrows [][2]int
	for s := range l.slots {
		to := &l.slots[s]
		ty := to.y + 1
		if to.node < 0 { // a dummy: a line straight through its box
			hline(to.x-1, to.x+l.boxW, ty)
		}
		for _, p := range to.preds {
			from := l.slots[p]
			fx, fy := from.x+l.boxW, from.y+1
			lane := fx + 1 + from.row%3
			set(fx, fy, dirLeft)
			hline(fx, lane, fy)
			vline(lane, fy, ty)
			hline(lane, to.x-1, ty)
			if to.node >= 0 {
				arrows = append(arrows, [2]int{to.x - 1, ty})
			}
		}
	}
	for p, b := range bits {
		x, y := p[0], p[1]
		if x >= 0 && x < l.width && y >= 0 && y < l.height {
			l.grid[y][x] = cell{r: edgeRunes[b], style: cellEdge}
		}
	}
	for _, a := range arrows {
		l.grid[a[1]][a[0]] = cell{r: '▶', style: cellEdge}
	}
}

// paintNode draws node i's box with its label in the given cell style.
func (l *dagLayout) paintNode(i int, label string, style uint8, selected bool) {
	if l.compact {
		l.paintLine(i, label, style)
		return
	}
	s := l.slots[l.nodeAt[i]]
	tl, tr, bl, br, h, v := '╭', '╮', '╰', '╯', '─', '│'
	if selected {
		tl, tr, bl, br, h, v = '┏', '┓', '┗', '┛', '━', '┃'
	}
	top, mid, bot := l.grid[s.y], l.grid[s.y+1], l.grid[s.y+2]
	for x := 0; x < l.boxW; x++ {
		top[s.x+x] = cell{r: h, style: style}
		bot[s.x+x] = cell{r: h, style: style}
		mid[s.x+x] = cell{r: ' ', style: style}
	}
	top[s.x], top[s.x+l.boxW-1] = cell{r: tl, style: style}, cell{r: tr, style: style}
	bot[s.x], bot[s.x+l.boxW-1] = cell{r: bl, style: style}, cell{r: br, style: style}
	mid[s.x], mid[s.x+l.boxW-1] = cell{r: v, style: style}, cell{r: v, style: style}
	x := s.x + 2
	for _, r := range fitText(label, l.inner) {
		mid[x] = cell{r: r, style: style}
		x++
	}
}

// paintMark writes text into the top border of node i's box, after its corner, in style.
func (l *dagLayout) paintMark(i int, text string, style uint8) {
	if l.compact {
		l.paintLineMark(i, text, style)
		return
	}
	s := l.slots[l.nodeAt[i]]
	top := l.grid[s.y]
	x := s.x + 2
	for _, r := range fitText(" "+text+" ", l.boxW-4) {
		top[x] = cell{r: r, style: style}
		x++
	}
}

// fitText cuts s to n runes, ending in an ellipsis when it was longer.
func fitText(s string, n int) string {
	rs := []rune(s)
	if len(rs) <= n {
		return s
	}
	if n <= 1 {
		return string(rs[:n])
	}
	return string(rs[:n-1]) + "…"
}

// window returns the grid's cells in [x0,x0+w) x [y0,y0+h) as lines, styling runs of cells
// with style(id). Cells outside the grid are blank.
func (l *dagLayout) window(x0, y0, w, h int, style func(uint8, string) string) string {
	var b strings.Builder
	var run []rune
	for y := y0; y < y0+h; y++ {
		if y > y0 {
			b.WriteByte('\n')
		}
		var cur uint8
		run = run[:0]
		flush := func() {
			if len(run) > 0 {
				b.WriteString(style(cur, string(run)))
				run = run[:0]
			}
		}
		for x := x0; x < x0+w; x++ {
			c := cell{r: ' '}
			if y >= 0 && y < l.height && x >= 0 && x < l.width {
				c = l.grid[y][x]
			}
			if c.style != cur {
				flush()
				cur = c.style
			}
			run = append(run, c.r)
		}
		flush()
	}
	return b.String()
}
