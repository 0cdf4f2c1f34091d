package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"tandem/engine"
	"tandem/flows"
)

func init() {
	register(command{name: "runs", summary: "list runs (id, flow, status, started, duration)", run: runRuns})
	register(command{name: "show", summary: "show a run: every step with its attempts and output", run: runShow})
	register(command{name: "events", summary: "print a run's raw event log", run: runEvents})
}

func printJSON(v any) error {
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func runRuns(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("runs", flag.ContinueOnError)
	var c common
	c.register(fs)
	jsonOut := fs.Bool("json", false, "print JSON")
	all := fs.Bool("all", false, "include child runs (sub-flows, flow tools)")
	status := fs.String("status", "", "only runs with this status (comma-separated)")
	limit := fs.Int("limit", 50, "at most this many runs (0: all)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	e, err := c.open(ctx)
	if err != nil {
		return err
	}
	defer e.close()
	q := engine.RunQuery{TopLevel: !*all, Limit: *limit}
	if *status != "" {
		for _, s := range strings.Split(*status, ",") {
			q.Status = append(q.Status, engine.RunStatus(strings.TrimSpace(s)))
		}
	}
	runs, err := e.db.Runs(ctx, q)
	if err != nil {
		return err
	}
	if *jsonOut {
		type row struct {
			engine.RunInfo
			DurationMS int64 `json:"duration_ms"`
		}
		out := make([]row, len(runs))
		for i, r := range runs {
			out[i] = row{r, runDuration(r).Milliseconds()}
		}
		return printJSON(out)
	}
	if len(runs) == 0 {
		fmt.Fprintln(stdout, "no runs yet: start one with tandem run FILE")
		return nil
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tFLOW\tSTATUS\tSTARTED\tDURATION")
	for _, r := range runs {
		fmt.Fprintf(tw, "%s\t%s\t%s %s\t%s\t%s\n", r.ID, r.FlowName, statusIcon(r.Status), r.Status,
			r.CreatedAt.Local().Format(time.DateTime), runDuration(r).Round(time.Millisecond))
	}
	return tw.Flush()
}

func runDuration(r engine.RunInfo) time.Duration {
	end := r.EndedAt
	if end.IsZero() {
		if r.Status == engine.RunStatusRunning {
			end = time.Now()
		} else {
			end = r.UpdatedAt
		}
	}
	return end.Sub(r.CreatedAt)
}

func statusIcon(s engine.RunStatus) string {
	switch s {
	case engine.RunStatusSucceeded:
		return "✓"
	case engine.RunStatusFailed:
		return "✗"
	case engine.RunStatusRunning:
		return "▶"
	case engine.RunStatusWaiting:
		return "⏸"
	case engine.RunStatusPaused:
		return "‖"
	case engine.RunStatusCancelled, engine.RunStatusInterrupted:
		return "■"
	}
	return "·"
}

func runShow(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("show", flag.ContinueOnError)
	var c common
	c.register(fs)
	jsonOut := fs.Bool("json", false, "print JSON")
	full := fs.Bool("full", false, "print whole outputs instead of the first lines")
	pos, err := interspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("usage: tandem show RUN [--json]")
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
	order := stepOrder(st)
	if *jsonOut {
		steps := make([]*engine.StepState, 0, len(order))
		for _, id := range order {
			steps = append(steps, st.Step(id))
		}
		return printJSON(struct {
			Run   engine.RunInfo      `json:"run"`
			State *engine.State       `json:"state"`
			Steps []*engine.StepState `json:"steps"`
		}{info, st, steps})
	}
	fmt.Fprintf(stdout, "run %s  %s  %s %s\n", info.ID, info.FlowName, statusIcon(info.Status), info.Status)
	fmt.Fprintf(stdout, "flow %s, started %s, took %s\n", info.FlowPath, info.CreatedAt.Local().Format(time.DateTime), runDuration(info).Round(time.Millisecond))
	if info.ParentRunID != "" {
		fmt.Fprintf(stdout, "child of run %s (step %s)\n", info.ParentRunID, info.ParentStepID)
	}
	if st.Error != "" {
		fmt.Fprintf(stdout, "error: %s\n", st.Error)
	}
	if st.Start.ForkedFrom != "" {
		fmt.Fprintf(stdout, "forked from run %s at %s\n", st.Start.ForkedFrom, st.Start.ForkedFromStep)
	}
	if st.HoldReason != "" {
		fmt.Fprintf(stdout, "paused: %s (tandem continue %s, or tandem step %s)\n", st.HoldReason, info.ID, info.ID)
	}
	if len(st.Breakpoints) > 0 {
		fmt.Fprintf(stdout, "breakpoints before: %s\n", strings.Join(sortedStepIDs(st.Breakpoints), ", "))
	}
	if len(st.Start.Inputs) > 0 {
		b, _ := json.Marshal(st.Start.Inputs)
		fmt.Fprintf(stdout, "inputs: %s\n", b)
	}
	for _, u := range st.Undecodable {
		fmt.Printf("unreadable: event %d (%s %s) could not be decoded and is left out of this state: %s\n", u.Seq, u.Type, u.StepID, u.Error)
	}
	for _, id := range order {
		s := st.Step(id)
		fmt.Fprintf(stdout, "\n%s %s  %s", stepIcon(s.Status), id, s.Status)
		if s.SkipReason != "" {
			fmt.Fprintf(stdout, " (%s)", s.SkipReason)
		}
		if s.ChildRunID != "" {
			fmt.Fprintf(stdout, "  child run %s", s.ChildRunID)
		}
		if s.Manual {
			fmt.Fprint(stdout, "  completed by hand")
		}
		if s.ReusedFrom != "" {
			fmt.Fprintf(stdout, "  reused from run %s", s.ReusedFrom)
		}
		fmt.Fprintln(stdout)
		for _, a := range s.Attempts {
			line := fmt.Sprintf("    attempt %d  %s  %s", a.N, a.Status, a.Duration.Round(time.Millisecond))
			if a.ExitCode != nil {
				line += fmt.Sprintf("  exit %d", *a.ExitCode)
			}
			if a.Error != "" {
				line += "  " + a.Error
			}
			fmt.Fprintln(stdout, line+"  key "+a.Key)
		}
		if s.Output != "" {
			fmt.Fprintln(stdout, "    output:")
			for _, l := range clip(s.Output, *full) {
				fmt.Fprintln(stdout, "      "+l)
			}
		}
		if a := s.LastAttempt(); a != nil && a.Status == engine.StatusFailed && strings.TrimSpace(a.StderrTail) != "" {
			fmt.Fprintln(stdout, "    stderr (tail):")
			for _, l := range lastLines(strings.TrimSpace(a.StderrTail), 10) {
				fmt.Fprintln(stdout, "      "+l)
			}
		}
	}
	return nil
}

// stepOrder lists a run's steps in the flow's order, map children after their parent.
func stepOrder(st *engine.State) []string {
	var order []string
	seen := map[string]bool{}
	if f, err := flows.Parse(st.Start.FlowPath, []byte(st.Start.Source)); err == nil {
		for _, s := range f.Steps {
			order = append(order, s.ID)
			seen[s.ID] = true
			if ss, ok := st.Steps[s.ID]; ok {
				for i := 0; i < ss.Items; i++ {
					order = append(order, engine.ChildID(s.ID, i))
					seen[engine.ChildID(s.ID, i)] = true
				}
			}
		}
	}
	for _, id := range st.StepIDs() {
		if !seen[id] {
			order = append(order, id)
		}
	}
	return order
}

func stepIcon(s engine.StepStatus) string {
	switch s {
	case engine.StatusSucceeded:
		return "✓"
	case engine.StatusFailed:
		return "✗"
	case engine.StatusRunning:
		return "▶"
	case engine.StatusWaiting:
		return "⏸"
	case engine.StatusSkipped:
		return "↷"
	case engine.StatusInterrupted:
		return "■"
	case engine.StatusRetrying:
		return "↻"
	}
	return "·"
}

func clip(s string, full bool) []string {
	lines := strings.Split(s, "\n")
	if !full && len(lines) > 8 {
		n := len(lines)
		lines = append(lines[:8:8], fmt.Sprintf("… %d more lines (--full)", n-8))
	}
	return lines
}

func runEvents(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("events", flag.ContinueOnError)
	var c common
	c.register(fs)
	jsonOut := fs.Bool("json", false, "print JSON (one array)")
	pos, err := interspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("usage: tandem events RUN [--json]")
	}
	e, info, err := c.openRun(ctx, pos[0])
	if err != nil {
		return err
	}
	defer e.close()
	events, err := e.db.Events(ctx, info.ID, 0)
	if err != nil {
		return err
	}
	if *jsonOut {
		if events == nil {
			events = []engine.Event{}
		}
		return printJSON(events)
	}
	for _, ev := range events {
		step := ev.StepID
		if ev.Attempt > 0 {
			step += fmt.Sprintf("#%d", ev.Attempt)
		}
		data := string(ev.Data)
		if ev.Type == engine.RunStarted {
			var d engine.RunStartedData
			_ = ev.Decode(&d)
			d.Source = fmt.Sprintf("<%d bytes>", len(d.Source))
			b, _ := json.Marshal(d)
			data = string(b)
		}
		if len(data) > 300 {
			data = data[:300] + "…"
		}
		fmt.Fprintf(stdout, "%6d  %s  %-20s %-14s %s\n", ev.Seq, ev.Time.Local().Format("15:04:05.000"), ev.Type, step, data)
	}
	return nil
}

func sortedStepIDs(m map[string]bool) []string {
	ids := make([]string, 0, len(m))
	for id := range m {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}
