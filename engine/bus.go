package engine

import (
	"sync"
)

// Delta is a piece of live output that is not a log event of its own: a stdout/stderr chunk of
// a running command, or a model's content/thinking token. It reaches subscribers at once; the
// log gets it batched.
type Delta struct {
	RunID   string `json:"run_id"`
	StepID  string `json:"step_id"`
	Attempt int    `json:"attempt"` // the attempt of the step that made it
	Stream  string `json:"stream"`  // stdout, stderr, content, thinking, answer, or trace
	Text    string `json:"text"`
	// Trace is set (with Stream "trace") for a trace record: it reaches observers between
	// the tokens around it, while its StepTrace event is committed later with the batch.
	Trace *TraceData `json:"trace,omitempty"`
}

// Notice is what a subscriber receives: either a committed Event or a live Delta.
type Notice struct {
	Event *Event
	Delta *Delta
}

// Bus fans engine notices out to observers (the CLI printer, the UI).
//
// Delivery contract: events are never dropped and arrive in commit order; deltas for the same
// run, step and stream are coalesced into one when the subscriber is behind. Publish never
// blocks the engine.
type Bus struct {
	mu   sync.Mutex
	subs map[*Subscription]struct{}
}

// NewBus returns an empty bus.
func NewBus() *Bus { return &Bus{subs: map[*Subscription]struct{}{}} }

// Subscription is one observer's queue. Read C, then call Next to take the pending notices.
type Subscription struct {
	bus   *Bus
	runID string // "" for every run
	mu    sync.Mutex
	queue []Notice
	// tail is the text of the queue's last notice while it is a delta others may be coalesced
	// into: appended in place, so a subscriber that is behind on a long reply costs linear
	// time, not a copy of everything queued per token.
	tail    []byte
	tailing bool
	c       chan struct{}
}

// Subscribe returns a subscription to one run's notices, or every run's when runID is "".
// Its owner must Close it.
func (b *Bus) Subscribe(runID string) *Subscription {
	s := &Subscription{bus: b, runID: runID, c: make(chan struct{}, 1)}
	b.mu.Lock()
	b.subs[s] = struct{}{}
	b.mu.Unlock()
	return s
}

// Ready is signalled when notices are queued.
func (s *Subscription) Ready() <-chan struct{} { return s.c }

// Next takes every queued notice, oldest first.
func (s *Subscription) Next() []Notice {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seal()
	q := s.queue
	s.queue = nil
	return q
}

// seal gives the queue's last delta the text coalesced into it.
func (s *Subscription) seal() {
	if !s.tailing {
		return
	}
	last := &s.queue[len(s.queue)-1]
	d := *last.Delta
	d.Text = string(s.tail)
	last.Delta = &d
	s.tail, s.tailing = s.tail[:0], false
}

// Close stops delivery to this subscription.
func (s *Subscription) Close() {
	s.bus.mu.Lock()
	delete(s.bus.subs, s)
	s.bus.mu.Unlock()
}

func (s *Subscription) push(n Notice) {
	s.mu.Lock()
	if n.Delta != nil && n.Delta.Trace == nil && s.tailing {
		d := s.queue[len(s.queue)-1].Delta
		if d.RunID == n.Delta.RunID && d.StepID == n.Delta.StepID && d.Attempt == n.Delta.Attempt && d.Stream == n.Delta.Stream {
			s.tail = append(s.tail, n.Delta.Text...)
			s.mu.Unlock()
			s.signal()
			return
		}
	}
	s.seal()
	s.queue = append(s.queue, n)
	if n.Delta != nil && n.Delta.Trace == nil {
		s.tail, s.tailing = append(s.tail[:0], n.Delta.Text...), true
	}
	s.mu.Unlock()
	s.signal()
}

func (s *Subscription) signal() {
	select {
	case s.c <- struct{}{}:
	default:
	}
}

// PublishEvents delivers committed events.
func (b *Bus) PublishEvents(events []Event) {
	if b == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for i := range events {
		e := events[i]
		for s := range b.subs {
			if s.runID == "" || s.runID == e.RunID {
				s.push(Notice{Event: &e})
			}
		}
	}
}

// PublishDelta delivers a live delta.
func (b *Bus) PublishDelta(d Delta) {
	if b == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for s := range b.subs {
		if s.runID == "" || s.runID == d.RunID {
			s.push(Notice{Delta: &d})
		}
	}
}
