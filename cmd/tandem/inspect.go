package main

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"tandem/cmd/tandem/internal/render"
	"tandem/engine"
)

func (a *app) runsCommand() *cobra.Command {
	var all bool
	var status string
	var limit int
	return a.command(spec{use: "runs", short: "list runs (id, flow, status, started, duration)", json: "print JSON",
		flags: func(f *pflag.FlagSet) {
			f.BoolVar(&all, "all", false, "include child runs (sub-flows, flow tools)")
			f.StringVar(&status, "status", "", "only runs with this status (comma-separated)")
			f.IntVar(&limit, "limit", 50, "at most this many runs (0: all)")
		},
		onDB: func(ctx context.Context, e *env, _ []string) error {
			q := engine.RunQuery{TopLevel: !all, Limit: limit}
			if status != "" {
				for _, s := range strings.Split(status, ",") {
					st := engine.RunStatus(strings.TrimSpace(s))
					if !slices.Contains(runStatuses, st) {
						return usagef("--status %q: a run's status is one of %s", st, joinStatuses(runStatuses, ", "))
					}
					q.Status = append(q.Status, st)
				}
			}
			runs, err := e.db.Runs(ctx, q)
			if err != nil {
				return err
			}
			if a.json {
				return printJSON(render.RunRows(runs, time.Now()))
			}
			if len(runs) == 0 && len(q.Status) > 0 {
				fmt.Fprintf(stdout, "no %s runs\n", joinStatuses(q.Status, " or "))
				return nil
			}
			return render.Runs(stdout, runs, time.Now())
		}})
}

// runStatuses are the statuses runs --status accepts.
var runStatuses = []engine.RunStatus{
	engine.RunStatusPending, engine.RunStatusQueued, engine.RunStatusRunning, engine.RunStatusWaiting, engine.RunStatusPaused,
	engine.RunStatusSucceeded, engine.RunStatusFailed, engine.RunStatusCancelled, engine.RunStatusInterrupted,
}

func joinStatuses(ss []engine.RunStatus, sep string) string {
	names := make([]string, len(ss))
	for i, s := range ss {
		names[i] = string(s)
	}
	return strings.Join(names, sep)
}

func (a *app) traceCommand() *cobra.Command {
	var hideThinking, join bool
	var attempt int
	return a.command(spec{use: "trace RUN [STEP] [--attempt N]", short: "print the reasoning trace of a run's agent and llm steps, or of one step",
		args: func(n int) bool { return n == 1 || n == 2 }, json: "print JSON records", complete: completeRunStep,
		flags: func(f *pflag.FlagSet) {
			f.BoolVar(&hideThinking, "no-thinking", false, "leave thinking out")
			f.IntVar(&attempt, "attempt", 0, "only attempt N of STEP (default: every attempt)")
			f.BoolVar(&join, "join", false, "with --json: one record per streamed reply instead of one per fragment")
		},
		onRun: func(ctx context.Context, e *env, run engine.RunInfo, args []string) error {
			step := ""
			if len(args) == 1 {
				step = args[0]
			} else if attempt != 0 {
				return usagef("--attempt %d needs a STEP: tandem trace %s STEP --attempt %d", attempt, run.ID, attempt)
			}
			if step != "" {
				st, err := e.engine.State(ctx, run.ID)
				if err != nil {
					return err
				}
				if _, ok := st.Steps[step]; !ok {
					return usagef("run %s has no step %q (its steps: %s)", run.ID, step, strings.Join(st.StepIDs(), ", "))
				}
			}
			recs, err := traceRecords(ctx, e, run.ID, step, attempt)
			if err != nil {
				return err
			}
			if a.json {
				if join {
					recs = render.Join(recs)
				}
				if recs == nil {
					recs = []render.Record{}
				}
				return printJSON(recs)
			}
			if len(recs) == 0 {
				what := "run " + run.ID
				if step != "" {
					what = "step " + step + " of run " + run.ID
					if attempt != 0 {
						what = fmt.Sprintf("attempt %d of step %s of run %s", attempt, step, run.ID)
					}
				}
				fmt.Fprintf(stdout, "%s has no agent or llm trace (tandem show %s lists its steps)\n", what, run.ID)
				return nil
			}
			render.Trace(stdout, render.StyleFor(os.Stdout), recs, hideThinking)
			return nil
		}})
}

// traceRecords reads the trace of a run one step attempt at a time, in the order they
// started (parallel steps interleave in the log; a reader follows one), each followed by
// the runs it started (flow tools, agent handoffs, sub-flows), read the same way. A step
// keeps only that step's records and the runs it started; an attempt (with a step) only
// that attempt's and the runs it started.
func traceRecords(ctx context.Context, e *env, root, step string, attempt int) ([]render.Record, error) {
	var recs []render.Record
	var read func(id, step string, attempt int) error
	read = func(id, step string, attempt int) error {
		events, err := e.db.Events(ctx, id, 0)
		if err != nil {
			return err
		}
		type group struct {
			step    string
			attempt int
			recs    []render.Record
		}
		var groups []*group
		byKey := map[string]*group{}
		at := func(step string, attempt int) *group {
			key := fmt.Sprintf("%s#%d", step, attempt)
			g, ok := byKey[key]
			if !ok {
				g = &group{step: step, attempt: attempt}
				byKey[key] = g
				groups = append(groups, g)
			}
			return g
		}
		for _, ev := range events {
			if step != "" && (ev.StepID != step || attempt != 0 && ev.Attempt != attempt) {
				continue
			}
			switch ev.Type {
			case engine.StepStarted:
				at(ev.StepID, ev.Attempt)
			case engine.StepTrace:
				var d engine.TraceData
				if err := ev.Decode(&d); err != nil {
					return fmt.Errorf("read the trace of run %s: event %d: %w", id, ev.Seq, err)
				}
				g := at(ev.StepID, ev.Attempt)
				g.recs = append(g.recs, render.Record{RunID: id, StepID: ev.StepID, Attempt: ev.Attempt, Kind: d.Kind, Data: d.Data})
			case engine.StepOutput:
				var d engine.StepOutputData
				if ev.Decode(&d) == nil && (d.Stream == "content" || d.Stream == "thinking") {
					g := at(ev.StepID, ev.Attempt)
					g.recs = append(g.recs, render.Record{RunID: id, StepID: ev.StepID, Attempt: ev.Attempt, Kind: d.Stream, Text: d.Text})
				}
			}
		}
		kids, err := e.db.Runs(ctx, engine.RunQuery{ParentID: id})
		if err != nil {
			return err
		}
		slices.Reverse(kids) // oldest first
		done := map[string]bool{}
		for _, g := range groups {
			recs = append(recs, g.recs...)
			for _, k := range kids {
				if !done[k.ID] && k.ParentStepID == g.step && startedBy(k.ID, id, g.step, g.attempt) {
					done[k.ID] = true
					if err := read(k.ID, "", 0); err != nil {
						return err
					}
				}
			}
		}
		for _, k := range kids { // started by a step whose start the log does not show
			if !done[k.ID] && (step == "" || k.ParentStepID == step && startedBy(k.ID, id, step, attempt)) {
				if err := read(k.ID, "", 0); err != nil {
					return err
				}
			}
		}
		return nil
	}
	if err := read(root, step, attempt); err != nil {
		return nil, err
	}
	return recs, nil
}

// startedBy reports whether child run id was started by the given attempt of step (any
// attempt when 0): a child's id is its parent's run, step and attempt
// ("RUN.STEP.ATTEMPT", then the child's own suffix).
func startedBy(id, root, step string, attempt int) bool {
	if attempt == 0 {
		return true
	}
	prefix := fmt.Sprintf("%s.%s.%d", root, strings.NewReplacer("[", "~", "]", "").Replace(step), attempt)
	return id == prefix || strings.HasPrefix(id, prefix+".")
}
