package ui

import "strconv"

// The compact node form: when the boxes do not fit the pane, each node is one line (state
// glyph, id, kind, what it did), one per row in the order of its layers, so a map's items
// stay together under the step that made them. Edges run down lanes left of the labels:
// a lane starts at a step that others need and branches off to each of them.

// hintW is the room kept right of the labels for naming the other end of an edge that is
// off screen.
const hintW = 40

// compactLayout lays out in the compact form the nodes of a ranked layout, in its order.
func compactLayout(ranked *dagLayout) *dagLayout {
	nodes := ranked.nodes
	order := make([]int, 0, len(nodes))
	for _, layer := range ranked.layers {
		for _, s := range layer {
			if n := ranked.slots[s].node; n >= 0 {
				order = append(order, n)
			}
		}
	}
	l := &dagLayout{nodes: nodes, nodeAt: make([]int, len(nodes)), compact: true, nodeH: 1,
		preds: make([][]int, len(nodes)), layers: [][]int{nil}}
	index := make(map[string]int, len(nodes))
	for i, n := range nodes {
		index[n.id] = i
	}
	row := make([]int, len(nodes))
	for y, n := range order {
		row[n] = y
	}
	last := make([]int, len(nodes)) // the row of a node's last dependent, -1 for none
	for i := range last {
		last[i] = -1
	}
	l.succs = make([][]int, len(nodes))
	for i, n := range nodes {
		for _, need := range n.needs {
			if j, ok := index[need]; ok && row[j] < row[i] {
				l.preds[i] = append(l.preds[i], j)
				l.succs[j] = append(l.succs[j], i)
				last[j] = max(last[j], row[i])
			}
		}
	}
	// Lanes: the lowest free one from a node's row to its last dependent's.
	lane := make([]int, len(nodes))
	var freeAt []int // lane -> first row it is free again
	for y, n := range order {
		if last[n] < 0 {
			continue
		}
		k := 0
		for k < len(freeAt) && freeAt[k] > y {
			k++
		}
		if k == len(freeAt) {
			freeAt = append(freeAt, 0)
		}
		lane[n], freeAt[k] = k, last[n]+1
	}
	x0 := 2*len(freeAt) + 2 // the lanes, the arrow and a space
	idW, kindW := 0, 0
	for _, n := range nodes {
		idW = max(idW, len(n.id))
		kindW = max(kindW, len(n.kind))
	}
	l.inner = 2 + min(idW, maxIDW) + 1 + kindW + 22
	l.boxW = l.inner
	l.width = x0 + l.inner + hintW
	l.height = max(len(nodes), 1)
	for y, n := range order {
		l.slots = append(l.slots, slot{node: n, row: y, x: x0, y: y})
		l.nodeAt[n] = len(l.slots) - 1
		l.layers[0] = append(l.layers[0], len(l.slots)-1)
	}
	l.grid = make([][]cell, l.height)
	for y := range l.grid {
		r := make([]cell, l.width)
		for x := range r {
			r[x] = cell{r: ' '}
		}
		l.grid[y] = r
	}

	bits := make([]uint8, l.width*l.height)
	set := func(x, y int, b uint8) { bits[y*l.width+x] |= b }
	hline := func(x1, x2, y int) {
		for x := x1; x <= x2; x++ {
			if x > x1 {
				set(x, y, dirLeft)
			}
			if x < x2 {
				set(x, y, dirRight)
			}
		}
	}
	for n := range nodes {
		if last[n] < 0 {
			continue
		}
		x, y := 2*lane[n], row[n]
		hline(x, x0-2, y)
		for yy := y; yy <= last[n]; yy++ {
			if yy > y {
				set(x, yy, dirUp)
			}
			if yy < last[n] {
				set(x, yy, dirDown)
			}
		}
	}
	for i := range nodes {
		for _, p := range l.preds[i] {
			hline(2*lane[p], x0-2, row[i])
		}
	}
	for i, b := range bits {
		if b != 0 {
			l.grid[i/l.width][i%l.width] = cell{r: edgeRunes[b], style: cellEdge}
		}
	}
	for i := range nodes {
		if len(l.preds[i]) > 0 {
			l.grid[row[i]][x0-2] = cell{r: '▶', style: cellEdge}
		}
	}
	return l
}

// paintLine writes node i's label on its row in style, clearing what was there.
func (l *dagLayout) paintLine(i int, label string, style uint8) {
	s := l.slots[l.nodeAt[i]]
	row := l.grid[s.y]
	for x := s.x; x < s.x+l.inner; x++ {
		row[x] = cell{r: ' '}
	}
	x := s.x
	for _, r := range fitText(label, l.inner) {
		row[x] = cell{r: r, style: style}
		x++
	}
}

// paintLineMark writes text after node i's label, in style.
func (l *dagLayout) paintLineMark(i int, text string, style uint8) {
	s := l.slots[l.nodeAt[i]]
	row := l.grid[s.y]
	end := s.x
	for x := s.x; x < s.x+l.inner; x++ {
		if row[x].r != ' ' {
			end = x + 1
		}
	}
	x := end + 1
	for _, r := range text {
		if x >= s.x+l.inner {
			break
		}
		row[x] = cell{r: r, style: style}
		x++
	}
}

// offScreen names, for each node row in [y0, y0+h), the other ends of its edges that are
// outside those rows: "◂ fetch" for a need above, "▸ report, notify" for dependents below.
func (l *dagLayout) offScreen(y0, h int) map[int]string {
	if !l.compact {
		return nil
	}
	if l.hints != nil && l.hintsFor == [2]int{y0, h} {
		return l.hints
	}
	out := map[int]string{}
	defer func() { l.hints, l.hintsFor = out, [2]int{y0, h} }()
	succs := l.succs
	for y := max(y0, 0); y < min(y0+h, len(l.layers[0])); y++ {
		n := l.slots[l.layers[0][y]].node
		var above, below []string
		for _, p := range l.preds[n] {
			if l.slots[l.nodeAt[p]].y < y0 {
				above = append(above, l.nodes[p].id)
			}
		}
		for _, c := range succs[n] {
			if l.slots[l.nodeAt[c]].y >= y0+h {
				below = append(below, l.nodes[c].id)
			}
		}
		var hint string
		if len(above) > 0 {
			hint = "◂ " + joinIDs(above)
		}
		if len(below) > 0 {
			if hint != "" {
				hint += " "
			}
			hint += "▸ " + joinIDs(below)
		}
		if hint != "" {
			out[y] = hint
		}
	}
	return out
}

func joinIDs(ids []string) string {
	seen := map[string]bool{}
	uniq := ids[:0:0]
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			uniq = append(uniq, id)
		}
	}
	ids = uniq
	if len(ids) > 3 {
		return ids[0] + ", " + ids[1] + " +" + strconv.Itoa(len(ids)-2)
	}
	s := ""
	for i, id := range ids {
		if i > 0 {
			s += ", "
		}
		s += id
	}
	return s
}

// withHints draws hints (by row) right of the labels while fn renders, then takes them
// away: they depend on the rows in view, the grid does not. Past a row's last drawn cell
// the grid is blank, so taking them away is writing blanks back.
func (l *dagLayout) withHints(hints map[int]string, style uint8, fn func() string) string {
	if len(hints) == 0 {
		return fn()
	}
	type span struct{ y, from, to int }
	spans := make([]span, 0, len(hints))
	for y, h := range hints {
		row := l.grid[y]
		end := 0
		for x := len(row) - 1; x >= 0; x-- {
			if row[x].r != ' ' {
				end = x + 1
				break
			}
		}
		x := end + 1
		for _, r := range h {
			if x >= len(row) {
				break
			}
			row[x] = cell{r: r, style: style}
			x++
		}
		spans = append(spans, span{y, end + 1, x})
	}
	s := fn()
	for _, sp := range spans {
		for x := sp.from; x < sp.to; x++ {
			l.grid[sp.y][x] = cell{r: ' '}
		}
	}
	return s
}
