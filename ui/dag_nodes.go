package ui

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"tandem/engine"
)

// What a node of the DAG says about its step: its status, attempts and duration, and what
// the status alone does not say (skipped why, set by hand, reused, rejected, waiting on what).

func stepInfos(st *engine.State) map[string]nodeInfo {
	out := map[string]nodeInfo{}
	if st == nil {
		return out
	}
	for id, s := range st.Steps {
		ni := nodeInfo{status: string(s.Status), attempts: len(s.Attempts), items: s.Items}
		ni.icon, ni.note = stepNote(s)
		if s.Waiting != nil {
			ni.until = s.Waiting.Until
		}
		if a := s.LastAttempt(); a != nil {
			ni.duration = a.Duration
			switch {
			case s.Status == engine.StatusWaiting && a.EndedAt.IsZero():
				// Parked, not running: its clock is the wait's, as tandem show says.
				ni.waiting = a.StartedAt
			case a.Status == engine.StatusRunning:
				ni.started = a.StartedAt
			}
		}
		out[id] = ni
	}
	for _, s := range st.Steps {
		if s.Parent != "" && s.Status.Done() {
			p := out[s.Parent]
			p.itemsDone++
			out[s.Parent] = p
		}
	}
	for id, on := range st.Breakpoints {
		if ni := out[id]; on {
			ni.mark = markBreakpoint
			if st.HeldAt[id] {
				ni.mark = markHeld
			}
			out[id] = ni
		}
	}
	return out
}

// stepNote is the icon and note a step's node shows beside its status, "" for none.
func stepNote(s *engine.StepState) (icon, note string) {
	switch {
	case s.Status == engine.StatusSkipped && s.SkipCause == engine.SkipWhen:
		return "↷", "when false"
	case s.Status == engine.StatusSkipped && s.SkipCause == engine.SkipNeed:
		return "↷", "need failed"
	case s.Status == engine.StatusSkipped:
		return "↷", "skipped"
	case s.Manual:
		return "✎", "by hand"
	case s.ReusedFrom != "":
		return "⇊", "reused from " + shortID(s.ReusedFrom)
	case rejected(s):
		return "⊘", "rejected"
	case s.Status == engine.StatusWaiting && s.Waiting != nil:
		w := *s.Waiting
		w.Until = time.Time{} // the time left is measured when drawn
		return "", waitWhat(&w, time.Time{})
	}
	return "", ""
}

// rejected reports whether a step is an approval a person rejected: it succeeded with
// approved false as its output.
func rejected(s *engine.StepState) bool {
	if s.Status != engine.StatusSucceeded || !strings.HasPrefix(strings.TrimSpace(s.Output), "{") ||
		!strings.Contains(s.Output, `"approved"`) {
		return false
	}
	var d engine.ApprovalData
	return json.Unmarshal([]byte(s.Output), &d) == nil && !d.Approved
}

// rejectedSteps lists the approvals of a run a person rejected.
func rejectedSteps(st *engine.State) []string {
	var out []string
	for _, id := range st.StepIDs() {
		if rejected(st.Steps[id]) {
			out = append(out, id)
		}
	}
	return out
}

func (m *DAGModel) label(n layoutNode, ni nodeInfo) string {
	var b strings.Builder
	if ni.icon != "" {
		b.WriteString(ni.icon)
	} else {
		b.WriteString(statusIcon(ni.status, m.frame))
	}
	b.WriteByte(' ')
	b.WriteString(n.id)
	b.WriteByte(' ')
	b.WriteString(n.kind)
	if ni.note != "" {
		if ni.note != n.kind { // a parked approval is not "approval · approval"
			b.WriteString(" · ")
			b.WriteString(ni.note)
		}
		if !ni.until.IsZero() && !m.now.IsZero() {
			b.WriteString(" " + formatDuration(ni.until.Sub(m.now).Round(time.Second)) + " left")
		}
	}
	s := m.steps[n.id]
	switch {
	case s != nil && s.Map != "" && (ni.status == "" || ni.status == string(engine.StatusPending)):
		b.WriteString(" · map") // not started: how many items is not known yet
	case s != nil && s.Map != "":
		fmt.Fprintf(&b, " · %d/%d items", ni.itemsDone, ni.items)
		switch {
		case !ni.started.IsZero() && !m.now.IsZero():
			b.WriteString(" · " + formatDuration(m.now.Sub(ni.started)))
		case ni.duration > 0: // the span of its items
			b.WriteString(" · " + formatDuration(ni.duration))
		}
	case ni.attempts > 0 && !ni.waiting.IsZero() && !m.now.IsZero():
		if ni.attempts > 1 { // the first attempt goes without saying, as the box is narrow
			fmt.Fprintf(&b, " · %d", ni.attempts)
		}
		b.WriteString(" · waiting " + formatWait(m.now.Sub(ni.waiting)))
	case ni.attempts > 0:
		d := ni.duration
		if !ni.started.IsZero() && !m.now.IsZero() {
			d = m.now.Sub(ni.started)
		}
		fmt.Fprintf(&b, " · %d · %s", ni.attempts, formatDuration(d))
	}
	return b.String()
}

// formatWait prints how long a step has waited as an age, to the second under a minute as
// tandem show does, coarser after (47s, 4m, 2h, 3d), so that it fits a box.
func formatWait(d time.Duration) string { return ageOf(d) }

// formatDuration prints a duration short: 340ms, 1.2s, 1m05s, 2h03m.
func formatDuration(d time.Duration) string {
	switch {
	case d < 0:
		return "0s"
	case d < time.Second:
		return fmt.Sprintf("%dms", d.Milliseconds())
	case d < time.Minute:
		return fmt.Sprintf("%.1fs", d.Seconds())
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	}
	return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
}
