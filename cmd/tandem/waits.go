package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/user"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"tandem/cmd/tandem/internal/render"
	"tandem/engine"
	"tandem/flows"
)

// waitCommands resolve what runs wait on, and advance runs in the background.
func (a *app) waitCommands() []*cobra.Command {
	var data, comment string
	decide := func(verb string, approved bool) *cobra.Command {
		return a.command(spec{use: verb + " RUN STEP [--comment TEXT]", short: verb + " a waiting approval step", advances: true,
			complete: completeRunStep,
			flags:    func(f *pflag.FlagSet) { f.StringVar(&comment, "comment", "", "why") },
			onRun: func(ctx context.Context, e *env, run engine.RunInfo, args []string) error {
				return decideApproval(ctx, e, run, args[0], approved, comment)
			}})
	}
	return []*cobra.Command{
		a.command(spec{use: "signal RUN EVENT [--data JSON]", short: "deliver an event to a run (stored at once, applied when it advances)",
			complete: completeRunEvent,
			flags:    func(f *pflag.FlagSet) { f.StringVar(&data, "data", "", "the event's data, as JSON") },
			onRun: func(ctx context.Context, e *env, run engine.RunInfo, args []string) error {
				var raw []byte
				if data != "" {
					if !json.Valid([]byte(data)) {
						return usagef("--data is not valid JSON: %s", data)
					}
					raw = []byte(data)
				}
				if err := e.engine.Signal(ctx, run.ID, args[0], raw); err != nil {
					return err
				}
				fmt.Fprintf(stdout, "signal %s stored for run %s; it applies when the run next advances (tandem worker, or the process running it)\n", args[0], run.ID)
				return nil
			}}),
		decide("approve", true),
		decide("reject", false),
		a.workerCommand(),
		a.command(spec{use: "inbox", short: "everything waiting on a person or an event, across runs", json: "print JSON", onDB: a.inbox}),
	}
}

func decideApproval(ctx context.Context, e *env, run engine.RunInfo, step string, approved bool, comment string) error {
	done := map[bool]string{true: "approved", false: "rejected"}[approved]
	decide := e.engine.Reject
	if approved {
		decide = e.engine.Approve
	}
	if err := decide(ctx, run.ID, step, approver(), comment); err != nil {
		if errors.Is(err, engine.ErrNotAwaitingApproval) {
			if st, serr := e.engine.State(ctx, run.ID); serr == nil {
				if s, ok := st.Steps[step]; ok && s.Waiting != nil && s.Waiting.Kind == string(flows.KindApproval) {
					return usagef("step %s of run %s is no longer waiting for an approval: it %s (tandem show %s has its decision)", step, run.ID, s.Status, run.ID)
				}
			}
			return usagef("step %s of run %s is not waiting for an approval (tandem inbox lists what is)", step, run.ID)
		}
		return err
	}
	st, elsewhere, err := e.engine.Advance(ctx, run.ID)
	if elsewhere {
		fmt.Fprintf(stdout, "%s %s of run %s; the process running it applies it\n", done, step, run.ID)
		return nil
	}
	if err != nil {
		return fmt.Errorf("advance run %s after the decision (it is recorded; tandem resume %s goes on): %w", run.ID, run.ID, err)
	}
	fmt.Fprintf(stdout, "%s %s of run %s; the run %s\n", done, step, run.ID, render.StatusPhrase(st.Status))
	return nil
}

// approver is who an approval or rejection is recorded as, here and in the workbench: $USER,
// else the account's name.
func approver() string {
	if who := os.Getenv("USER"); who != "" {
		return who
	}
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	return ""
}

func (a *app) workerCommand() *cobra.Command {
	var untilIdle, resumeInterrupted bool
	var poll time.Duration
	var runs int
	return a.command(spec{use: "worker", short: "advance every run in the database: timers, signals, crashed and detached runs", advances: true,
		flags: func(f *pflag.FlagSet) {
			f.BoolVar(&untilIdle, "until-idle", false, "advance everything that can advance now, then exit")
			f.DurationVar(&poll, "poll", time.Second, "how often to look for work (on PostgreSQL a worker is also woken at once by requests and new runs)")
			f.IntVar(&runs, "runs", 4, "runs advanced at once")
			f.BoolVar(&resumeInterrupted, "resume-interrupted", false, "also resume runs stopped by Ctrl-C or SIGTERM (by default only tandem resume does)")
		},
		onDB: func(ctx context.Context, e *env, _ []string) error {
			sub := e.engine.Bus().Subscribe("")
			defer sub.Close()
			printNotices := func() {
				for _, n := range sub.Next() {
					if n.Event == nil {
						continue
					}
					if line, ok := render.WorkerLine(n.Event); ok {
						fmt.Fprintf(stdout, "%s  %s\n", n.Event.Time.Local().Format(time.TimeOnly), line)
					}
				}
			}
			stop, done := make(chan struct{}), make(chan struct{})
			go func() {
				defer close(done)
				for {
					select {
					case <-sub.Ready():
						printNotices()
					case <-stop:
						printNotices() // what the last advance published before the worker returned
						return
					}
				}
			}()
			defer func() { close(stop); <-done }()
			w := &engine.Worker{Engine: e.engine, Concurrency: runs, ResumeInterrupted: resumeInterrupted, OnError: func(id string, err error) {
				e.log.Error("advance run", "run", id, "err", err)
				fmt.Fprintf(stderr, "run %s: %v\n", id, err)
			}}
			if untilIdle {
				return w.UntilIdle(ctx)
			}
			fmt.Fprintf(stdout, "worker %d advancing runs in %s (Ctrl-C stops)\n", os.Getpid(), e.db.Location())
			return w.Run(ctx, poll)
		}})
}

type inboxItem struct {
	RunID  string     `json:"run_id"`
	Flow   string     `json:"flow"`
	StepID string     `json:"step_id"`
	Kind   string     `json:"kind"`
	Prompt string     `json:"prompt,omitempty"`
	Events []string   `json:"events,omitempty"`
	Until  *time.Time `json:"until,omitempty"`
	Since  time.Time  `json:"since"`
}

func (a *app) inbox(ctx context.Context, e *env, _ []string) error {
	runs, err := e.db.Runs(ctx, engine.RunQuery{Status: []engine.RunStatus{engine.RunStatusWaiting}})
	if err != nil {
		return err
	}
	items := []inboxItem{}
	for _, r := range runs {
		st, err := e.engine.State(ctx, r.ID)
		if err != nil {
			return err
		}
		for _, id := range render.StepOrder(st) {
			s := st.Step(id)
			if s.Status != engine.StatusWaiting || s.Waiting == nil {
				continue
			}
			it := inboxItem{RunID: r.ID, Flow: r.FlowName, StepID: id, Kind: s.Waiting.Kind, Prompt: s.Waiting.Prompt,
				Events: s.Waiting.Events}
			if !s.Waiting.Until.IsZero() {
				until := s.Waiting.Until
				it.Until = &until
			}
			if a := s.LastAttempt(); a != nil {
				it.Since = a.StartedAt
			}
			items = append(items, it)
		}
	}
	if a.json {
		return printJSON(items)
	}
	if len(items) == 0 {
		fmt.Fprintln(stdout, "nothing is waiting")
		return nil
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "RUN\tFLOW\tSTEP\tWAITS FOR\tDEADLINE\tHOW TO RESOLVE")
	for _, it := range items {
		what, how := "", ""
		switch it.Kind {
		case "approval":
			what, how = fmt.Sprintf("approval: %q", it.Prompt), fmt.Sprintf("tandem approve|reject %s %s", it.RunID, it.StepID)
		case "sleep":
			what, how = "timer", "tandem worker (fires when due)"
		default:
			what, how = "event "+strings.Join(it.Events, " | "), fmt.Sprintf("tandem signal %s %s --data '{...}'", it.RunID, it.Events[0])
		}
		deadline := "-"
		if it.Until != nil {
			deadline = it.Until.Local().Format(time.DateTime)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", it.RunID, it.Flow, it.StepID, what, deadline, how)
	}
	return tw.Flush()
}
