// Package render draws what the tandem CLI prints for people: a run's live progress and how
// it ended, run listings, a run's steps, its event log, the reasoning trace, and the one
// JSON shape of a run. It writes to the io.Writer it is given (cmd/tandem passes its
// terminal-safe writers) and reads nothing but the values it is handed.
package render

import (
	"fmt"
	"io"
	"strings"
	"time"

	"tandem/agents"
	"tandem/engine"
)

// Printer writes a run's live progress, one line per step transition, for people and logs.
// It is not safe for concurrent use: one goroutine feeds it the bus's notices.
type Printer struct {
	w      io.Writer
	runID  string
	items  map[string]int // map steps: number of children, to print their progress compactly
	done   map[string]int
	Quiet  bool // print nothing (the caller prints the end as JSON)
	Stream bool // print model content deltas as they arrive
	inText bool // the last thing written was streamed text without a newline
}

// NewPrinter returns a Printer of run runID's progress (and its child runs') to w.
func NewPrinter(w io.Writer, runID string) *Printer {
	return &Printer{w: w, runID: runID, items: map[string]int{}, done: map[string]int{}}
}

// mine reports whether a run id is the printed run or one of its children (derived ids).
func (p *Printer) mine(id string) bool { return id == p.runID || strings.HasPrefix(id, p.runID+".") }

func (p *Printer) prefix(e *engine.Event) string {
	if e.RunID == p.runID {
		return "  "
	}
	return "    " + strings.TrimPrefix(e.RunID, p.runID+".") + " │ "
}

// Notice prints one bus notice (or one logged event, as Notice{Event: &e}).
func (p *Printer) Notice(n engine.Notice) {
	if n.Delta != nil {
		if p.Stream && p.mine(n.Delta.RunID) && n.Delta.Stream == "content" {
			fmt.Fprint(p.w, n.Delta.Text)
			p.inText = !strings.HasSuffix(n.Delta.Text, "\n")
		}
		return
	}
	e := n.Event
	if e == nil || !p.mine(e.RunID) || p.Quiet {
		return
	}
	if p.inText {
		fmt.Fprintln(p.w)
		p.inText = false
	}
	pre := p.prefix(e)
	switch e.Type {
	case engine.StepStarted:
		var d engine.StepStartedData
		_ = e.Decode(&d)
		if d.Parent != "" {
			return // map children are summarised on their parent's line
		}
		switch {
		case d.Items > 0:
			p.items[e.StepID] = d.Items
			fmt.Fprintf(p.w, "%s▶ %-16s map over %d items\n", pre, e.StepID, d.Items)
		case d.Resumed:
			fmt.Fprintf(p.w, "%s▶ %-16s resumed (attempt %d)\n", pre, e.StepID, e.Attempt)
		case e.Attempt > 1:
			fmt.Fprintf(p.w, "%s▶ %-16s attempt %d\n", pre, e.StepID, e.Attempt)
		default:
			fmt.Fprintf(p.w, "%s▶ %-16s started\n", pre, e.StepID)
		}
	case engine.StepSucceeded:
		var d engine.StepResultData
		_ = e.Decode(&d)
		if parent, ok := childOf(e.StepID); ok {
			p.done[parent]++
			if n := p.items[parent]; n > 0 && (p.done[parent] == n || p.done[parent]%max(n/10, 1) == 0) {
				fmt.Fprintf(p.w, "%s  %-16s %d/%d items done\n", pre, parent, p.done[parent], n)
			}
			return
		}
		if d.ReusedFrom != "" {
			fmt.Fprintf(p.w, "%s✓ %-16s reused from run %s\n", pre, e.StepID, d.ReusedFrom)
			return
		}
		fmt.Fprintf(p.w, "%s✓ %-16s %s%s\n", pre, e.StepID, fmtDur(d.DurationMS), tokenNote(d.Tokens))
	case engine.StepFailed:
		var d engine.StepResultData
		_ = e.Decode(&d)
		what := d.Error
		if d.Final {
			fmt.Fprintf(p.w, "%s✗ %-16s failed: %s\n", pre, e.StepID, what)
		} else {
			fmt.Fprintf(p.w, "%s✗ %-16s attempt %d failed: %s; retrying in %s\n", pre, e.StepID, e.Attempt, what, fmtDur(d.RetryInMS))
		}
		if tail := strings.TrimSpace(d.StderrTail); tail != "" {
			for _, line := range lastLines(tail, 5) {
				fmt.Fprintf(p.w, "%s    │ %s\n", pre, line)
			}
		}
	case engine.StepSkipped:
		var d engine.StepSkippedData
		_ = e.Decode(&d)
		fmt.Fprintf(p.w, "%s↷ %-16s skipped: %s\n", pre, e.StepID, d.Reason)
	case engine.StepInterrupted:
		var d engine.StepResultData
		_ = e.Decode(&d)
		fmt.Fprintf(p.w, "%s■ %-16s %s\n", pre, e.StepID, d.Reason)
	case engine.StepWaiting:
		var d engine.StepWaitingData
		_ = e.Decode(&d)
		fmt.Fprintf(p.w, "%s⏸ %-16s %s\n", pre, e.StepID, WaitText(d))
	case engine.StepManual:
		var d engine.StepManualData
		_ = e.Decode(&d)
		fmt.Fprintf(p.w, "%s✓ %-16s completed by hand: %q\n", pre, e.StepID, firstLine(d.Output, 60))
	case engine.PauseRequested:
		fmt.Fprintf(p.w, "%s‖ pause requested: running steps finish, nothing new starts\n", pre)
	case engine.ContinueRequested:
		fmt.Fprintf(p.w, "%s▷ continue\n", pre)
	case engine.StepOnceRequested:
		fmt.Fprintf(p.w, "%s▷ step: one more step, then hold\n", pre)
	case engine.BreakpointSet:
		var d engine.BreakpointData
		_ = e.Decode(&d)
		if d.On {
			fmt.Fprintf(p.w, "%s● %-16s breakpoint set\n", pre, e.StepID)
		} else {
			fmt.Fprintf(p.w, "%s○ %-16s breakpoint cleared\n", pre, e.StepID)
		}
	case engine.BreakpointHit:
		fmt.Fprintf(p.w, "%s● %-16s stopped at breakpoint\n", pre, e.StepID)
	case engine.RunPaused:
		var d engine.RunPausedData
		_ = e.Decode(&d)
		fmt.Fprintf(p.w, "%s‖ run paused: %s\n", pre, d.Reason)
	case engine.StepRetryRequested:
		fmt.Fprintf(p.w, "%s↻ %-16s retry requested\n", pre, e.StepID)
	case engine.StepTrace:
		var d engine.TraceData
		if e.Decode(&d) != nil || d.Kind != TraceModelRetry {
			return
		}
		if rec, err := agents.Decode(d.Kind, d.Data); err == nil {
			fmt.Fprintf(p.w, "%s↻ %-16s %s\n", pre, e.StepID, rec.(agents.ModelRetry).Message)
		}
	}
}

// TraceModelRetry is the trace kind of a model call waiting to try an unreachable server
// again; the progress shows it as it happens.
const TraceModelRetry = string(agents.KindModelRetry)

// WaitText says what a parked step waits for.
func WaitText(d engine.StepWaitingData) string {
	var s string
	switch d.Kind {
	case "sleep":
		s = "sleeping until " + d.Until.Local().Format(time.DateTime)
		return s
	case "approval":
		s = fmt.Sprintf("waiting for approval: %q", d.Prompt)
	default:
		s = "waiting for event " + strings.Join(d.Events, " or ")
	}
	if !d.Until.IsZero() {
		s += " (times out " + d.Until.Local().Format(time.DateTime) + ")"
	}
	return s
}

func childOf(id string) (string, bool) {
	if i := strings.LastIndexByte(id, '['); i > 0 && strings.HasSuffix(id, "]") {
		return id[:i], true
	}
	return "", false
}

func tokenNote(t *engine.Tokens) string {
	if t == nil {
		return ""
	}
	return fmt.Sprintf("  (%d+%d tokens)", t.Prompt, t.Output)
}

func fmtDur(msec int64) string {
	d := time.Duration(msec) * time.Millisecond
	switch {
	case d < time.Second:
		return fmt.Sprintf("%dms", msec)
	case d < time.Minute:
		return fmt.Sprintf("%.1fs", d.Seconds())
	default:
		return d.Round(time.Second).String()
	}
}

func lastLines(s string, n int) []string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return lines
}

// firstLine is s's first line, cut to n runes.
func firstLine(s string, n int) string {
	s, _, _ = strings.Cut(s, "\n")
	if r := []rune(s); len(r) > n {
		return string(r[:n]) + "…"
	}
	return s
}
