package engine

// Live output and trace records reach the bus at once and the log in batches: consecutive
// chunks of the same stream are coalesced into one StepOutput event, so a token stream costs a
// few rows a second, not one per token.

func (r *runner) emit(stepID string, attempt int, stream, text string) {
	if text == "" {
		return
	}
	r.e.bus.PublishDelta(Delta{RunID: r.runID, StepID: stepID, Stream: stream, Text: text})
	r.liveMu.Lock()
	defer r.liveMu.Unlock()
	if n := len(r.live); n > 0 {
		last := &r.live[n-1]
		if last.kind == "" && last.stepID == stepID && last.stream == stream && last.attempt == attempt {
			last.text += text
			return
		}
	}
	r.live = append(r.live, liveRecord{stepID: stepID, attempt: attempt, stream: stream, text: text})
}

func (r *runner) trace(stepID string, attempt int, kind string, data any) {
	r.e.bus.PublishDelta(Delta{RunID: r.runID, StepID: stepID, Stream: "trace", Trace: &TraceData{Kind: kind, Data: data}})
	r.liveMu.Lock()
	r.live = append(r.live, liveRecord{stepID: stepID, attempt: attempt, kind: kind, data: data})
	r.liveMu.Unlock()
}

// TraceData is the payload of StepTrace events.
type TraceData struct {
	Kind string `json:"kind"`
	Data any    `json:"data,omitempty"`
}

// flushLive moves buffered records into the pending events. When a step has just finished
// (finished != ""), its stdout/stderr chunks are dropped: the result carries the output and
// the stderr tail, so writing them again would only double the log.
func (r *runner) flushLive(stepDone bool, finished string) {
	r.liveMu.Lock()
	recs := r.live
	r.live = nil
	r.liveMu.Unlock()
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
			Data: mustJSON(StepOutputData{Stream: rec.stream, Text: rec.text})})
	}
}
