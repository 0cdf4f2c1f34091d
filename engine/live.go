package engine

import (
	"encoding/json"
	"fmt"
	"sync"
	"unicode/utf8"
)

// Live output and trace records reach the bus at once and the log in batches: consecutive
// chunks of the same stream are coalesced into one StepOutput event, so a token stream costs a
// few rows a second, not one per token. The log keeps at most a bounded amount of live output
// per attempt (Options.LiveOutputLimit): past it, chunks still reach the bus but not the log,
// and one marker says where the log's copy was cut. A step's result carries its own output.

// DefaultLiveOutputLimit is how much live stdout/stderr per attempt the log keeps by default.
const DefaultLiveOutputLimit = 1 << 20

// liveBuffer holds what the runner has not yet written. Executors' goroutines add to it; the
// runner's loop takes it.
type liveBuffer struct {
	mu   sync.Mutex
	recs []liveRecord
	kept map[liveKey]int // live output bytes of each attempt kept for the log so far; -1 once cut
}

type liveKey struct {
	stepID  string
	attempt int
}

type liveRecord struct {
	stepID  string
	attempt int
	stream  string // for output chunks
	text    []byte // appended to in place: coalescing stays linear in the output's size
	kind    string // for trace records
	data    any
}

func (r *runner) emit(stepID string, attempt int, stream, text string) {
	if text == "" {
		return
	}
	r.e.bus.PublishDelta(Delta{RunID: r.runID, StepID: stepID, Attempt: attempt, Stream: stream, Text: text})
	b := &r.live
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.kept == nil {
		b.kept = map[liveKey]int{}
	}
	k := liveKey{stepID, attempt}
	kept := b.kept[k]
	if kept < 0 {
		return // cut already, and marked
	}
	room := r.e.liveLimit - kept
	if len(text) <= room {
		b.kept[k] = kept + len(text)
		b.add(stepID, attempt, stream, text)
		return
	}
	for room > 0 && !utf8.RuneStart(text[room]) {
		room-- // cut between characters, not inside one
	}
	b.kept[k] = -1
	b.add(stepID, attempt, stream, text[:room]+fmt.Sprintf("\n[tandem: live output cut here, after %s; the step's result keeps its output]\n", byteSize(r.e.liveLimit)))
}

// add coalesces a chunk into the last record when it continues the same stream.
func (b *liveBuffer) add(stepID string, attempt int, stream, text string) {
	if n := len(b.recs); n > 0 {
		last := &b.recs[n-1]
		if last.kind == "" && last.stepID == stepID && last.stream == stream && last.attempt == attempt {
			last.text = append(last.text, text...)
			return
		}
	}
	b.recs = append(b.recs, liveRecord{stepID: stepID, attempt: attempt, stream: stream, text: []byte(text)})
}

func (r *runner) trace(stepID string, attempt int, kind string, data any) {
	r.e.bus.PublishDelta(Delta{RunID: r.runID, StepID: stepID, Attempt: attempt, Stream: "trace", Trace: &TraceData{Kind: kind, Data: data}})
	r.live.mu.Lock()
	r.live.recs = append(r.live.recs, liveRecord{stepID: stepID, attempt: attempt, kind: kind, data: data})
	r.live.mu.Unlock()
}

// TraceData is the payload of StepTrace events. Live (on the bus) Data is the value the
// executor traced; read from the log it is the record's JSON, a json.RawMessage, for the
// record's owner to decode (agents.Decode for agent and model records).
type TraceData struct {
	Kind string `json:"kind"`
	Data any    `json:"data,omitempty"`
}

// UnmarshalJSON keeps Data as its JSON text.
func (d *TraceData) UnmarshalJSON(b []byte) error {
	var raw struct {
		Kind string          `json:"kind"`
		Data json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	d.Kind, d.Data = raw.Kind, nil
	if len(raw.Data) > 0 {
		d.Data = raw.Data
	}
	return nil
}

// flushLive moves buffered records into the pending events. When a step has just finished
// (finished != ""), its stdout/stderr chunks are dropped: the result carries the output and
// the stderr tail, so writing them again would only double the log.
func (r *runner) flushLive(stepDone bool, finished string) {
	r.live.mu.Lock()
	recs := r.live.recs
	r.live.recs = nil
	r.live.mu.Unlock()
	for _, rec := range recs {
		if rec.kind != "" {
			r.add(Event{Type: StepTrace, StepID: rec.stepID, Attempt: rec.attempt,
				Data: mustJSON(TraceData{Kind: rec.kind, Data: rec.data})})
			continue
		}
		if stepDone && rec.stepID == finished && (rec.stream == "stdout" || rec.stream == "stderr") {
			continue
		}
		r.add(Event{Type: StepOutput, StepID: rec.stepID, Attempt: rec.attempt,
			Data: mustJSON(StepOutputData{Stream: rec.stream, Text: string(rec.text)})})
	}
}

// byteSize writes n bytes the way people read them: 2 MiB, 64 KiB, 100 B.
func byteSize(n int) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d B", n)
}
