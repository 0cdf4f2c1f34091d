package engine

import (
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// StepStatus is the status of a step in a run.
type StepStatus string

// Step statuses.
const (
	StatusPending     StepStatus = "pending"
	StatusRunning     StepStatus = "running"
	StatusRetrying    StepStatus = "retrying" // failed, another attempt is due
	StatusWaiting     StepStatus = "waiting"
	StatusSucceeded   StepStatus = "succeeded"
	StatusFailed      StepStatus = "failed"
	StatusSkipped     StepStatus = "skipped"
	StatusInterrupted StepStatus = "interrupted"
)

// Done reports whether the step has a final result for its dependents.
func (s StepStatus) Done() bool {
	return s == StatusSucceeded || s == StatusFailed || s == StatusSkipped
}

// Attempt is one execution of a step.
type Attempt struct {
	N          int           `json:"attempt"` // 1 for the first attempt, as events and traces number them
	Key        string        `json:"key"`
	Input      string        `json:"input,omitempty"`
	Status     StepStatus    `json:"status"`
	StartedAt  time.Time     `json:"started_at"`
	EndedAt    time.Time     `json:"ended_at,omitempty"`
	Duration   time.Duration `json:"duration"`
	ExitCode   *int          `json:"exit_code,omitempty"`
	Error      string        `json:"error,omitempty"`
	Reason     string        `json:"reason,omitempty"`
	StderrTail string        `json:"stderr_tail,omitempty"`
	// Output is what a failed or interrupted attempt printed (a succeeded one's is the step's
	// Output), so the reason a step failed can be read when it went to stdout.
	Output string `json:"output,omitempty"`
}

// StepState is the folded state of one step (or one map child, with ID "step[i]").
type StepState struct {
	ID         string           `json:"id"`
	Status     StepStatus       `json:"status"`
	Attempts   []Attempt        `json:"attempts"`
	Output     string           `json:"output,omitempty"`
	SkipReason string           `json:"skip_reason,omitempty"`
	SkipCause  SkipCause        `json:"skip_cause,omitempty"`
	SkipNeeds  []string         `json:"skip_needs,omitempty"` // the needs a SkipNeed skip was for
	Waiting    *StepWaitingData `json:"waiting,omitempty"`
	ChildRunID string           `json:"child_run_id,omitempty"`
	Items      int              `json:"items,omitempty"` // map steps
	Parent     string           `json:"parent,omitempty"`
	Index      int              `json:"index,omitempty"`
	Item       any              `json:"item,omitempty"`
	// InputOverride is the edited input a retry asked for, used by the next attempt.
	InputOverride string    `json:"input_override,omitempty"`
	RetryAt       time.Time `json:"retry_at,omitempty"`
	Tokens        Tokens    `json:"tokens"`
	Manual        bool      `json:"manual,omitempty"`
	// Failures counts failed attempts since the step last started fresh (a manual retry resets
	// it); the retry policy compares it with max_attempts.
	Failures int `json:"failures"`
	// ReusedFrom names the run a forked run took this step's output from.
	ReusedFrom string `json:"reused_from,omitempty"`
}

// LastAttempt returns the latest attempt, or nil.
func (s *StepState) LastAttempt() *Attempt {
	if len(s.Attempts) == 0 {
		return nil
	}
	return &s.Attempts[len(s.Attempts)-1]
}

// State is a run folded from its events. Apply events in log order.
type State struct {
	ID        string                `json:"id"`
	Status    RunStatus             `json:"status"`
	Start     RunStartedData        `json:"start"`
	Steps     map[string]*StepState `json:"steps"`
	Output    any                   `json:"output,omitempty"`
	Error     string                `json:"error,omitempty"`
	StartedAt time.Time             `json:"started_at"`
	EndedAt   time.Time             `json:"ended_at,omitempty"`
	LastSeq   int64                 `json:"last_seq"`
	Tokens    Tokens                `json:"tokens"`
	// Signals are external events not yet consumed by a step, oldest first.
	Signals         []SignalData `json:"signals,omitempty"`
	CancelRequested bool         `json:"cancel_requested,omitempty"`
	// Undecodable lists events whose payload could not be read; the fold went on without them.
	Undecodable []UndecodableEvent `json:"undecodable,omitempty"`

	// Debug controls. Paused holds new step starts; StepBudget is how many more may start
	// while paused (step mode). Breakpoints hold the run before a step starts; HeldAt are the
	// breakpoints it stopped at, Passed the ones a continue let through. HoldReason says why
	// a paused run is parked.
	Paused      bool            `json:"paused,omitempty"`
	StepBudget  int             `json:"step_budget,omitempty"`
	Breakpoints map[string]bool `json:"breakpoints,omitempty"`
	HeldAt      map[string]bool `json:"held_at,omitempty"`
	Passed      map[string]bool `json:"passed,omitempty"`
	HoldReason  string          `json:"hold_reason,omitempty"`
	HoldCause   HoldCause       `json:"hold_cause,omitempty"`
	HoldStep    string          `json:"hold_step,omitempty"` // HoldBreakpoint: the step held before
	Stepping    bool            `json:"stepping,omitempty"`  // paused by step mode, not a pause
}

// Fold builds a run's state from its events.
func Fold(events []Event) *State {
	s := &State{Steps: map[string]*StepState{}}
	for _, e := range events {
		s.Apply(e)
	}
	return s
}

// Step returns the state of a step, creating a pending one on first use.
func (s *State) Step(id string) *StepState {
	st, ok := s.Steps[id]
	if !ok {
		st = &StepState{ID: id, Status: StatusPending}
		s.Steps[id] = st
	}
	return st
}

// Apply folds one event into the state.
func (s *State) Apply(e Event) {
	if e.Seq > s.LastSeq {
		s.LastSeq = e.Seq
	}
	switch e.Type {
	case RunStarted:
		s.ID = e.RunID
		s.Status = RunStatusRunning
		s.StartedAt = e.Time
		s.decode(e, &s.Start)
		if s.Start.Queued {
			s.Status = RunStatusQueued
		}
		if len(s.Start.Breakpoints) > 0 {
			if s.Breakpoints == nil {
				s.Breakpoints, s.HeldAt, s.Passed = map[string]bool{}, map[string]bool{}, map[string]bool{}
			}
			for _, id := range s.Start.Breakpoints {
				s.Breakpoints[id] = true
			}
		}
	case RunResumed:
		s.Status = RunStatusRunning
		s.EndedAt = time.Time{}
		s.CancelRequested = false
		s.HoldReason, s.HoldCause, s.HoldStep = "", "", ""
	case RunWaiting:
		s.Status = RunStatusWaiting
	case RunSucceeded, RunFailed, RunCancelled, RunInterrupted:
		var d RunResultData
		s.decode(e, &d)
		s.Status = map[EventType]RunStatus{RunSucceeded: RunStatusSucceeded, RunFailed: RunStatusFailed,
			RunCancelled: RunStatusCancelled, RunInterrupted: RunStatusInterrupted}[e.Type]
		s.Output, s.Error, s.EndedAt = d.Output, d.Error, e.Time
	case CancelRequested:
		s.CancelRequested = true
	case SignalReceived:
		var d SignalData
		s.decode(e, &d)
		d.Seq = e.Seq
		s.Signals = append(s.Signals, d)
	case StepStarted:
		var d StepStartedData
		s.decode(e, &d)
		st := s.Step(e.StepID)
		st.Status = StatusRunning
		st.Waiting = nil
		st.RetryAt = time.Time{}
		if d.Parent != "" {
			st.Parent, st.Index, st.Item = d.Parent, d.Index, d.Item
		}
		if d.Items > 0 {
			st.Items = d.Items
			for i := 0; i < d.Items; i++ {
				c := s.Step(ChildID(e.StepID, i))
				c.Parent, c.Index = e.StepID, i
				if i < len(d.ItemValues) {
					c.Item = d.ItemValues[i]
				}
			}
		}
		if d.ChildRunID != "" {
			st.ChildRunID = d.ChildRunID
		}
		s.startedDebug(e.StepID, d)
		if d.Resumed && len(st.Attempts) > 0 && st.LastAttempt().N == e.Attempt {
			a := st.LastAttempt()
			a.Status, a.StartedAt = StatusRunning, e.Time
			return
		}
		st.Attempts = append(st.Attempts, Attempt{N: e.Attempt, Key: d.Key, Input: d.Input,
			Status: StatusRunning, StartedAt: e.Time})
	case StepSucceeded, StepFailed, StepInterrupted:
		var d StepResultData
		s.decode(e, &d)
		st := s.Step(e.StepID)
		status := map[EventType]StepStatus{StepSucceeded: StatusSucceeded, StepFailed: StatusFailed,
			StepInterrupted: StatusInterrupted}[e.Type]
		if a := st.LastAttempt(); a != nil {
			a.Status, a.EndedAt = status, e.Time
			a.Duration = time.Duration(d.DurationMS) * time.Millisecond
			a.ExitCode, a.Error, a.Reason, a.StderrTail = d.ExitCode, d.Error, d.Reason, d.StderrTail
			if e.Type != StepSucceeded {
				a.Output = d.Output
			}
		}
		st.Status = status
		if e.Type == StepSucceeded {
			st.Output = d.Output
			st.InputOverride = ""
			st.ReusedFrom = d.ReusedFrom
		}
		if e.Type == StepFailed {
			st.Failures++
		}
		if d.ConsumedSignal != 0 {
			s.consumeSignal(d.ConsumedSignal)
		}
		if e.Type == StepFailed && !d.Final {
			st.Status = StatusRetrying
			st.RetryAt = e.Time.Add(time.Duration(d.RetryInMS) * time.Millisecond)
		}
		if d.Tokens != nil {
			st.Tokens.Prompt += d.Tokens.Prompt
			st.Tokens.Output += d.Tokens.Output
			s.Tokens.Prompt += d.Tokens.Prompt
			s.Tokens.Output += d.Tokens.Output
		}
	case StepSkipped:
		var d StepSkippedData
		s.decode(e, &d)
		st := s.Step(e.StepID)
		st.Status, st.SkipReason, st.SkipCause, st.SkipNeeds = StatusSkipped, d.Reason, d.Cause, d.Needs
		if st.SkipCause == "" && strings.HasPrefix(d.Reason, needsPrefix) {
			st.SkipCause = SkipNeed // logs written before causes were typed; SkipNeeds unknown
		} else if st.SkipCause == "" && strings.HasPrefix(d.Reason, "when ") {
			st.SkipCause = SkipWhen
		}
	case StepWaiting:
		var d StepWaitingData
		s.decode(e, &d)
		st := s.Step(e.StepID)
		st.Status, st.Waiting = StatusWaiting, &d
	case FlowReloaded:
		var d FlowReloadedData
		s.decode(e, &d)
		s.Start.Source = d.Source
	case StepRetryRequested:
		var d StepRetryData
		s.decode(e, &d)
		s.resetForRetry(e.StepID, d.Input)
		s.Step(e.StepID).Failures = 0
		s.Step(e.StepID).Manual = false
	case StepManual:
		var d StepManualData
		s.decode(e, &d)
		st := s.Step(e.StepID)
		st.Status, st.Output, st.Manual, st.Waiting = StatusSucceeded, d.Output, true, nil
		s.applyManual(e)
	case PauseRequested, ContinueRequested, StepOnceRequested, BreakpointSet, BreakpointHit, RunPaused:
		s.applyDebug(e)
	}
}

// applyManual finishes folding a StepManual: the step's open attempt ends, and what its
// failure had settled is re-opened so the run goes on with the manual output.
func (s *State) applyManual(e Event) {
	st := s.Step(e.StepID)
	st.RetryAt, st.InputOverride, st.SkipReason = time.Time{}, "", ""
	if a := st.LastAttempt(); a != nil && (a.Status == StatusRunning || a.Status == StatusWaiting) {
		a.Status, a.EndedAt, a.Reason = StatusSkipped, e.Time, "manual"
	}
	delete(s.HeldAt, e.StepID)
	if st.Parent != "" { // a map child: its parent must gather its children again
		if p, ok := s.Steps[st.Parent]; ok && p.Status.Done() {
			p.Status = StatusRunning
		}
	}
	s.reopenDependents(e.StepID)
}

// reopenDependents makes the steps skipped because of id (and, in turn, the steps skipped
// because of those) pending again: id is about to have a result they may run on. Steps
// skipped for other reasons, or because of other steps, stay skipped.
func (s *State) reopenDependents(id string) {
	for _, c := range s.Steps {
		if c.Status != StatusSkipped || c.SkipCause != SkipNeed {
			continue
		}
		// A skip folded from an older log does not name its needs: re-open it as before.
		if len(c.SkipNeeds) > 0 && !slices.Contains(c.SkipNeeds, id) {
			continue
		}
		c.Status, c.SkipReason, c.SkipCause, c.SkipNeeds = StatusPending, "", "", nil
		s.reopenDependents(c.ID)
	}
}

// decode decodes an event's payload into v; a payload this binary cannot read is listed in
// the state (Undecodable) instead of being silently ignored.
func (s *State) decode(e Event, v any) {
	if err := e.Decode(v); err != nil {
		s.Undecodable = append(s.Undecodable, UndecodableEvent{Seq: e.Seq, Type: e.Type, StepID: e.StepID, Error: err.Error()})
	}
}

// UndecodableEvent is an event whose payload the binary could not decode when folding.
type UndecodableEvent struct {
	Seq    int64     `json:"seq"`
	Type   EventType `json:"type"`
	StepID string    `json:"step_id,omitempty"`
	Error  string    `json:"error"`
}

// applyDebug folds the debug-control events.
func (s *State) applyDebug(e Event) {
	if s.Breakpoints == nil {
		s.Breakpoints, s.HeldAt, s.Passed = map[string]bool{}, map[string]bool{}, map[string]bool{}
	}
	switch e.Type {
	case PauseRequested:
		// A pause outranks step presses not yet used: nothing more starts.
		s.Paused, s.Stepping, s.StepBudget = true, false, 0
	case StepOnceRequested:
		s.Paused, s.Stepping = true, true
		s.StepBudget++
		s.unpark()
	case ContinueRequested:
		s.Paused, s.StepBudget, s.Stepping = false, 0, false
		for id := range s.HeldAt {
			s.Passed[id] = true
		}
		clear(s.HeldAt)
		s.unpark()
	case BreakpointSet:
		var d BreakpointData
		s.decode(e, &d)
		if d.On {
			s.Breakpoints[e.StepID] = true
		} else {
			delete(s.Breakpoints, e.StepID)
		}
	case BreakpointHit:
		s.HeldAt[e.StepID] = true
	case RunPaused:
		var d RunPausedData
		s.decode(e, &d)
		h := Hold{Cause: d.Cause, Step: d.Step}
		if h.Cause == "" {
			h = holdFromReason(d.Reason)
		}
		s.Status, s.HoldReason, s.HoldCause, s.HoldStep = RunStatusPaused, d.Reason, h.Cause, h.Step
	}
}

// unpark moves a run parked by a hold back to running.
func (s *State) unpark() {
	if s.Status == RunStatusPaused {
		s.Status = RunStatusRunning
	}
	s.HoldReason, s.HoldCause, s.HoldStep = "", "", ""
}

// startedDebug folds what a step start means for the debug controls: a breakpoint passed or
// hit is used up, and a step-mode start spends the budget.
func (s *State) startedDebug(id string, d StepStartedData) {
	delete(s.HeldAt, id)
	delete(s.Passed, id)
	if d.Stepped && s.StepBudget > 0 {
		s.StepBudget--
	}
}

// Holding reports whether the debug controls keep new steps from starting: the run is
// paused with no step-mode budget left, or stopped at a breakpoint.
func (s *State) Holding() bool {
	return (s.Paused && s.StepBudget == 0) || len(s.HeldAt) > 0
}

// resetForRetry puts a step back to pending, with the steps that were skipped because of it
// and, for map steps, their failed or skipped children.
func (s *State) resetForRetry(id, input string) {
	st := s.Step(id)
	st.Status, st.InputOverride, st.SkipReason, st.RetryAt = StatusPending, input, "", time.Time{}
	if st.Parent != "" { // a map child: its parent must wait for it again
		if p, ok := s.Steps[st.Parent]; ok && p.Status.Done() {
			p.Status = StatusRunning
		}
	}
	for _, c := range s.Steps {
		if c.Parent == id && (c.Status == StatusFailed || c.Status == StatusSkipped || c.Status == StatusInterrupted) {
			c.Status = StatusPending
		}
	}
	s.reopenDependents(id)
	if s.Status.Terminal() || s.Status == RunStatusInterrupted {
		s.Status = RunStatusRunning
	}
}

func (s *State) consumeSignal(seq int64) {
	for i, sig := range s.Signals {
		if sig.Seq == seq {
			s.Signals = append(s.Signals[:i:i], s.Signals[i+1:]...)
			return
		}
	}
}

// needsPrefix starts the skip reason of a step skipped because a step it needs did not succeed;
// a retry re-opens exactly those.
const needsPrefix = "needs "

// ChildID names the i-th child of a map step.
func ChildID(step string, i int) string {
	return step + "[" + itoa(i) + "]"
}

func itoa(i int) string { return strconv.Itoa(i) }

// StepIDs returns the state's step ids in a stable order.
func (s *State) StepIDs() []string {
	ids := make([]string, 0, len(s.Steps))
	for id := range s.Steps {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}
