package ui

// A step's output reaches the trace twice: live through the bus (deltas, in order, as they
// are made) and from the log (batched chunks, and the result's whole output at the end).
// Which copy arrives first depends on when a run was opened from the log: a run loaded
// after its step finished still gets the bus's pending deltas afterwards. Both copies are
// prefixes of the same stream, so the trace counts how far each has come per attempt and
// stream and shows each byte (or trace record) once, whichever copy brings it first.

// streamKey names one stream of one attempt: stdout, stderr, content, thinking, or trace
// for trace records (counted one per record).
type streamKey struct {
	attempt int
	stream  string
}

// streamPos is how far a stream has come in a buffer: the bytes the log delivered (chunks)
// and the bytes shown. What the bus delivered is counted by the TraceModel, since it
// outlives the buffers a reload of the log makes anew.
type streamPos struct{ chunks, shown int }

// pos returns stream k's position in buffer b.
func (b *traceBuffer) pos(k streamKey) *streamPos {
	if b.streams == nil {
		b.streams = map[streamKey]*streamPos{}
	}
	p := b.streams[k]
	if p == nil {
		p = &streamPos{}
		b.streams[k] = p
	}
	return p
}

// fresh returns the part of n units starting at offset start that is not shown yet, as
// [from, n), and moves what is shown past them; ok is false when all were shown.
func (p *streamPos) fresh(start, n int) (from int, ok bool) {
	end := start + n
	if p.shown >= end {
		return 0, false
	}
	from = max(0, p.shown-start)
	p.shown = end
	return from, true
}

// delta takes n units the bus delivered on stream k of step, returning what of them to
// show in the step's buffer b.
func (m *TraceModel) delta(step string, b *traceBuffer, k streamKey, n int) (from int, ok bool) {
	if m.deltas == nil {
		m.deltas = map[string]map[streamKey]int{}
	}
	if m.deltas[step] == nil {
		m.deltas[step] = map[streamKey]int{}
	}
	start := m.deltas[step][k]
	m.deltas[step][k] += n
	return b.pos(k).fresh(start, n)
}

// Watch starts collecting run runID's trace from its start: every delta of the run is
// counted, so the log's copy of what the bus already delivered (or will) is shown once.
func (m *TraceModel) Watch(runID string) {
	m.SetRun(runID)
	m.watched = true
}

// AlignDeltas, after the log of a run opened midway was replayed, takes the deltas the bus
// delivers next to start where the log's copy ended: those before were not counted.
func (m *TraceModel) AlignDeltas() {
	if m.watched {
		return
	}
	for step, b := range m.buffers {
		for k, p := range b.streams {
			if m.deltas == nil {
				m.deltas = map[string]map[streamKey]int{}
			}
			if m.deltas[step] == nil {
				m.deltas[step] = map[streamKey]int{}
			}
			if m.deltas[step][k] == 0 {
				m.deltas[step][k] = p.chunks
			}
		}
	}
}

// chunk takes n units the log delivered on stream k, returning what to show of them.
func (b *traceBuffer) chunk(k streamKey, n int) (from int, ok bool) {
	p := b.pos(k)
	start := p.chunks
	p.chunks += n
	return p.fresh(start, n)
}

// shownOf is how many units of stream k are shown.
func (b *traceBuffer) shownOf(k streamKey) int { return b.pos(k).shown }
