package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/user"
	"strings"
	"text/tabwriter"
	"time"

	"tandem/engine"
	"tandem/flows"
)

func init() {
	register(command{name: "signal", summary: "deliver an event to a run (stored at once, applied when it advances)", run: runSignal})
	register(command{name: "approve", summary: "approve a waiting approval step", run: func(ctx context.Context, a []string) error { return runDecide(ctx, a, true) }})
	register(command{name: "reject", summary: "reject a waiting approval step", run: func(ctx context.Context, a []string) error { return runDecide(ctx, a, false) }})
	register(command{name: "worker", summary: "advance every run in the database: timers, signals, crashed and detached runs", run: runWorker})
	register(command{name: "inbox", summary: "everything waiting on a person or an event, across runs", run: runInbox})
}

func runSignal(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("signal", flag.ContinueOnError)
	var c common
	c.register(fs)
	data := fs.String("data", "", "the event's data, as JSON")
	pos, err := interspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 2 {
		return usagef("usage: tandem signal RUN EVENT [--data JSON]")
	}
	var raw []byte
	if *data != "" {
		if !json.Valid([]byte(*data)) {
			return usagef("--data is not valid JSON: %s", *data)
		}
		raw = []byte(*data)
	}
	e, info, err := c.openRun(ctx, pos[0])
	if err != nil {
		return err
	}
	defer e.close()
	if err := e.engine.Signal(ctx, info.ID, pos[1], raw); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "signal %s stored for run %s; it applies when the run next advances (tandem worker, or the process running it)\n", pos[1], info.ID)
	return nil
}

func runDecide(ctx context.Context, args []string, approved bool) error {
	verb := map[bool]string{true: "approve", false: "reject"}[approved]
	done := map[bool]string{true: "approved", false: "rejected"}[approved]
	fs := flag.NewFlagSet(verb, flag.ContinueOnError)
	var c common
	c.register(fs)
	comment := fs.String("comment", "", "why")
	pos, err := interspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 2 {
		return usagef("usage: tandem %s RUN STEP [--comment TEXT]", verb)
	}
	e, info, err := c.openRun(ctx, pos[0])
	if err != nil {
		return err
	}
	defer e.close()
	st, err := e.engine.State(ctx, info.ID)
	if err != nil {
		return err
	}
	s, ok := st.Steps[pos[1]]
	if !ok || s.Waiting == nil || s.Waiting.Kind != string(flows.KindApproval) {
		return usagef("step %s of run %s is not waiting for an approval (tandem inbox lists what is)", pos[1], info.ID)
	}
	data, _ := json.Marshal(engine.ApprovalData{Approved: approved, Comment: *comment, Who: approver(), When: time.Now().UTC()})
	if err := e.engine.Signal(ctx, info.ID, engine.ApprovalEvent(pos[1]), data); err != nil {
		return err
	}
	st, err = e.engine.Execute(ctx, info.ID)
	if errors.Is(err, engine.ErrLeased) {
		fmt.Fprintf(stdout, "%s %s of run %s; the process running it applies it\n", done, pos[1], info.ID)
		return nil
	}
	if err != nil {
		return fmt.Errorf("advance run %s after the decision (it is recorded; tandem resume %s goes on): %w", info.ID, info.ID, err)
	}
	fmt.Fprintf(stdout, "%s %s of run %s; the run %s\n", done, pos[1], info.ID, statusPhrase(st.Status))
	return nil
}

// statusPhrase says how a run stands in a sentence: "has succeeded", "is waiting".
func statusPhrase(s engine.RunStatus) string {
	switch s {
	case engine.RunStatusSucceeded, engine.RunStatusFailed:
		return "has " + string(s)
	case engine.RunStatusCancelled, engine.RunStatusInterrupted:
		return "was " + string(s)
	}
	return "is " + string(s)
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

func runWorker(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("worker", flag.ContinueOnError)
	var c common
	c.register(fs)
	c.registerParallel(fs)
	untilIdle := fs.Bool("until-idle", false, "advance everything that can advance now, then exit")
	poll := fs.Duration("poll", time.Second, "how often to look for work")
	runs := fs.Int("runs", 4, "runs advanced at once")
	resumeInterrupted := fs.Bool("resume-interrupted", false, "also resume runs stopped by Ctrl-C or SIGTERM (by default only tandem resume does)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	e, err := c.open(ctx)
	if err != nil {
		return err
	}
	defer e.close()
	sub := e.engine.Bus().Subscribe("")
	defer sub.Close()
	go func() {
		for range sub.Ready() {
			for _, n := range sub.Next() {
				if ev := n.Event; ev != nil && (ev.Status != "" || ev.Type == engine.StepFailed) {
					fmt.Fprintf(stdout, "%s  %s %s %s\n", time.Now().Format(time.TimeOnly), ev.RunID, ev.Type, ev.StepID)
				}
			}
		}
	}()
	w := &engine.Worker{Engine: e.engine, Concurrency: *runs, ResumeInterrupted: *resumeInterrupted, OnError: func(id string, err error) {
		e.log.Error("advance run", "run", id, "err", err)
		fmt.Fprintf(stderr, "run %s: %v\n", id, err)
	}}
	if *untilIdle {
		return w.UntilIdle(ctx)
	}
	fmt.Fprintf(stdout, "worker %d advancing runs in %s (Ctrl-C stops)\n", os.Getpid(), c.db)
	return w.Run(ctx, *poll)
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

func runInbox(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("inbox", flag.ContinueOnError)
	var c common
	c.register(fs)
	jsonOut := fs.Bool("json", false, "print JSON")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	e, err := c.open(ctx)
	if err != nil {
		return err
	}
	defer e.close()
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
		for _, id := range stepOrder(st) {
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
	if *jsonOut {
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
