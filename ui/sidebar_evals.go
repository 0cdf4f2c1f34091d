package ui

import (
	"context"
	"fmt"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"tandem/engine"
)

// Eval runs in the sidebar: an eval run (a top-level run of an eval:NAME flow, which
// `tandem eval` records) is a row of its own under "Evals" that says its suite, how many of
// its cells passed, its status and its age; enter opens the eval view. Its case and judge
// runs are its children: they are not rows of their own.

// evalSummary is what an eval run's row says of its results, read from its log.
type evalSummary struct {
	seq      int64 // the run's last seq when it was read: a newer one reads it again
	cells    int   // planned cells (case × model × repeat)
	recorded int   // cells with a result
	passed   int
	cases    []engine.RunInfo // its case (and judge) runs, which flows' previews count
}

// evalSummariesMsg carries the summaries loadEvalSummaries read, by run id.
type evalSummariesMsg struct{ sums map[string]evalSummary }

// isEvalRun reports whether a run is an eval run.
func isEvalRun(r engine.RunInfo) bool {
	return r.ParentRunID == "" && strings.HasPrefix(r.FlowName, evalFlowPrefix)
}

// evalFlowPrefix starts the flow name of every eval run (eval.evalFlowPrefix).
const evalFlowPrefix = "eval:"

// loadEvalSummaries returns the command that reads the results of the listed eval runs
// whose summary is missing or older than their log, or nil when every one is current.
func (m RunsListModel) loadEvalSummaries(s Store) tea.Cmd {
	if s == nil {
		return nil
	}
	var todo []engine.RunInfo
	for _, r := range m.runs {
		if sum, ok := m.evals[r.ID]; isEvalRun(r) && (!ok || sum.seq != r.LastSeq) {
			todo = append(todo, r)
		}
	}
	if len(todo) == 0 {
		return nil
	}
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		sums := make(map[string]evalSummary, len(todo))
		for _, r := range todo {
			events, err := s.Events(ctx, r.ID, 0)
			if err != nil {
				continue // the row goes without its count; the next listing tries again
			}
			rep, err := evalReportOf(engine.Fold(events))
			if err != nil {
				continue
			}
			// The sidebar lists top-level runs only; a flow's preview counts its eval
			// cases' runs too, which are the eval run's children.
			cases, err := s.Runs(ctx, engine.RunQuery{ParentID: r.ID})
			if err != nil {
				continue
			}
			sum := evalSummary{seq: r.LastSeq, cells: rep.Planned, recorded: len(rep.Cells), cases: cases}
			for _, c := range rep.Cells {
				if c.Pass {
					sum.passed++
				}
			}
			sums[r.ID] = sum
		}
		return evalSummariesMsg{sums: sums}
	}
}

// setEvalSummaries keeps the summaries read for the eval runs' rows.
func (m *RunsListModel) setEvalSummaries(msg evalSummariesMsg) {
	if m.evals == nil {
		m.evals = map[string]evalSummary{}
	}
	for id, s := range msg.sums {
		m.evals[id] = s
	}
}

// evalLine is an eval run's row, at most w cells when it can be: status, suite, passes and
// age ("✓ reader · 7/10 passed · 2m ago"), or, in a narrow sidebar, the passes before the suite
// so that a cut takes the name's end rather than the count ("✓ 7/10 reader 2m ago").
func (m RunsListModel) evalLine(r *engine.RunInfo, w int) string {
	icon, name := statusIcon(string(r.Status), 0), strings.TrimPrefix(r.FlowName, evalFlowPrefix)
	when := ago(m.now, r.CreatedAt)
	s, ok := m.evals[r.ID]
	long, count := []string{icon + " " + name}, ""
	switch {
	case !ok:
	case s.recorded == 0 && !r.Status.Terminal():
		long = append(long, fmt.Sprintf("%d cases running", s.cells))
	case s.recorded < s.cells:
		long = append(long, fmt.Sprintf("%d/%d passed, %d not run", s.passed, s.cells, s.cells-s.recorded))
		count = fmt.Sprintf("%d/%d", s.passed, s.cells)
	default:
		long = append(long, fmt.Sprintf("%d/%d passed", s.passed, s.cells))
		count = fmt.Sprintf("%d/%d", s.passed, s.cells)
	}
	if when != "" {
		long = append(long, when)
	}
	text := strings.Join(long, " · ")
	if ansi.StringWidth(text) <= w {
		return text
	}
	short := []string{icon}
	if count != "" {
		short = append(short, count)
	}
	short = append(short, name)
	if when != "" {
		short = append(short, when)
	}
	return strings.Join(short, " ")
}
