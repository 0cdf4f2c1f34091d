package render

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"tandem/engine"
	"tandem/flows"
)

// Runs prints a listing of runs as a table, or says how to start one.
func Runs(w io.Writer, runs []engine.RunInfo, now time.Time) error {
	if len(runs) == 0 {
		fmt.Fprintln(w, "no runs yet: start one with tandem run FILE")
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tFLOW\tSTATUS\tSTARTED\tDURATION")
	for _, r := range runs {
		fmt.Fprintf(tw, "%s\t%s\t%s %s\t%s\t%s\n", r.ID, r.FlowName, StatusIcon(r.Status), r.Status,
			r.CreatedAt.Local().Format(time.DateTime), Duration(r, now).Round(time.Millisecond))
	}
	return tw.Flush()
}

// RunRow is one run of `runs --json`: the run's row and how long it took (so far).
type RunRow struct {
	engine.RunInfo
	DurationMS int64 `json:"duration_ms"`
}

// MarshalJSON writes the run's row with duration_ms added (RunInfo has a MarshalJSON of
// its own, which embedding would otherwise promote over the added field).
func (r RunRow) MarshalJSON() ([]byte, error) {
	b, err := json.Marshal(r.RunInfo)
	if err != nil || len(b) < 2 {
		return b, err
	}
	return fmt.Appendf(b[:len(b)-1], `,"duration_ms":%d}`, r.DurationMS), nil
}

// RunRows adds durations to a listing for `runs --json`.
func RunRows(runs []engine.RunInfo, now time.Time) []RunRow {
	out := make([]RunRow, len(runs))
	for i, r := range runs {
		out[i] = RunRow{r, Duration(r, now).Milliseconds()}
	}
	return out
}

// Duration is how long a run took, or has taken by now while it runs.
func Duration(r engine.RunInfo, now time.Time) time.Duration {
	end := r.EndedAt
	if end.IsZero() {
		if r.Status == engine.RunStatusRunning {
			end = now
		} else {
			end = r.UpdatedAt
		}
	}
	return end.Sub(r.CreatedAt)
}

// StatusIcon is a run status's one-character mark.
func StatusIcon(s engine.RunStatus) string {
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

// runSpan says how long a run took, once it ended; until then how long it has been running,
// or since when it has been waiting (paused, queued...): a parked run did not "take" the time
// it ran before it parked.
func runSpan(info engine.RunInfo, now time.Time) string {
	switch {
	case info.Status.Terminal() || !info.EndedAt.IsZero():
		return "took " + Duration(info, now).Round(time.Millisecond).String()
	case info.Status == engine.RunStatusRunning:
		return "running for " + Duration(info, now).Round(time.Millisecond).String()
	case info.UpdatedAt.IsZero():
		return string(info.Status)
	}
	return fmt.Sprintf("%s since %s", info.Status, info.UpdatedAt.Local().Format(time.DateTime))
}

// Show prints a run: its header, then every step with its attempts and output (the first
// lines of each output unless full).
func Show(w io.Writer, info engine.RunInfo, st *engine.State, full bool, now time.Time) {
	fmt.Fprintf(w, "run %s  %s  %s %s\n", info.ID, info.FlowName, StatusIcon(info.Status), info.Status)
	fmt.Fprintf(w, "flow %s, started %s, %s\n", info.FlowPath, info.CreatedAt.Local().Format(time.DateTime), runSpan(info, now))
	if info.ParentRunID != "" {
		fmt.Fprintf(w, "child of run %s (step %s)\n", info.ParentRunID, info.ParentStepID)
	}
	if st.Error != "" {
		fmt.Fprintf(w, "error: %s\n", st.Error)
	}
	if st.Start.ForkedFrom != "" {
		fmt.Fprintf(w, "forked from run %s at %s\n", st.Start.ForkedFrom, st.Start.ForkedFromStep)
	}
	if st.HoldReason != "" {
		fmt.Fprintf(w, "paused: %s (tandem continue %s, or tandem step %s)\n", st.HoldReason, info.ID, info.ID)
	}
	if len(st.Breakpoints) > 0 {
		fmt.Fprintf(w, "breakpoints before: %s\n", strings.Join(sortedStepIDs(st.Breakpoints), ", "))
	}
	if len(st.Start.Inputs) > 0 {
		b, _ := json.Marshal(st.Start.Inputs)
		fmt.Fprintf(w, "inputs: %s\n", b)
	}
	for _, u := range st.Undecodable {
		fmt.Fprintf(w, "unreadable: event %d (%s %s) could not be decoded and is left out of this state: %s\n", u.Seq, u.Type, u.StepID, u.Error)
	}
	for _, id := range StepOrder(st) {
		s := st.Step(id)
		fmt.Fprintf(w, "\n%s %s  %s", StepIcon(s.Status), id, s.Status)
		if s.SkipReason != "" {
			fmt.Fprintf(w, " (%s)", s.SkipReason)
		}
		if s.ChildRunID != "" {
			fmt.Fprintf(w, "  child run %s", s.ChildRunID)
		}
		if s.Manual {
			fmt.Fprint(w, "  completed by hand")
		}
		if s.ReusedFrom != "" {
			fmt.Fprintf(w, "  reused from run %s", s.ReusedFrom)
		}
		fmt.Fprintln(w)
		for i, a := range s.Attempts {
			status, took := a.Status, a.Duration
			if a.EndedAt.IsZero() && (a.Status == engine.StatusRunning || a.Status == engine.StatusWaiting) {
				// Still going: how long so far, and a parked step's attempt is waiting, not running.
				took = now.Sub(a.StartedAt).Round(time.Second)
				if i == len(s.Attempts)-1 && s.Status == engine.StatusWaiting {
					status = engine.StatusWaiting
				}
			}
			line := fmt.Sprintf("    attempt %d  %s  %s", a.N, status, took.Round(time.Millisecond))
			if a.ExitCode != nil {
				line += fmt.Sprintf("  exit %d", *a.ExitCode)
			}
			if a.Error != "" {
				line += "  " + a.Error
			}
			fmt.Fprintln(w, line+"  key "+a.Key)
		}
		if s.Status == engine.StatusWaiting && s.Waiting != nil {
			fmt.Fprintf(w, "    %s%s\n", WaitText(*s.Waiting), waitHint(info.ID, id, *s.Waiting))
		}
		if s.Output != "" {
			fmt.Fprintln(w, "    output:")
			for _, l := range Clip(s.Output, full) {
				fmt.Fprintln(w, "      "+l)
			}
		}
		if a := s.LastAttempt(); a != nil && a.Status == engine.StatusFailed && a.Output != "" {
			fmt.Fprintf(w, "    output of attempt %d:\n", a.N)
			for _, l := range Clip(a.Output, full) {
				fmt.Fprintln(w, "      "+l)
			}
		}
		if a := s.LastAttempt(); a != nil && a.Status == engine.StatusFailed && strings.TrimSpace(a.StderrTail) != "" {
			fmt.Fprintln(w, "    stderr (tail):")
			for _, l := range lastLines(strings.TrimSpace(a.StderrTail), 10) {
				fmt.Fprintln(w, "      "+l)
			}
		}
	}
}

// StepOrder lists a run's steps in the flow's order, map children after their parent.
func StepOrder(st *engine.State) []string {
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

// StepIcon is a step status's one-character mark.
func StepIcon(s engine.StepStatus) string {
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

// Clip splits s into lines, the first eight and a count of the rest unless full.
func Clip(s string, full bool) []string {
	lines := strings.Split(s, "\n")
	if !full && len(lines) > 8 {
		n := len(lines)
		lines = append(lines[:8:8], fmt.Sprintf("… %d more lines (--full)", n-8))
	}
	return lines
}

// Events prints a run's event log, one line an event, long data cut.
func Events(w io.Writer, events []engine.Event) {
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
		fmt.Fprintf(w, "%6d  %s  %-20s %-14s %s\n", ev.Seq, ev.Time.Local().Format("15:04:05.000"), ev.Type, step, data)
	}
}

// Diff prints two runs side by side: the inputs that differ, each step's status in both, and
// a line diff of the outputs that differ.
func Diff(w io.Writer, a, b *engine.State, inputs []engine.InputDiff, diffs []engine.StepDiff) error {
	fmt.Fprintf(w, "A %s  %s %s\nB %s  %s %s\n\n", a.ID, StatusIcon(a.Status), a.Status, b.ID, StatusIcon(b.Status), b.Status)
	if len(inputs) > 0 { // first: most differing steps follow from them
		iw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(iw, "INPUT\tA\tB")
		for _, d := range inputs {
			fmt.Fprintf(iw, "%s\t%s\t%s\n", d.Name, d.A, d.B)
		}
		if err := iw.Flush(); err != nil {
			return err
		}
		fmt.Fprintln(w)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "STEP\tA\tB\tCOMPARED")
	differ := 0
	for _, d := range diffs {
		same := "same"
		if !d.Equal {
			same, differ = "different", differ+1
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", d.StepID, diffStatus(d.StatusA), diffStatus(d.StatusB), same)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, d := range diffs {
		if d.Equal || d.OutputA == d.OutputB {
			continue
		}
		fmt.Fprintf(w, "\n--- %s  A %s\n+++ %s  B %s\n", d.StepID, a.ID, d.StepID, b.ID)
		for _, l := range engine.DiffLines(d.OutputA, d.OutputB) {
			fmt.Fprintf(w, "%c%s\n", l.Op, l.Text)
		}
	}
	if differ == 0 {
		fmt.Fprintln(w, "\nthe runs agree on every step")
	} else {
		fmt.Fprintf(w, "\n%d of %d steps differ\n", differ, len(diffs))
	}
	return nil
}

func diffStatus(s engine.StepStatus) string {
	if s == "" {
		return "-"
	}
	return StepIcon(s) + " " + string(s)
}

func sortedStepIDs(m map[string]bool) []string {
	ids := make([]string, 0, len(m))
	for id := range m {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// waitHint names the command that ends a parked step's wait.
func waitHint(run, step string, d engine.StepWaitingData) string {
	switch {
	case d.Kind == "approval":
		return fmt.Sprintf(" (tandem approve %s %s, or tandem reject)", run, step)
	case d.Kind != "sleep" && len(d.Events) > 0:
		return fmt.Sprintf(" (tandem signal %s %s)", run, d.Events[0])
	}
	return ""
}
