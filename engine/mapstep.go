package engine

import (
	"fmt"
	"strings"
	"time"

	"tandem/flows"
)

// A map step runs its step once per item of a list. Each item is a child step ("each[i]")
// with its own attempts, retries and resumption. Once every item is done the map step
// succeeds with their outputs in order, or fails if any item failed.

// expand starts a map step: one child per item, each run, retried and resumed like a step.
func (r *runner) expand(s *flows.Step, ss *StepState) {
	items, err := flows.EvalList(s.Map, r.data(s, ss))
	if err != nil {
		r.failAtStart(s.ID, s.Kind, fmt.Errorf("map: %w", err))
		return
	}
	r.add(Event{Type: StepStarted, StepID: s.ID, Attempt: 1, Data: mustJSON(StepStartedData{
		Key: idemKey(r.runID, s.ID, 1), Items: len(items), ItemValues: items, Kind: string(s.Kind), Input: s.Map, Stepped: r.stepping})})
	r.stepping = false
	if len(items) == 0 {
		r.add(Event{Type: StepSucceeded, StepID: s.ID, Attempt: 1, Data: mustJSON(StepResultData{Output: "[]"})})
		return
	}
	r.scheduleChildren(s, ss, true)
}

// scheduleChildren starts a map step's children and finishes the step when all are done.
// Children start in order, so normally only the ones after a cursor are looked at; a full
// scan (at start, on timers, near the end) also picks up retries and crash leftovers.
func (r *runner) scheduleChildren(s *flows.Step, ss *StepState, full bool) {
	if !full {
		i := r.cursor[s.ID]
		for ; i < ss.Items; i++ {
			c := r.st.Step(ChildID(s.ID, i))
			if c.Status != StatusPending {
				continue
			}
			if !r.start(s, c, false) {
				break
			}
		}
		r.cursor[s.ID] = i
		if i < ss.Items {
			return
		}
	}
	now := r.e.clock.Now()
	done, failed := 0, []string{}
	var first, last time.Time // the items' span: the first attempt's start to the last one's end
	for i := 0; i < ss.Items; i++ {
		id := ChildID(s.ID, i)
		c := r.st.Step(id)
		if len(c.Attempts) > 0 {
			if t := c.Attempts[0].StartedAt; first.IsZero() || t.Before(first) {
				first = t
			}
			if t := c.LastAttempt().EndedAt; t.After(last) {
				last = t
			}
		}
		switch c.Status {
		case StatusPending:
			r.start(s, c, false)
		case StatusInterrupted: // the cut attempt again, under its key
			r.start(s, c, true)
		case StatusRetrying:
			if !now.Before(c.RetryAt) {
				r.start(s, c, false)
			}
		case StatusRunning:
			if !r.busy(id) {
				r.start(s, c, true)
			}
		case StatusFailed:
			done++
			failed = append(failed, id)
		case StatusSucceeded, StatusSkipped:
			done++
		}
	}
	if done < ss.Items {
		return
	}
	if len(failed) > 0 {
		msg := fmt.Sprintf("%d of %d items failed: %s", len(failed), ss.Items, strings.Join(failed, ", "))
		if a := r.st.Step(failed[0]).LastAttempt(); a != nil && a.Error != "" {
			msg += " (" + failed[0] + ": " + a.Error + ")"
		}
		r.add(Event{Type: StepFailed, StepID: s.ID, Attempt: attemptN(ss), Data: mustJSON(StepResultData{Error: msg, Reason: "items", Final: true,
			DurationMS: span(first, last)})})
		return
	}
	outs := make([]any, ss.Items)
	for i := range outs {
		outs[i] = outputValue(r.st.Step(ChildID(s.ID, i)).Output)
	}
	r.add(Event{Type: StepSucceeded, StepID: s.ID, Attempt: attemptN(ss), Data: mustJSON(StepResultData{Output: string(mustJSON(outs)),
		DurationMS: span(first, last)})})
}

// span is the milliseconds from first to last, or 0 when either is unknown.
func span(first, last time.Time) int64 {
	if first.IsZero() || last.Before(first) {
		return 0
	}
	return last.Sub(first).Milliseconds()
}

// itemsStatus says what a running map step's unfinished items wait for, so the run is not
// finished over them: StatusRetrying when one waits to retry, else StatusWaiting when one is
// parked, else StatusRunning (an item not started, left running by a crash, or a map step
// whose items are all done but not yet gathered: a full scan handles each).
func (r *runner) itemsStatus(ss *StepState) StepStatus {
	status := StatusRunning
	for i := 0; i < ss.Items; i++ {
		switch r.st.Step(ChildID(ss.ID, i)).Status {
		case StatusPending, StatusRunning, StatusInterrupted:
			return StatusRunning
		case StatusRetrying:
			status = StatusRetrying
		case StatusWaiting:
			if status != StatusRetrying {
				status = StatusWaiting
			}
		}
	}
	return status
}
