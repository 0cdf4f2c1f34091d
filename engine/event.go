// Package engine runs flows durably. A run is an append-only log of events; every state the
// engine, the CLI and the UI show is a fold over that log (see State).
package engine

import (
	"encoding/json"
	"strings"
	"time"
	"unicode/utf8"
)

// EventType names what happened. The set is append-only: old logs must stay readable.
type EventType string

// Run-level events.
const (
	RunStarted     EventType = "run_started"
	RunResumed     EventType = "run_resumed"
	RunWaiting     EventType = "run_waiting"
	RunSucceeded   EventType = "run_succeeded"
	RunFailed      EventType = "run_failed"
	RunCancelled   EventType = "run_cancelled"
	RunInterrupted EventType = "run_interrupted"
	// CancelRequested asks whichever process runs the run to stop it.
	CancelRequested EventType = "cancel_requested"
	// SignalReceived stores an external event for the run; a waiting step consumes it.
	SignalReceived EventType = "signal_received"
)

// Step-level events.
const (
	StepStarted     EventType = "step_started"
	StepOutput      EventType = "step_output" // batched stdout/stderr chunks
	StepSucceeded   EventType = "step_succeeded"
	StepFailed      EventType = "step_failed"
	StepSkipped     EventType = "step_skipped"
	StepInterrupted EventType = "step_interrupted"
	StepWaiting     EventType = "step_waiting"
	StepResolved    EventType = "step_resolved" // a wait, sleep or approval was resolved
	// StepRetryRequested resets a failed step (and the steps skipped because of it) to pending.
	StepRetryRequested EventType = "step_retry_requested"
	// StepManual completes a step with an output given by a person instead of running it.
	StepManual EventType = "step_manual"
	// StepTrace carries agent and model trace records (turns, deltas, tool calls, usage).
	StepTrace EventType = "step_trace"
)

// Debug-control events (see debug.go). Each is a request any process may append; the process
// advancing the run reads them from the log, so they work across processes.
const (
	// PauseRequested holds the run: no new step starts until ContinueRequested.
	PauseRequested EventType = "pause_requested"
	// ContinueRequested lifts a pause, step mode and the breakpoints the run is held at.
	ContinueRequested EventType = "continue_requested"
	// StepOnceRequested lets one more ready step start, then holds the run again.
	StepOnceRequested EventType = "step_once_requested"
	// BreakpointSet sets or clears a breakpoint before a step (BreakpointData).
	BreakpointSet EventType = "breakpoint_set"
	// BreakpointHit records that the run stopped before a step because of its breakpoint.
	BreakpointHit EventType = "breakpoint_hit"
	// RunPaused parks a held run with status paused once its running steps have finished.
	RunPaused EventType = "run_paused"
)

// RunStatus is the status of a run.
type RunStatus string

// Run statuses.
const (
	RunStatusPending RunStatus = "pending"
	// RunStatusQueued is a run recorded for the workers (started detached) that none has
	// taken yet; the first step a worker starts lists it running.
	RunStatusQueued      RunStatus = "queued"
	RunStatusRunning     RunStatus = "running"
	RunStatusWaiting     RunStatus = "waiting"
	RunStatusSucceeded   RunStatus = "succeeded"
	RunStatusFailed      RunStatus = "failed"
	RunStatusCancelled   RunStatus = "cancelled"
	RunStatusInterrupted RunStatus = "interrupted"
	// RunStatusPaused is a run parked by a pause, step mode or a breakpoint; ContinueRequested
	// or StepOnceRequested moves it on.
	RunStatusPaused RunStatus = "paused"
)

// Terminal reports whether a run in this status will never change again (retry aside).
func (s RunStatus) Terminal() bool {
	return s == RunStatusSucceeded || s == RunStatusFailed || s == RunStatusCancelled
}

// Event is one entry of a run's log.
type Event struct {
	Seq     int64           `json:"seq"` // assigned by the store, increasing across all runs
	RunID   string          `json:"run_id"`
	Type    EventType       `json:"type"`
	StepID  string          `json:"step_id,omitempty"`
	Attempt int             `json:"attempt,omitempty"`
	Time    time.Time       `json:"time"`
	Data    json.RawMessage `json:"data,omitempty"`
	// Status, when set, is the run's status after this event; stores keep it in their run index.
	Status RunStatus `json:"-"`
	// payload is the value Data was encoded from, kept by the process that made the event so
	// folding it need not decode what was just encoded (see kept). Events read from a store
	// have none.
	payload any
}

// Decode unmarshals the event's data into v.
func (e Event) Decode(v any) error {
	if e.payload != nil && kept(e.payload, v) {
		return nil
	}
	if len(e.Data) == 0 {
		return nil
	}
	return json.Unmarshal(e.Data, v)
}

// kept copies a kept payload into v when decoding Data would give exactly the same value:
// the hot payloads of every step, when their strings are valid UTF-8 (JSON would replace
// invalid bytes) and they hold no values of type any (JSON would turn an int into a float64).
func kept(payload, v any) bool {
	switch p := payload.(type) {
	case *StepResultData:
		t, ok := v.(*StepResultData)
		if ok && utf8.ValidString(p.Output) && utf8.ValidString(p.StderrTail) && utf8.ValidString(p.Error) &&
			utf8.ValidString(p.Reason) && utf8.ValidString(p.ReusedFrom) {
			*t = *p
			return true
		}
	case *StepStartedData:
		t, ok := v.(*StepStartedData)
		if ok && p.Item == nil && p.ItemValues == nil && utf8.ValidString(p.Key) && utf8.ValidString(p.Input) &&
			utf8.ValidString(p.Parent) && utf8.ValidString(p.ChildRunID) && utf8.ValidString(p.Kind) {
			*t = *p
			return true
		}
	}
	return false
}

// RunStartedData is the payload of RunStarted.
type RunStartedData struct {
	FlowName     string         `json:"flow_name"`
	FlowPath     string         `json:"flow_path"`
	Source       string         `json:"source"` // the flow file as it was when the run started
	Inputs       map[string]any `json:"inputs"`
	ParentRunID  string         `json:"parent_run_id,omitempty"`
	ParentStepID string         `json:"parent_step_id,omitempty"`
	// ForkedFrom names the run whose outputs this run reuses, with the step it was forked at.
	ForkedFrom     string `json:"forked_from,omitempty"`
	ForkedFromStep string `json:"forked_from_step,omitempty"`
	// Breakpoints are set before these steps from the start, as if by BreakpointSet.
	Breakpoints []string `json:"breakpoints,omitempty"`
	// Queued: the run was recorded for the workers and is queued until one advances it.
	Queued bool `json:"queued,omitempty"`
}

// StepStartedData is the payload of StepStarted.
type StepStartedData struct {
	Key        string `json:"key"`                    // idempotency key run/step/attempt
	Input      string `json:"input,omitempty"`        // the command or prompt after templating
	Items      int    `json:"items,omitempty"`        // map steps: number of children
	ItemValues []any  `json:"item_values,omitempty"`  // map steps: the items, so resume needs no re-evaluation
	Parent     string `json:"parent,omitempty"`       // map children: the map step's id
	Index      int    `json:"index,omitempty"`        // map children: the item's index
	Item       any    `json:"item,omitempty"`         // map children: the item
	ChildRunID string `json:"child_run_id,omitempty"` // flow steps: the sub-run
	Resumed    bool   `json:"resumed,omitempty"`      // re-executing an attempt a crash cut short
	Kind       string `json:"kind,omitempty"`
	Stepped    bool   `json:"stepped,omitempty"` // started by a StepOnceRequested of a held run
}

// StepOutputData is the payload of StepOutput.
type StepOutputData struct {
	Stream string `json:"stream"` // stdout, stderr
	Text   string `json:"text"`
}

// StepResultData is the payload of StepSucceeded, StepFailed and StepInterrupted.
type StepResultData struct {
	Output     string  `json:"output,omitempty"`
	ExitCode   *int    `json:"exit_code,omitempty"`
	StderrTail string  `json:"stderr_tail,omitempty"`
	DurationMS int64   `json:"duration_ms"`
	Error      string  `json:"error,omitempty"`
	Reason     string  `json:"reason,omitempty"` // timeout, exit, error, cancelled, interrupted
	RetryInMS  int64   `json:"retry_in_ms,omitempty"`
	Final      bool    `json:"final,omitempty"` // no more automatic attempts
	Tokens     *Tokens `json:"tokens,omitempty"`
	// ConsumedSignal is the Seq of the signal that resolved a wait or approval.
	ConsumedSignal int64 `json:"consumed_signal,omitempty"`
	// ReusedFrom names the run whose committed output a forked run took instead of running
	// the step.
	ReusedFrom string `json:"reused_from,omitempty"`
}

// Tokens counts model tokens spent by a step.
type Tokens struct {
	Prompt int `json:"prompt"`
	Output int `json:"output"`
}

// StepSkippedData is the payload of StepSkipped.
type StepSkippedData struct {
	Reason string    `json:"reason"` // for people
	Cause  SkipCause `json:"cause,omitempty"`
	// Needs are the needs that caused a SkipNeed skip: a retry or a manual output of one of
	// them re-opens the step.
	Needs []string `json:"needs,omitempty"`
}

// SkipCause says why a step was skipped.
type SkipCause string

// Skip causes.
const (
	SkipNeed SkipCause = "need" // a step it needs failed or was skipped (join: any: none succeeded)
	SkipWhen SkipCause = "when" // its when: expression was false
)

// StepWaitingData is the payload of StepWaiting.
type StepWaitingData struct {
	Events []string  `json:"events,omitempty"`
	Until  time.Time `json:"until,omitempty"`  // timer fires or wait times out
	Prompt string    `json:"prompt,omitempty"` // approvals
	Kind   string    `json:"kind"`             // wait, sleep, approval
}

// StepRetryData is the payload of StepRetryRequested.
type StepRetryData struct {
	// Input replaces the step's templated input (command or prompt) for the next attempt.
	Input string `json:"input,omitempty"`
}

// StepManualData is the payload of StepManual.
type StepManualData struct {
	Output string `json:"output"`
	Who    string `json:"who,omitempty"`
}

// BreakpointData is the payload of BreakpointSet.
type BreakpointData struct {
	On bool `json:"on"`
}

// RunPausedData is the payload of RunPaused.
type RunPausedData struct {
	Reason string    `json:"reason"` // for people: "paused", "step mode" or "breakpoint at STEP"
	Cause  HoldCause `json:"cause,omitempty"`
	Step   string    `json:"step,omitempty"` // HoldBreakpoint: the step it is held before
}

// HoldCause says what holds a paused run.
type HoldCause string

// Hold causes.
const (
	HoldPause      HoldCause = "pause"      // a pause request
	HoldStepMode   HoldCause = "step_mode"  // step mode spent its budget
	HoldBreakpoint HoldCause = "breakpoint" // a breakpoint before a step
)

// Hold is why the debug controls keep a run from going on.
type Hold struct {
	Cause HoldCause `json:"cause"`
	Step  string    `json:"step,omitempty"`
}

// String says it for people.
func (h Hold) String() string {
	switch h.Cause {
	case HoldStepMode:
		return "step mode"
	case HoldBreakpoint:
		return "breakpoint at " + h.Step
	}
	return "paused"
}

// holdFromReason reads a hold from a RunPaused written before causes were typed.
func holdFromReason(reason string) Hold {
	switch {
	case reason == "step mode":
		return Hold{Cause: HoldStepMode}
	case strings.HasPrefix(reason, "breakpoint at "):
		return Hold{Cause: HoldBreakpoint, Step: strings.TrimPrefix(reason, "breakpoint at ")}
	}
	return Hold{Cause: HoldPause}
}

// RunResultData is the payload of RunSucceeded, RunFailed, RunCancelled and RunInterrupted.
type RunResultData struct {
	Output any    `json:"output,omitempty"`
	Error  string `json:"error,omitempty"`
}

// SignalData is the payload of SignalReceived.
type SignalData struct {
	Event string          `json:"event"`
	Data  json.RawMessage `json:"data,omitempty"`
	Seq   int64           `json:"seq,omitempty"` // set by Fold: the signal's event
}

// mustJSON encodes v; the payload types above always encode.
func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		b, _ = json.Marshal(map[string]string{"encode_error": err.Error()})
	}
	return b
}
