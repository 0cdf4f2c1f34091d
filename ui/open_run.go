package ui

import (
	"fmt"
	"path/filepath"

	"tandem/engine"
	"tandem/flows"
)

// openRun is the run the workbench shows: its id, the flow it started with, its state
// folded from the log, and how far the log has been followed. The app owns it and applies
// events to it; the panes and overlays read it.
type openRun struct {
	id    string
	flow  *flows.Flow   // the run's flow, or the flow previewed while no run is open
	state *engine.State // nil while no run is open

	// tailSeq is the log position polled so far; tailSet is false until the first run
	// listing set it.
	tailSeq int64
	tailSet bool

	// breaks are the breakpoints set with B on the DAG of the flow at path breaksFor before
	// it has a run; r starts it with them.
	breaks    map[string]bool
	breaksFor string

	// disk is the run's flow file as it is now, when the workspace lists it and it differs
	// from the flow the run started with; nil when it is the same or unknown.
	disk *FlowEntry
}

// noteDisk records the run's flow file as the workspace lists it now (entries), when it
// differs from the flow the run started with.
func (r *openRun) noteDisk(entries []FlowEntry) {
	r.disk = nil
	if r.state == nil || r.state.Start.FlowPath == "" {
		return
	}
	want := absPath(r.state.Start.FlowPath)
	for i := range entries {
		e := entries[i]
		if absPath(e.Path) != want {
			continue
		}
		if e.Flow == nil || string(e.Flow.Source) != r.state.Start.Source {
			r.disk = &e
		}
		return
	}
}

func absPath(p string) string {
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return filepath.Clean(p)
}

// diskChange sums up how the file on disk differs from the run's flow: "+3 -1 lines".
func (r *openRun) diskChange() string {
	if r.disk == nil {
		return ""
	}
	if r.disk.Flow == nil {
		return "the file no longer loads"
	}
	add, del := 0, 0
	for _, e := range engine.DiffLines(r.state.Start.Source, string(r.disk.Flow.Source)) {
		switch e.Op {
		case '+':
			add++
		case '-':
			del++
		}
	}
	return fmt.Sprintf("+%d -%d lines", add, del)
}

// open replaces the run shown with run id of flow f, folded from its events.
func (r *openRun) open(id string, f *flows.Flow, events []engine.Event) {
	r.id, r.flow, r.state = id, f, engine.Fold(events)
}

// apply folds event e into the run when it is the run's and not yet seen, and reports
// whether it did.
func (r *openRun) apply(e engine.Event) bool {
	if r.state == nil || e.RunID != r.id || e.Seq <= r.state.LastSeq {
		return false
	}
	r.state.Apply(e)
	return true
}

// live reports whether an unfinished run is open.
func (r *openRun) live() bool { return r.state != nil && !r.state.Status.Terminal() }

// step returns step id's state, nil when no run is open or the step has not started.
func (r *openRun) step(id string) *engine.StepState {
	if r.state == nil {
		return nil
	}
	return r.state.Steps[id]
}

// stepKind is a step's kind from the run's flow; map children have their map step's.
func (r *openRun) stepKind(st *engine.StepState) string {
	if r.flow == nil {
		return ""
	}
	id := st.ID
	if st.Parent != "" {
		id = st.Parent
	}
	if s := r.flow.StepByID(id); s != nil {
		return string(s.Kind)
	}
	return ""
}

// listsRun reports whether a change of event type t changes the runs list.
func listsRun(t engine.EventType) bool {
	switch t {
	case engine.RunStarted, engine.RunResumed, engine.RunWaiting, engine.RunSucceeded, engine.RunFailed,
		engine.RunCancelled, engine.RunInterrupted, engine.StepRetryRequested,
		engine.RunPaused, engine.ContinueRequested, engine.StepOnceRequested:
		return true
	}
	return false
}

// setBreak sets or clears a breakpoint before step id of the flow previewed (no run yet),
// for the run r starts next, and returns the breakpoints set, in the flow's step order.
func (r *openRun) setBreak(id string) []string {
	if r.breaksFor != r.flow.Path {
		r.breaksFor, r.breaks = r.flow.Path, map[string]bool{}
	}
	r.breaks[id] = !r.breaks[id]
	if !r.breaks[id] {
		delete(r.breaks, id)
	}
	return r.breakList(r.flow)
}

func (r *openRun) breakList(f *flows.Flow) []string {
	if f == nil || r.breaksFor != f.Path {
		return nil
	}
	var out []string
	for _, s := range f.Steps {
		if r.breaks[s.ID] {
			out = append(out, s.ID)
		}
	}
	return out
}

// takeBreaks returns the breakpoints set before a run of f and clears them: they belong to
// the run about to start.
func (r *openRun) takeBreaks(f *flows.Flow) []string {
	out := r.breakList(f)
	if out != nil || (f != nil && r.breaksFor == f.Path) {
		r.breaks, r.breaksFor = nil, ""
	}
	return out
}

// dagState is what the DAG draws: the run's state, or for a flow not yet run, one with
// only the breakpoints set before its run.
func (r *openRun) dagState() *engine.State {
	if r.state != nil || r.flow == nil || r.breaksFor != r.flow.Path || len(r.breaks) == 0 {
		return r.state
	}
	return &engine.State{Steps: map[string]*engine.StepState{}, Breakpoints: r.breaks}
}
