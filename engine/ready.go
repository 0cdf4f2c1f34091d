package engine

import (
	"container/heap"
	"slices"
)

// Readiness is bookkept so that a completion costs the scheduler work in proportion to what
// it unblocks, not to the width of the flow:
//
//   - unmet counts, per flow step, the steps it needs that are not done; a finished step
//     decrements its dependents' counts, so a join over N steps is checked in O(1) per
//     completion instead of walking its N needs each time.
//   - deferred holds the steps that were ready when the parallelism limit was reached, in
//     flow order; a freed slot takes the next one off it, instead of marking every waiting
//     step dirty and sorting them all again.
//
// A full scan (start, timers, signals, debug controls) recounts from the state, so events
// that change many steps at once (a retry that re-opens skipped dependents, a manual output)
// need no incremental rule of their own.

// readiness is the runner's ready-set bookkeeping, owned by its loop goroutine.
// unmet and counted (and the runner's dependents) are indexed by flow position, not keyed
// by id: a 10,000-step flow's maps held 1.7 MB for the whole run.
type readiness struct {
	unmet    []int32   // by flow position: needs not yet done
	counted  []bool    // by flow position: whether unmet reflects the step's done-ness
	deferred orderHeap // flow positions of ready steps held back by the parallelism limit
	inHeap   map[int]bool
}

func newReadiness() readiness {
	return readiness{inHeap: map[int]bool{}}
}

// recount rebuilds the unmet counts from the folded state and forgets the deferred steps
// (the full scan that calls it looks at, and defers again, every step).
func (r *runner) recount() {
	rd := &r.ready
	steps := len(r.flow.Steps)
	rd.unmet = slices.Grow(rd.unmet[:0], steps)[:steps]
	rd.counted = slices.Grow(rd.counted[:0], steps)[:steps]
	for i, s := range r.flow.Steps {
		rd.counted[i] = r.st.Step(s.ID).Status.Done()
	}
	for i, s := range r.flow.Steps {
		var n int32
		for _, need := range s.Needs {
			if j, ok := r.order[need]; !ok || !rd.counted[j] {
				n++
			}
		}
		rd.unmet[i] = n
	}
	rd.deferred = rd.deferred[:0]
	clear(rd.inHeap)
}

// settle brings the unmet counts of a flow step's dependents up to date with its status.
// It is called for every step event; map children (not flow steps) are ignored.
func (r *runner) settle(id string) {
	rd := &r.ready
	i, ok := r.order[id]
	if !ok || i >= len(rd.counted) {
		return
	}
	done := r.st.Step(id).Status.Done()
	if done == rd.counted[i] {
		return
	}
	rd.counted[i] = done
	delta := int32(1)
	if done {
		delta = -1
	}
	for _, d := range r.dependents[i] {
		rd.unmet[d] += delta
	}
}

// needsDone reports whether every step s needs is done.
func (r *runner) needsDone(id string) bool {
	i, ok := r.order[id]
	return !ok || i >= len(r.ready.unmet) || r.ready.unmet[i] <= 0
}

// deferStep remembers a ready step the parallelism limit holds back.
func (r *runner) deferStep(id string) {
	i, ok := r.order[id]
	if !ok || r.ready.inHeap[i] {
		return
	}
	r.ready.inHeap[i] = true
	heap.Push(&r.ready.deferred, i)
}

// undefer marks as dirty as many deferred steps as there are free slots, first in flow order.
func (r *runner) undefer() {
	free := r.e.parallel - len(r.active) - len(r.queued)
	for ; free > 0 && len(r.ready.deferred) > 0; free-- {
		i := heap.Pop(&r.ready.deferred).(int)
		delete(r.ready.inHeap, i)
		r.dirty[r.flow.Steps[i].ID] = true
	}
}

// canUndefer reports whether a deferred step could start now.
func (r *runner) canUndefer() bool {
	return len(r.ready.deferred) > 0 && len(r.active)+len(r.queued) < r.e.parallel
}

// orderHeap is a min-heap of flow step positions.
type orderHeap []int

func (h orderHeap) Len() int           { return len(h) }
func (h orderHeap) Less(i, j int) bool { return h[i] < h[j] }
func (h orderHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *orderHeap) Push(x any)        { *h = append(*h, x.(int)) }
func (h *orderHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
