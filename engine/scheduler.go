package engine

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"tandem/flows"
)

// Execute advances a run until it finishes, parks waiting for something outside it, or ctx
// ends (running steps are then recorded as interrupted, and a later Execute resumes). Only
// steps whose completion is not in the log run again.
func (e *Engine) Execute(ctx context.Context, runID string) (*State, error) {
	st, _, err := e.advance(ctx, runID)
	return st, err
}

// advanceOnce takes the run's lease, re-reads its log and advances it until it finishes,
// parks or ctx ends, then releases the lease. It returns the runner it used (nil when it got
// no lease) so advance can look for news that arrived while it parked.
func (e *Engine) advanceOnce(ctx context.Context, runID string) (*State, *runner, error) {
	info, err := e.store.Run(ctx, runID)
	if err != nil {
		return nil, nil, fmt.Errorf("execute run %s: %w", runID, err)
	}
	runID = info.ID
	lease, err := e.takeRun(ctx, info)
	if err != nil {
		return nil, nil, err
	}
	runCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); e.keepLease(runCtx, lease, cancel) }()
	defer func() {
		cancel(nil)
		wg.Wait()
		_ = e.store.ReleaseLease(context.WithoutCancel(ctx), lease)
	}()

	// Read the log only now that the lease is held: whatever happened before it, this
	// process's earlier reads included, may be stale.
	events, err := e.store.Events(ctx, runID, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("execute run %s: %w", runID, err)
	}
	st := Fold(events)
	if st.Status.Terminal() {
		return st, nil, nil
	}
	f, err := e.flows.parse(st.Start.FlowPath, st.Start.Source)
	if err != nil {
		ev := Event{RunID: runID, Type: RunFailed, Time: e.clock.Now(), Status: RunStatusFailed,
			Data: mustJSON(RunResultData{Error: "the flow recorded with the run no longer parses: " + err.Error()})}
		st.Apply(ev)
		if err := e.store.AppendFenced(ctx, lease, []Event{ev}); err != nil {
			return nil, nil, fmt.Errorf("execute run %s: %w", runID, err)
		}
		e.bus.PublishEvents([]Event{ev})
		return st, nil, nil
	}
	r := &runner{e: e, st: st, flow: f, runID: runID, lease: lease, active: map[string]context.CancelFunc{},
		results: make(chan stepResult, 64), kick: make(chan struct{}, 1), own: map[int64]bool{}, polledSeq: st.LastSeq,
		dirty: map[string]bool{}, scanAll: true, ready: newReadiness(),
		dependents: make([][]int, len(f.Steps)), order: map[string]int{}, cursor: map[string]int{}, timed: map[string]bool{},
		held: map[string]Hold{}}
	for id, ss := range st.Steps {
		if ss.Status == StatusRetrying || ss.Status == StatusWaiting {
			r.timed[id] = true
		}
	}
	for i, s := range f.Steps {
		r.order[s.ID] = i
	}
	for i, s := range f.Steps {
		for _, n := range s.Needs {
			if j, ok := r.order[n]; ok {
				r.dependents[j] = append(r.dependents[j], i)
			}
		}
	}
	st, err = r.loop(runCtx)
	if errors.Is(err, ErrFenced) {
		// Another process owns the run now; what this runner believes is not the run's state.
		r.wrote = false
		return nil, r, fmt.Errorf("execute run %s: %w", runID, err)
	}
	return st, r, err
}

type stepResult struct {
	x        *StepRun
	res      Result
	err      error
	started  time.Time
	timedOut bool
}

// runner owns one run's state while it is advanced. Its loop goroutine and its standby
// (standby.go) take turns with it under mu; executors reach only its live buffer.
type runner struct {
	e       *Engine
	st      *State
	flow    *flows.Flow
	runID   string
	lease   Lease // every commit is fenced by it
	active  map[string]context.CancelFunc
	results chan stepResult
	pending []Event
	queued  []*StepRun

	cancelling bool // a cancel request was seen: stop everything and end cancelled
	wrote      bool // something was committed

	// Scheduling is incremental: only steps marked dirty (their needs, children or time
	// changed) are looked at, so a 1,000-step run does not rescan 1,000 steps per step.
	dirty      map[string]bool
	scanAll    bool      // look at every step (start, timers, signals)
	ready      readiness // unmet needs and steps the parallelism limit holds (ready.go)
	dependents [][]int
	order      map[string]int  // flow step id -> position in the file
	cursor     map[string]int  // map step -> first child index not yet started
	timed      map[string]bool // steps retrying or waiting: the only ones with a due time
	held       map[string]Hold // ready steps the debug controls hold, with why (hold.go)
	stepping   bool            // the start being queued spends the step-mode budget

	own       map[int64]bool // seqs this runner wrote, to tell them from other processes' events
	polledSeq int64

	// lastCommit is how long the last commit took, by the wall clock: the window gather
	// waits in for more results so that parallel steps share a commit (one fsync at FULL).
	lastCommit time.Duration

	live liveBuffer // output chunks and trace records not yet in the log (live.go)

	// mu guards everything above between the loop's goroutine and the standby (standby.go).
	mu         sync.Mutex
	kick       chan struct{} // the standby tells a waiting loop to look again
	standbyErr error         // what the standby could not write; the loop stops on it
	stopped    bool          // the loop has ended: the standby must not touch the run
}

func (r *runner) loop(ctx context.Context) (*State, error) {
	// The loop's goroutine holds mu while it works on the run, and lets go of it only while
	// it waits and while it runs an attempt itself; the standby takes it meanwhile to poll the
	// log and flush live output (standby.go).
	r.mu.Lock()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); r.standby(ctx, stop) }()
	defer func() {
		r.stopped = true
		r.mu.Unlock()
		close(stop)
		wg.Wait()
	}()
	for {
		if err := r.standbyErr; err != nil {
			return r.abort(ctx, err)
		}
		if !r.cancelling {
			// Repeat until nothing changes: a skip or a finished map step can unblock steps
			// listed before it.
			for r.scanAll || len(r.dirty) > 0 || r.canUndefer() {
				r.schedule()
			}
		}
		if err := r.commit(ctx); err != nil {
			return r.abort(ctx, err)
		}
		if x := r.launch(ctx, true); x != nil {
			r.handle(ctx, r.runInline(ctx, x))
			if ctx.Err() != nil {
				return r.interrupt(ctx)
			}
			continue
		}
		if len(r.active) == 0 {
			if r.cancelling {
				r.finishCancelled()
				return r.st, r.commit(ctx)
			}
			if r.recheckHold(ctx) {
				continue
			}
			if r.finishOrPark() {
				return r.st, r.commit(ctx)
			}
		}
		var timer <-chan time.Time
		if due, ok := r.nextDue(); ok && len(r.queued) == 0 {
			timer = r.e.clock.After(max(due.Sub(r.e.clock.Now()), 0))
		}
		r.mu.Unlock()
		select {
		case res := <-r.results:
			r.mu.Lock()
			r.handle(ctx, res)
			for more := true; more; {
				select {
				case res := <-r.results:
					r.handle(ctx, res)
				default:
					more = false
				}
			}
			r.gather(ctx)
		case <-timer:
			r.mu.Lock()
			r.scanAll = true
		case <-r.kick:
			r.mu.Lock() // the standby changed something: look again
		case <-ctx.Done():
			r.mu.Lock()
			return r.interrupt(ctx)
		}
	}
}

// gather waits, when other attempts are still running, for more of them to finish before
// the loop commits, for at most as long as the last commit took: results that arrive in the
// window share the commit (and its fsync at FULL) instead of each paying one, and a step
// waits at most one more commit's time. PostgreSQL's commit_delay does the same. A lone
// step, the usual sequential case, never waits.
func (r *runner) gather(ctx context.Context) {
	if len(r.active) < 2 || r.lastCommit <= 0 || r.cancelling {
		return
	}
	window := time.NewTimer(min(r.lastCommit, maxGather))
	defer window.Stop()
	for len(r.active) >= 2 {
		select {
		case res := <-r.results:
			r.handle(ctx, res)
		case <-window.C:
			return
		case <-ctx.Done():
			return
		}
	}
}

// maxGather bounds gather's window whatever the last commit took. A variable so that a test
// can widen it.
var maxGather = 2 * time.Millisecond

// flushEvery is how often buffered live output and trace records are moved into the log.
const flushEvery = 250 * time.Millisecond

// add applies an event to the state now and queues it for the next commit.
func (r *runner) add(ev Event) {
	if ev.StepID != "" && r.st.Status != RunStatusRunning {
		// The first step event after a park, an interruption or the queue resumes the run; a
		// worker that looks at a waiting run and finds nothing to do writes nothing.
		r.add(Event{Type: RunResumed, Status: RunStatusRunning})
	}
	ev.RunID = r.runID
	if ev.Time.IsZero() {
		ev.Time = r.e.clock.Now()
	}
	r.st.Apply(ev)
	r.pending = append(r.pending, ev)
	r.touch(ev)
}

// touch marks what an event may have unblocked as dirty.
func (r *runner) touch(ev Event) {
	switch ev.Type {
	case StepStarted:
		delete(r.timed, ev.StepID)
		r.settle(ev.StepID)
		return
	case StepManual, StepRetryRequested:
		// These re-open other steps too (dependents skipped because of this one): the full
		// scan recounts unmet needs from the state.
		r.scanAll = true
	case StepSucceeded, StepFailed, StepSkipped, StepInterrupted, StepWaiting:
	default:
		return
	}
	id := ev.StepID
	r.settle(id)
	if ss, ok := r.st.Steps[id]; ok && (ss.Status == StatusRetrying || ss.Status == StatusWaiting) {
		r.timed[id] = true
	} else {
		delete(r.timed, id)
	}
	if ss, ok := r.st.Steps[id]; ok && ss.Parent != "" {
		r.dirty[ss.Parent] = true
		return
	}
	r.dirty[id] = true
	if i, ok := r.order[id]; ok {
		for _, d := range r.dependents[i] {
			r.dirty[r.flow.Steps[d].ID] = true
		}
	}
}

// commit appends the queued events in one transaction, on condition that the runner still
// holds the run's lease, and publishes them.
func (r *runner) commit(ctx context.Context) error {
	if len(r.pending) == 0 {
		return nil
	}
	events := r.pending
	r.pending = nil
	began := time.Now()
	if err := r.e.store.AppendFenced(context.WithoutCancel(ctx), r.lease, events); err != nil {
		return fmt.Errorf("commit %d events of run %s: %w", len(events), r.runID, err)
	}
	r.lastCommit = time.Since(began)
	r.wrote = true
	for _, ev := range events {
		// An event right after the last one polled leaves no room for another process's
		// event before it: move the poll past it rather than read it back (see poll).
		if ev.Seq == r.polledSeq+1 {
			r.polledSeq = ev.Seq
		} else {
			r.own[ev.Seq] = true
		}
		if ev.Seq > r.st.LastSeq {
			r.st.LastSeq = ev.Seq
		}
	}
	r.e.bus.PublishEvents(events)
	return nil
}

// launch starts the attempts queued by schedule, after their start is committed, each in
// its own goroutine. When the loop calls it (own) and the one attempt queued would be the
// only thing going on, it returns that attempt instead for the loop's goroutine to run
// itself: a quick step then costs no goroutine and no hand-off back.
func (r *runner) launch(ctx context.Context, own bool) *attempt {
	var inline *attempt
	for _, x := range r.queued {
		actx, cancel := context.WithCancel(ctx)
		if x.Step.Timeout > 0 {
			actx, cancel = context.WithTimeout(ctx, x.Step.Timeout)
		}
		r.active[x.StepID] = cancel
		exec, _ := r.e.executor(x.Step.Kind)
		a := &attempt{x: x, ctx: actx, exec: exec, clock: r.e.clock}
		if own && len(r.queued) == 1 && len(r.active) == 1 && r.quiet() && ctx.Err() == nil {
			inline = a
			continue
		}
		go func() { r.results <- a.run(ctx) }()
	}
	r.queued = nil
	return inline
}

// schedule decides what can happen now: skips, map expansions, new attempts, resolved waits,
// finished map steps. It only adds events and queues attempts.
func (r *runner) schedule() {
	now := r.e.clock.Now()
	full := r.scanAll
	var todo []*flows.Step
	if full {
		todo = r.flow.Steps
		r.scanAll = false
		r.recount()
	} else {
		r.undefer()
		for id := range r.dirty {
			if s := r.flow.StepByIndex(r.order, id); s != nil {
				todo = append(todo, s)
			}
		}
		sort.Slice(todo, func(i, j int) bool { return r.order[todo[i].ID] < r.order[todo[j].ID] })
	}
	clear(r.dirty)
	for _, s := range todo {
		ss := r.st.Step(s.ID)
		delete(r.held, s.ID)
		switch ss.Status {
		case StatusPending:
			if !r.needsDone(s.ID) {
				continue
			}
			if reason := r.blocked(s); reason != "" {
				r.add(Event{Type: StepSkipped, StepID: s.ID, Data: mustJSON(StepSkippedData{Reason: reason, Cause: SkipNeed, Needs: r.blockers(s)})})
				continue
			}
			if s.When != "" {
				ok, err := flows.EvalBool(s.When, r.data(s, ss))
				if err != nil {
					r.failAtStart(s.ID, s.Kind, fmt.Errorf("when: %w", err))
					continue
				}
				if !ok {
					r.add(Event{Type: StepSkipped, StepID: s.ID, Data: mustJSON(StepSkippedData{Reason: "when is false: " + s.When, Cause: SkipWhen})})
					continue
				}
			}
			if !r.gate(s) {
				continue
			}
			if s.Map != "" {
				r.expand(s, ss)
			} else {
				r.start(s, ss, false)
			}
			r.stepping = false
		case StatusRetrying:
			if !now.Before(ss.RetryAt) && r.gate(s) {
				r.start(s, ss, false)
				r.stepping = false
			}
		case StatusInterrupted:
			// Cut by Ctrl-C, SIGTERM or a shutdown: run the same attempt again, under the
			// same idempotency key, as after a crash.
			if r.gate(s) {
				r.start(s, ss, true)
				r.stepping = false
			}
		case StatusRunning:
			if s.Map != "" {
				r.scheduleChildren(s, ss, full)
			} else if !r.busy(s.ID) {
				r.start(s, ss, true) // left running by a crashed process
			}
		case StatusWaiting:
			r.checkWait(s, ss, now)
		}
	}
}

// parks reports whether steps of a kind only park: their executor returns at once with what
// they wait for, so they take no slot of the parallelism limit (a run of many waits starts
// them all in one commit instead of a few at a time).
func parks(k flows.Kind) bool {
	return k == flows.KindWait || k == flows.KindSleep || k == flows.KindApproval
}

// busy reports whether this runner is executing the step or about to.
func (r *runner) busy(id string) bool {
	if _, ok := r.active[id]; ok {
		return true
	}
	for _, x := range r.queued {
		if x.StepID == id {
			return true
		}
	}
	return false
}

// blocked returns why a step cannot run because of a step it needs, or "".
func (r *runner) blocked(s *flows.Step) string {
	if s.Join == flows.JoinAny {
		return r.blockedAny(s)
	}
	for _, n := range s.Needs {
		ns := r.st.Step(n)
		switch ns.Status {
		case StatusFailed:
			if dep := r.flow.StepByIndex(r.order, n); dep == nil || !dep.ContinueOnError {
				return needsPrefix + n + ", which failed"
			}
		case StatusSkipped:
			return needsPrefix + n + ", which was skipped"
		}
	}
	return ""
}

// start queues an attempt of a step (or map child) if the parallelism limit allows.
func (r *runner) start(s *flows.Step, ss *StepState, resumed bool) bool {
	if len(r.active)+len(r.queued) >= r.e.parallel && !parks(s.Kind) {
		r.deferStep(s.ID)
		return false
	}
	exec, ok := r.e.executor(s.Kind)
	if !ok {
		r.failAtStart(ss.ID, s.Kind, Permanent(fmt.Errorf("no executor for %s steps in this process (is a model configured?)", s.Kind)))
		return true
	}
	n := attemptN(ss) + 1
	if resumed && n > 1 {
		n--
	}
	data := r.data(s, ss)
	input := ss.InputOverride
	if resumed {
		if a := ss.LastAttempt(); a != nil {
			input = a.Input
		}
	}
	if input == "" {
		var err error
		if input, err = exec.Prepare(s, data); err != nil {
			r.failAtStart(ss.ID, s.Kind, Permanent(err))
			return true
		}
	}
	d := StepStartedData{Key: idemKey(r.runID, ss.ID, n), Input: input, Kind: string(s.Kind), Resumed: resumed,
		Stepped: r.stepping && ss.Parent == ""}
	if ss.Parent != "" {
		d.Parent, d.Index, d.Item = ss.Parent, ss.Index, ss.Item
	}
	if s.Kind == flows.KindFlow {
		d.ChildRunID = childRunID(r.runID, ss.ID, n)
	}
	r.add(Event{Type: StepStarted, StepID: ss.ID, Attempt: n, Data: mustJSON(d), payload: &d})
	stepID := ss.ID
	r.queued = append(r.queued, &StepRun{RunID: r.runID, StepID: stepID, Attempt: n, Key: d.Key, Resumed: resumed, Step: s,
		Flow: r.flow, Input: input, Data: data,
		Emit:  func(stream, text string) { r.emit(stepID, n, stream, text) },
		Trace: func(kind string, v any) { r.trace(stepID, n, kind, v) }})
	return true
}

// failAtStart records a step that could not even start (a template or expression error).
func (r *runner) failAtStart(id string, kind flows.Kind, err error) {
	ss := r.st.Step(id)
	n := attemptN(ss) + 1
	r.add(Event{Type: StepStarted, StepID: id, Attempt: n, Data: mustJSON(StepStartedData{Key: idemKey(r.runID, id, n), Kind: string(kind),
		Stepped: r.stepping && ss.Parent == ""})})
	r.add(Event{Type: StepFailed, StepID: id, Attempt: n, Data: mustJSON(StepResultData{Error: err.Error(), Reason: "error", Final: true})})
}

// handle records a finished attempt.
func (r *runner) handle(ctx context.Context, res stepResult) {
	id := res.x.StepID
	if cancel, ok := r.active[id]; ok {
		cancel()
		delete(r.active, id)
	}
	r.flushLive(true, id)
	dur := r.e.clock.Now().Sub(res.started)
	d := StepResultData{Output: res.res.Output, ExitCode: res.res.ExitCode, StderrTail: res.res.StderrTail,
		DurationMS: dur.Milliseconds(), Tokens: res.res.Tokens}
	ev := Event{StepID: id, Attempt: res.x.Attempt}
	switch {
	case res.err == nil && res.res.Park != nil:
		ev.Type, ev.Data = StepWaiting, mustJSON(res.res.Park)
	case res.err == nil:
		ev.Type = StepSucceeded
	case r.cancelling || ctx.Err() != nil:
		ev.Type = StepInterrupted
		d.Reason, d.Error = "interrupted", "interrupted before it finished"
		if r.cancelling {
			d.Reason, d.Error = "cancelled", "run cancelled"
		}
	default:
		ev.Type = StepFailed
		d.Error, d.Reason = res.err.Error(), "error"
		var xe *ExitError
		if errors.As(res.err, &xe) {
			d.Reason = "exit"
		}
		if res.timedOut {
			d.Reason, d.Error = "timeout", fmt.Sprintf("timed out after %s", res.x.Step.Timeout)
		}
		d.Final = IsPermanent(res.err) || r.st.Step(id).Failures+1 >= maxAttempts(res.x.Step)
		if !d.Final {
			d.RetryInMS = backoff(res.x.Step.Retry, r.st.Step(id).Failures+1).Milliseconds()
		}
	}
	if ev.Type != StepWaiting {
		ev.Data, ev.payload = mustJSON(d), &d
	}
	r.add(ev)
}

// finishOrPark ends the run when nothing is left to do. It reports false while a retry (of a
// step or of a map step's item) is due later in this process.
func (r *runner) finishOrPark() bool {
	waiting, retrying, failed := false, false, []string{}
	behindWait := map[string]bool{}
	for _, s := range r.flow.Steps {
		ss := r.st.Step(s.ID)
		status := ss.Status
		if status == StatusRunning && s.Map != "" {
			// A map step in progress is as far from done as its items: one waiting to retry
			// keeps the run going (or holds it) like a retrying step.
			if status = r.itemsStatus(ss); status == StatusRunning {
				r.scanAll = true // a full scan starts or finishes what is left
				return false
			}
		}
		switch status {
		case StatusRetrying:
			if !r.st.Holding() {
				return false
			}
			retrying = true // due while the run holds: it would only be held then
		case StatusWaiting:
			waiting = true
		case StatusPending, StatusRunning, StatusInterrupted:
			waiting = waiting || r.pendingBehindWait(s, behindWait)
		case StatusFailed:
			if !s.ContinueOnError {
				failed = append(failed, s.ID)
			}
		}
	}
	if r.parkHeld(retrying) {
		return true
	}
	if waiting {
		if r.st.Status != RunStatusWaiting {
			r.add(Event{Type: RunWaiting, Status: RunStatusWaiting})
		}
		return true
	}
	if len(failed) > 0 {
		msg := fmt.Sprintf("step %s failed", failed[0])
		if len(failed) > 1 {
			msg = fmt.Sprintf("steps %s failed", strings.Join(failed, ", "))
		}
		if a := r.st.Step(failed[0]).LastAttempt(); a != nil && a.Error != "" {
			msg += ": " + a.Error
		}
		r.add(Event{Type: RunFailed, Status: RunStatusFailed, Data: mustJSON(RunResultData{Error: msg})})
		return true
	}
	out, err := r.outputs()
	if err != nil {
		r.add(Event{Type: RunFailed, Status: RunStatusFailed, Data: mustJSON(RunResultData{Error: "outputs: " + err.Error()})})
		return true
	}
	r.add(Event{Type: RunSucceeded, Status: RunStatusSucceeded, Data: mustJSON(RunResultData{Output: out})})
	return true
}

// pendingBehindWait reports whether a not-yet-run step is held up (transitively) by a wait.
// seen remembers the answer for each step already asked about in this pass, so a DAG with
// many paths between two steps (layers that each need all of the one before) is walked once
// per edge, not once per path.
func (r *runner) pendingBehindWait(s *flows.Step, seen map[string]bool) bool {
	if behind, ok := seen[s.ID]; ok {
		return behind
	}
	seen[s.ID] = false // a cycle cannot pass validation; this only stops re-entry
	for _, n := range s.Needs {
		ns := r.st.Step(n)
		if ns.Status == StatusWaiting {
			seen[s.ID] = true
			return true
		}
		if dep := r.flow.StepByIndex(r.order, n); dep != nil && !ns.Status.Done() && r.pendingBehindWait(dep, seen) {
			seen[s.ID] = true
			return true
		}
	}
	return false
}

func (r *runner) finishCancelled() {
	now := r.e.clock.Now()
	for _, id := range r.st.StepIDs() {
		ss := r.st.Steps[id]
		if ss.Status == StatusWaiting || ss.Status == StatusRetrying {
			r.add(Event{Type: StepInterrupted, StepID: id, Attempt: attemptN(ss), Time: now,
				Data: mustJSON(StepResultData{Reason: "cancelled", Error: "run cancelled"})})
		}
	}
	r.add(Event{Type: RunCancelled, Status: RunStatusCancelled, Data: mustJSON(RunResultData{Error: "cancelled"})})
}

// interrupt stops every running step, records them as interrupted and the run as
// interrupted, so a later resume continues from there.
func (r *runner) interrupt(ctx context.Context) (*State, error) {
	cause := context.Cause(ctx)
	if errors.Is(cause, ErrFenced) {
		// The run is another process's now: stop the steps and write nothing.
		return r.abort(ctx, cause)
	}
	for len(r.active) > 0 {
		r.handle(ctx, <-r.results)
	}
	r.flushLive(false, "")
	msg := "interrupted; resume with: tandem resume " + r.runID
	if errors.Is(cause, ErrLeased) {
		msg = "lost the run's lease to another process"
	}
	r.add(Event{Type: RunInterrupted, Status: RunStatusInterrupted, Data: mustJSON(RunResultData{Error: msg})})
	if err := r.commit(ctx); err != nil {
		return r.st, err
	}
	return r.st, cause
}

// abort stops after a store failure: nothing more can be recorded, so stop the steps and
// report; the log still holds everything committed and resume continues from it.
func (r *runner) abort(ctx context.Context, err error) (*State, error) {
	if errors.Is(err, ErrStoreFull) {
		err = fmt.Errorf("run %s stopped: %w; every step committed before is kept, and the step that was "+
			"running runs again under its key: free some space, then resume with: tandem resume %s", r.runID, err, r.runID)
	}
	for _, cancel := range r.active {
		cancel()
	}
	for len(r.active) > 0 {
		res := <-r.results
		delete(r.active, res.x.StepID)
	}
	return r.st, err
}

// nextDue is the earliest time a retry or a timer is due.
func (r *runner) nextDue() (time.Time, bool) {
	var due time.Time
	consider := func(t time.Time) {
		if !t.IsZero() && (due.IsZero() || t.Before(due)) {
			due = t
		}
	}
	for id := range r.timed {
		if _, held := r.held[id]; held {
			continue
		}
		ss := r.st.Step(id)
		switch ss.Status {
		case StatusRetrying:
			consider(ss.RetryAt)
		case StatusWaiting:
			if ss.Waiting != nil {
				consider(ss.Waiting.Until)
			}
		}
	}
	return due, !due.IsZero()
}

// poll reads events other processes appended to this run (cancel requests, signals).
func (r *runner) poll(ctx context.Context) error {
	events, err := r.e.store.Events(ctx, r.runID, r.polledSeq)
	if err != nil {
		return fmt.Errorf("poll run %s: %w", r.runID, err)
	}
	for _, ev := range events {
		r.polledSeq = max(r.polledSeq, ev.Seq)
		if r.own[ev.Seq] {
			delete(r.own, ev.Seq)
			continue
		}
		switch ev.Type {
		case CancelRequested:
			r.st.Apply(ev)
			r.startCancel()
		case SignalReceived:
			r.st.Apply(ev)
			r.scanAll = true
		default:
			r.pollDebug(ev)
		}
	}
	return nil
}

func (r *runner) startCancel() {
	if r.cancelling {
		return
	}
	r.cancelling = true
	for _, cancel := range r.active {
		cancel()
	}
	for _, x := range r.queued {
		r.add(Event{Type: StepInterrupted, StepID: x.StepID, Attempt: x.Attempt,
			Data: mustJSON(StepResultData{Reason: "cancelled", Error: "run cancelled"})})
	}
	r.queued = nil
}

func idemKey(run, step string, attempt int) string { return run + "/" + step + "/" + itoa(attempt) }

// childRunID derives a sub-flow's run id from its parent's run, step and attempt. A map item
// "a[1]" becomes "a~1": step ids never hold "~", so it cannot meet a step named "a-1".
func childRunID(run, step string, attempt int) string {
	return run + "." + strings.NewReplacer("[", "~", "]", "").Replace(step) + "." + itoa(attempt)
}

func maxAttempts(s *flows.Step) int {
	if s.Retry.MaxAttempts < 1 {
		return 1
	}
	return s.Retry.MaxAttempts
}

// sortedKeys returns m's keys in order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
