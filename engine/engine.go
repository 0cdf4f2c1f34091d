package engine

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"time"

	"tandem/flows"
)

// Clock is the engine's source of time, injectable so tests control timers and leases.
type Clock interface {
	Now() time.Time
	After(d time.Duration) <-chan time.Time
}

type realClock struct{}

func (realClock) Now() time.Time                         { return time.Now() }
func (realClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// RealClock is the wall clock.
var RealClock Clock = realClock{}

// ErrLeased is returned when another process holds the run's lease.
var ErrLeased = errors.New("run is being advanced by another process")

// ErrRunFinished is returned for operations that need an unfinished run.
var ErrRunFinished = errors.New("run has finished")

// Options configure an Engine. Store is required; everything else has a default.
type Options struct {
	Store    Store
	Bus      *Bus
	Clock    Clock
	NewID    func() string // run ids; default: time-sortable random ids
	Parallel int           // concurrent steps per run; default runtime.NumCPU()
	Owner    string        // lease owner name; default host:pid@identity (owner.go)
	Lease    time.Duration // lease length; default 15s, renewed at a third of it
	Logger   *slog.Logger
	// PollEvery is how often a running run checks its log for cancel requests and signals
	// written by other processes; default 500ms.
	PollEvery time.Duration
	// LiveOutputLimit is how many bytes of live stdout/stderr per step attempt the log keeps;
	// default DefaultLiveOutputLimit. The step's result keeps its output either way.
	LiveOutputLimit int
}

// Engine advances runs. It is safe for concurrent use; each run is advanced by one goroutine
// at a time, guarded across processes by a lease.
type Engine struct {
	store     Store
	bus       *Bus
	clock     Clock
	newID     func() string
	parallel  int
	owner     string
	lease     time.Duration
	pollEvery time.Duration
	liveLimit int
	log       *slog.Logger

	mu    sync.RWMutex
	execs map[flows.Kind]Executor

	secrets secretBox // secret inputs of the runs this process started
	flows   flowCache // flows started or advanced here, so advancing does not parse them again
}

// New builds an engine with the shell, run and flow executors registered.
func New(o Options) (*Engine, error) {
	if o.Store == nil {
		return nil, errors.New("new engine: a store is required")
	}
	e := &Engine{store: o.Store, bus: o.Bus, clock: o.Clock, newID: o.NewID, parallel: o.Parallel,
		owner: o.Owner, lease: o.Lease, pollEvery: o.PollEvery, liveLimit: o.LiveOutputLimit, log: o.Logger, execs: map[flows.Kind]Executor{}}
	if e.bus == nil {
		e.bus = NewBus()
	}
	if e.clock == nil {
		e.clock = RealClock
	}
	if e.newID == nil {
		e.newID = NewRunID
	}
	if e.parallel <= 0 {
		e.parallel = runtime.NumCPU()
	}
	if e.owner == "" {
		e.owner = processOwner()
	}
	if e.lease <= 0 {
		e.lease = 15 * time.Second
	}
	if e.liveLimit <= 0 {
		e.liveLimit = DefaultLiveOutputLimit
	}
	if e.pollEvery <= 0 {
		e.pollEvery = 500 * time.Millisecond
	}
	if e.log == nil {
		e.log = slog.New(slog.DiscardHandler)
	}
	e.Register(flows.KindShell, commandExecutor{})
	e.Register(flows.KindRun, commandExecutor{})
	e.Register(flows.KindFlow, flowExecutor{engine: e})
	for _, k := range []flows.Kind{flows.KindWait, flows.KindSleep, flows.KindApproval} {
		e.Register(k, waitExecutor{clock: e.clock})
	}
	return e, nil
}

// Register sets the executor for a step kind, replacing any earlier one.
func (e *Engine) Register(kind flows.Kind, x Executor) {
	e.mu.Lock()
	e.execs[kind] = x
	e.mu.Unlock()
}

func (e *Engine) executor(kind flows.Kind) (Executor, bool) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	x, ok := e.execs[kind]
	return x, ok
}

// Bus returns the engine's event bus.
func (e *Engine) Bus() *Bus { return e.bus }

// Store returns the engine's store.
func (e *Engine) Store() Store { return e.store }

// Clock returns the engine's clock.
func (e *Engine) Clock() Clock { return e.clock }

// StartOptions link a new run to the run that started it.
type StartOptions struct {
	ParentRunID  string
	ParentStepID string
	RunID        string // use this id instead of a new one (child runs use derived ids)
	// Breakpoints are steps of f to hold the run before, recorded with its start so they
	// hold from the first step whoever executes it.
	Breakpoints []string
	// Queued lists the run queued, not running, until a process advances it: a run started
	// for the workers (Detach), which the starting process does not execute.
	Queued bool
	// Session is the memory session the run continues (a chat or ask turn), kept in the run
	// index (RunInfo.Session).
	Session string
}

// Start records a new run of f with resolved inputs and returns its id. It does not execute
// anything: call Execute. The flow must already be valid (flows.Load validates).
func (e *Engine) Start(ctx context.Context, f *flows.Flow, inputs map[string]any, o StartOptions) (string, error) {
	for _, b := range o.Breakpoints {
		if f.StepByID(b) == nil {
			return "", fmt.Errorf("start run of %s: breakpoint at %s: %w (steps: %s)", f.Name, b, ErrStepNotFound, strings.Join(flowStepIDs(f, nil), ", "))
		}
	}
	id := o.RunID
	if id == "" {
		id = e.newID()
	}
	now := e.clock.Now()
	inputs, secrets := redactSecrets(f, inputs)
	e.secrets.put(id, secrets)
	data := RunStartedData{FlowName: f.Name, FlowPath: f.Path, Source: string(f.Source), Inputs: inputs,
		ParentRunID: o.ParentRunID, ParentStepID: o.ParentStepID, Breakpoints: o.Breakpoints, Queued: o.Queued}
	status := RunStatusRunning
	if o.Queued {
		status = RunStatusQueued
	}
	ev := Event{RunID: id, Type: RunStarted, Time: now, Data: mustJSON(data), Status: status}
	info := RunInfo{ID: id, FlowName: f.Name, FlowPath: f.Path, Status: status,
		ParentRunID: o.ParentRunID, ParentStepID: o.ParentStepID, CreatedAt: now, UpdatedAt: now, Session: o.Session}
	if err := e.store.CreateRun(ctx, info, ev); err != nil {
		return "", fmt.Errorf("start run of %s: %w", f.Name, err)
	}
	e.bus.PublishEvents([]Event{ev})
	e.flows.remember(f)
	return id, nil
}

// State folds a run's log.
func (e *Engine) State(ctx context.Context, runID string) (*State, error) {
	events, err := e.store.Events(ctx, runID, 0)
	if err != nil {
		return nil, fmt.Errorf("read run %s: %w", runID, err)
	}
	if len(events) == 0 {
		return nil, fmt.Errorf("read run %s: %w", runID, ErrRunNotFound)
	}
	return Fold(events), nil
}

// Retry re-opens a failed (or interrupted, skipped) step of a run, optionally with an edited
// input, so the next Execute runs it again and continues the run.
func (e *Engine) Retry(ctx context.Context, runID, stepID, input string) error {
	st, err := e.State(ctx, runID)
	if err != nil {
		return err
	}
	s, ok := st.Steps[stepID]
	if !ok {
		return fmt.Errorf("retry %s in run %s: no such step (steps: %s)", stepID, runID, strings.Join(st.StepIDs(), ", "))
	}
	switch s.Status {
	case StatusFailed, StatusInterrupted, StatusSkipped, StatusRetrying:
	case StatusSucceeded:
		if input == "" {
			return fmt.Errorf("retry %s in run %s: the step succeeded; fork the run to re-run it", stepID, runID)
		}
	default:
		return fmt.Errorf("retry %s in run %s: the step is %s, not failed", stepID, runID, s.Status)
	}
	now := e.clock.Now()
	events := []Event{{RunID: runID, Type: StepRetryRequested, StepID: stepID, Time: now,
		Data: mustJSON(StepRetryData{Input: input})}}
	if st.Status != RunStatusRunning {
		events = append(events, Event{RunID: runID, Type: RunResumed, Time: now, Status: RunStatusRunning})
	}
	return e.append(ctx, events)
}

// Cancel asks the run to stop. A run advanced by this or another process stops its running
// steps and ends cancelled; a run nobody advances is cancelled at once.
func (e *Engine) Cancel(ctx context.Context, runID string) error {
	st, err := e.State(ctx, runID)
	if err != nil {
		return err
	}
	if st.Status.Terminal() {
		return fmt.Errorf("cancel run %s: %w (%s)", runID, ErrRunFinished, st.Status)
	}
	now := e.clock.Now()
	events := []Event{{RunID: runID, Type: CancelRequested, Time: now}}
	// Take the lease briefly: if nobody holds it, nobody will see the request, so finish it here.
	lease, ok, err := e.store.AcquireLease(ctx, runID, e.owner+":cancel", now, now.Add(e.lease))
	if err != nil {
		return fmt.Errorf("cancel run %s: %w", runID, err)
	}
	if ok {
		defer func() { _ = e.store.ReleaseLease(context.WithoutCancel(ctx), lease) }()
		for _, id := range st.StepIDs() {
			s := st.Steps[id]
			if s.Status == StatusRunning || s.Status == StatusWaiting || s.Status == StatusRetrying {
				events = append(events, Event{RunID: runID, Type: StepInterrupted, StepID: id,
					Attempt: attemptN(s), Time: now, Data: mustJSON(StepResultData{Reason: "cancelled", Error: "run cancelled"})})
			}
		}
		events = append(events, Event{RunID: runID, Type: RunCancelled, Time: now, Status: RunStatusCancelled,
			Data: mustJSON(RunResultData{Error: "cancelled"})})
		return e.appendFenced(ctx, lease, events)
	}
	return e.append(ctx, events)
}

// Signal stores an external event for a run. It is kept until a step waits for it; a
// finished run rejects it.
func (e *Engine) Signal(ctx context.Context, runID, event string, data []byte) error {
	info, err := e.store.Run(ctx, runID)
	if err != nil {
		return fmt.Errorf("signal run %s: %w", runID, err)
	}
	if info.Status.Terminal() {
		return fmt.Errorf("signal run %s: %w (%s); the event %q was not stored", info.ID, ErrRunFinished, info.Status, event)
	}
	return e.append(ctx, []Event{{RunID: info.ID, Type: SignalReceived, Time: e.clock.Now(),
		Data: mustJSON(SignalData{Event: event, Data: data})}})
}

// SignalAll stores several external events for a run in one transaction, in order; like
// Signal, a finished run rejects them (and none is stored).
func (e *Engine) SignalAll(ctx context.Context, runID string, signals []SignalData) error {
	if len(signals) == 0 {
		return nil
	}
	info, err := e.store.Run(ctx, runID)
	if err != nil {
		return fmt.Errorf("signal run %s: %w", runID, err)
	}
	if info.Status.Terminal() {
		return fmt.Errorf("signal run %s: %w (%s); %d events were not stored", info.ID, ErrRunFinished, info.Status, len(signals))
	}
	now := e.clock.Now()
	events := make([]Event, len(signals))
	for i, s := range signals {
		events[i] = Event{RunID: info.ID, Type: SignalReceived, Time: now, Data: mustJSON(SignalData{Event: s.Event, Data: s.Data})}
	}
	return e.append(ctx, events)
}

func (e *Engine) append(ctx context.Context, events []Event) error {
	if err := e.store.Append(ctx, events); err != nil {
		return fmt.Errorf("append events: %w", err)
	}
	e.bus.PublishEvents(events)
	return nil
}

// appendFenced appends events while holding the run's lease l.
func (e *Engine) appendFenced(ctx context.Context, l Lease, events []Event) error {
	if err := e.store.AppendFenced(ctx, l, events); err != nil {
		return fmt.Errorf("append events: %w", err)
	}
	e.bus.PublishEvents(events)
	return nil
}

func attemptN(s *StepState) int {
	if a := s.LastAttempt(); a != nil {
		return a.N
	}
	return 0
}

var idEncoding = base32.NewEncoding("0123456789abcdefghjkmnpqrstvwxyz").WithPadding(base32.NoPadding)

// NewRunID returns a 15-character id that sorts by creation time (48 bits of milliseconds)
// and carries 24 random bits, short enough to type and to match by prefix.
func NewRunID() string {
	var b [9]byte
	var ms [8]byte
	binary.BigEndian.PutUint64(ms[:], uint64(time.Now().UnixMilli()))
	copy(b[:6], ms[2:])
	_, _ = rand.Read(b[6:])
	return idEncoding.EncodeToString(b[:])
}
