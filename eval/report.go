package eval

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"tandem/engine"
	"tandem/flows"
)

// Report is an eval run as its log records it: every recorded cell in plan order, and the
// cells still to run.
type Report struct {
	RunID   string       `json:"run_id"`
	Suite   string       `json:"suite"`
	File    string       `json:"file,omitempty"` // the suite file it ran
	Status  string       `json:"status"`
	Started time.Time    `json:"started"`
	Cells   []CellResult `json:"cells"`
	Pending []string     `json:"pending,omitempty"`
	Rows    []Row        `json:"rows"`
	Models  []ModelStats `json:"models"`
}

// Row is one case on one model over its repeats.
type Row struct {
	Case   string `json:"case"`
	Model  string `json:"model"`
	Runs   int    `json:"runs"`
	Passed int    `json:"passed"`
	// Turns, Steps, Tokens and Seconds are medians over the repeats (Steps of a flow
	// target's case, Turns of an agent's).
	Turns   float64 `json:"turns"`
	Steps   float64 `json:"steps,omitempty"`
	Tokens  float64 `json:"tokens"`
	Seconds float64 `json:"seconds"`
	// Failed are the expectations that failed, with how many runs failed each.
	Failed map[string]int `json:"failed,omitempty"`
}

// PassRate is the share of the row's runs that passed.
func (r Row) PassRate() float64 {
	if r.Runs == 0 {
		return 0
	}
	return float64(r.Passed) / float64(r.Runs)
}

// ModelStats sums a model's cells.
type ModelStats struct {
	Model  string `json:"model"`
	Runs   int    `json:"runs"`
	Passed int    `json:"passed"`
	// SpreadLow and SpreadHigh are the lowest and highest pass rate of one repeat (all
	// cases' n-th runs), which shows how much a model varies from one try to the next.
	SpreadLow  float64 `json:"spread_low"`
	SpreadHigh float64 `json:"spread_high"`
	// ValidActions is the share of turns whose reply was a usable action or answer;
	// ToolAccuracy the share of tool calls the tool accepted.
	ValidActions  float64 `json:"valid_action_rate"`
	ToolAccuracy  float64 `json:"tool_call_accuracy"`
	MedianTurns   float64 `json:"median_turns"`
	MedianTokens  float64 `json:"median_tokens"`
	MedianSeconds float64 `json:"median_seconds"`
	LoopStops     int     `json:"loop_stops"`
	BudgetStops   int     `json:"budget_stops"`
}

// LoadReport reads an eval run's results from its log.
func LoadReport(ctx context.Context, e *engine.Engine, evalRunID string) (*Report, error) {
	info, err := e.Store().Run(ctx, evalRunID)
	if err != nil {
		return nil, fmt.Errorf("read eval %s: %w", evalRunID, err)
	}
	st, err := e.State(ctx, info.ID)
	if err != nil {
		return nil, fmt.Errorf("read eval %s: %w", evalRunID, err)
	}
	if !strings.HasPrefix(st.Start.FlowName, evalFlowPrefix) {
		return nil, fmt.Errorf("read eval %s: run %s is a run of %s, not an eval", evalRunID, info.ID, st.Start.FlowName)
	}
	f, err := flows.Parse(st.Start.FlowPath, []byte(st.Start.Source))
	if err != nil {
		return nil, fmt.Errorf("read eval %s: %w", info.ID, err)
	}
	return reportOf(st, f)
}

// reportOf is the report of an eval run's state; f is the run's eval flow.
func reportOf(st *engine.State, f *flows.Flow) (*Report, error) {
	rep := &Report{RunID: st.ID, Suite: strings.TrimPrefix(st.Start.FlowName, evalFlowPrefix),
		Status: string(st.Status), Started: st.StartedAt}
	rep.File, _ = st.Start.Inputs["suite"].(string)
	// A result is recorded once its signal is in the log; the wait step that holds it may not
	// be resolved yet (the eval was cut short before its last pass).
	signalled := map[string]string{}
	for _, sig := range st.Signals {
		signalled[sig.Event] = string(sig.Data)
	}
	for _, step := range f.Steps {
		out, ok := signalled[cellEvent(step.ID)]
		if ss, done := st.Steps[step.ID]; done && ss.Status == engine.StatusSucceeded {
			out, ok = ss.Output, true
		}
		if !ok {
			rep.Pending = append(rep.Pending, step.ID)
			continue
		}
		var c CellResult
		if err := json.Unmarshal([]byte(out), &c); err != nil {
			return nil, fmt.Errorf("read eval %s: cell %s: %w", st.ID, step.ID, err)
		}
		rep.Cells = append(rep.Cells, c)
	}
	rep.Rows, rep.Models = summarize(rep.Cells)
	return rep, nil
}

// Failed reports whether any recorded cell failed.
func (r *Report) Failed() bool {
	for _, c := range r.Cells {
		if !c.Pass {
			return true
		}
	}
	return false
}

func summarize(cells []CellResult) ([]Row, []ModelStats) {
	type key struct{ c, m string }
	var rows []Row
	idx := map[key]int{}
	samples := map[key][4][]float64{}
	var models []string
	byModel := map[string][]CellResult{}
	for _, c := range cells {
		k := key{c.Case, c.Model}
		i, ok := idx[k]
		if !ok {
			i = len(rows)
			idx[k] = i
			rows = append(rows, Row{Case: c.Case, Model: c.Model})
		}
		r := &rows[i]
		r.Runs++
		if c.Pass {
			r.Passed++
		}
		for _, o := range c.Outcomes {
			if !o.Pass {
				if r.Failed == nil {
					r.Failed = map[string]int{}
				}
				r.Failed[o.Expect]++
			}
		}
		s := samples[k]
		s[0], s[1], s[2], s[3] = append(s[0], float64(c.Turns)), append(s[1], float64(c.Tokens)), append(s[2], c.Seconds), append(s[3], float64(c.Steps))
		samples[k] = s
		if _, seen := byModel[c.Model]; !seen {
			models = append(models, c.Model)
		}
		byModel[c.Model] = append(byModel[c.Model], c)
	}
	for k, i := range idx {
		s := samples[k]
		rows[i].Turns, rows[i].Tokens, rows[i].Seconds, rows[i].Steps = median(s[0]), median(s[1]), median(s[2]), median(s[3])
	}
	stats := make([]ModelStats, 0, len(models))
	for _, m := range models {
		stats = append(stats, modelStats(m, byModel[m]))
	}
	return rows, stats
}

func modelStats(model string, cells []CellResult) ModelStats {
	ms := ModelStats{Model: model}
	var turns, tokens, secs []float64
	passByRepeat := map[int][2]int{}
	allTurns, invalid, calls, toolErrs := 0, 0, 0, 0
	for _, c := range cells {
		ms.Runs++
		p := passByRepeat[c.Repeat]
		p[1]++
		if c.Pass {
			ms.Passed++
			p[0]++
		}
		passByRepeat[c.Repeat] = p
		turns, tokens, secs = append(turns, float64(c.Turns)), append(tokens, float64(c.Tokens)), append(secs, c.Seconds)
		allTurns += c.Turns
		invalid += c.InvalidActions
		calls += c.ToolCalls
		toolErrs += c.ToolErrors
		switch c.EndReason {
		case "loop_detected":
			ms.LoopStops++
		case "budget", "max_turns":
			ms.BudgetStops++
		}
	}
	ms.SpreadLow, ms.SpreadHigh = 1, 0
	for _, p := range passByRepeat {
		rate := float64(p[0]) / float64(p[1])
		ms.SpreadLow, ms.SpreadHigh = min(ms.SpreadLow, rate), max(ms.SpreadHigh, rate)
	}
	ms.ValidActions, ms.ToolAccuracy = 1, 1
	if allTurns > 0 {
		ms.ValidActions = 1 - float64(min(invalid, allTurns))/float64(allTurns)
	}
	if calls > 0 {
		ms.ToolAccuracy = 1 - float64(toolErrs)/float64(calls)
	}
	ms.MedianTurns, ms.MedianTokens, ms.MedianSeconds = median(turns), median(tokens), median(secs)
	return ms
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// WriteTable prints a report: a row per case and model, a line per model, then each failed
// run with the expectations it missed and the run to read.
func WriteTable(w io.Writer, r *Report) error {
	passed := 0
	for _, c := range r.Cells {
		if c.Pass {
			passed++
		}
	}
	fmt.Fprintf(w, "eval %s (run %s): %d of %d runs passed", r.Suite, r.RunID, passed, len(r.Cells))
	if len(r.Pending) > 0 {
		fmt.Fprintf(w, ", %d not run yet (tandem eval resume %s)", len(r.Pending), r.RunID)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w)
	flow := r.flowTarget()
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	if flow { // a flow's case has steps, not turns, and the model its steps used, if any
		fmt.Fprintln(tw, "case\tmodel\tpass\tsteps\ttokens\ttime")
		for _, row := range r.Rows {
			fmt.Fprintf(tw, "%s\t%s\t%d/%d\t%s\t%s\t%s\n", row.Case, modelOrNone(row.Model), row.Passed, row.Runs,
				num(row.Steps), num(row.Tokens), secs(row.Seconds))
		}
	} else {
		fmt.Fprintln(tw, "case\tmodel\tpass\tturns\ttokens\ttime")
		for _, row := range r.Rows {
			fmt.Fprintf(tw, "%s\t%s\t%d/%d\t%s\t%s\t%s\n", row.Case, orDefault(row.Model), row.Passed, row.Runs,
				num(row.Turns), num(row.Tokens), secs(row.Seconds))
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if !flow {
		if err := writeModels(w, r); err != nil {
			return err
		}
	}
	writeFailed(w, r)
	return nil
}

// flowTarget reports whether the report's cells ran a flow target.
func (r *Report) flowTarget() bool {
	for _, c := range r.Cells {
		if !c.Flow {
			return false
		}
	}
	return len(r.Cells) > 0
}

// writeModels prints a line per model: an agent's rates and medians.
func writeModels(w io.Writer, r *Report) error {
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	// Short headers, so that the table fits 80 columns with a model name of 12 or so:
	// valid is the valid-action rate, tools ok the share of tool calls the tools accepted,
	// stops the runs a loop or a budget stopped.
	fmt.Fprintln(tw, "model\tpass rate\tspread\tvalid\ttools ok\tturns\ttokens\ttime\tstops")
	for _, m := range r.Models {
		fmt.Fprintf(tw, "%s\t%s (%d/%d)\t%s–%s\t%s\t%s\t%s\t%s\t%s\t%s\n", orDefault(m.Model), pct(float64(m.Passed)/float64(max(m.Runs, 1))),
			m.Passed, m.Runs, pct(m.SpreadLow), pct(m.SpreadHigh), pct(m.ValidActions), pct(m.ToolAccuracy),
			num(m.MedianTurns), num(m.MedianTokens), secs(m.MedianSeconds), stops(m))
	}
	return tw.Flush()
}

// writeFailed prints each failed run with the expectations it missed and the run to read.
func writeFailed(w io.Writer, r *Report) {
	first := true
	for _, c := range r.Cells {
		if c.Pass {
			continue
		}
		if first {
			fmt.Fprintln(w, "\nfailed:")
			first = false
		}
		read := readCommand(c)
		on := " on " + orDefault(c.Model)
		if c.Flow && c.Model == "" {
			on = ""
		}
		fmt.Fprintf(w, "  %s%s, repeat %d (%s): %s", c.Case, on, c.Repeat, read, c.Status)
		if c.EndReason != "" {
			fmt.Fprintf(w, ", %s", c.EndReason)
		}
		if c.Error != "" {
			fmt.Fprintf(w, ": %s", c.Error)
		}
		fmt.Fprintln(w)
		for _, o := range c.Outcomes {
			if !o.Pass {
				fmt.Fprintf(w, "    ✗ %s: %s\n", o.Expect, o.Detail)
			}
		}
	}
}

func num(f float64) string {
	if f == float64(int64(f)) {
		return fmt.Sprintf("%d", int64(f))
	}
	return fmt.Sprintf("%.1f", f)
}

func secs(f float64) string { return fmt.Sprintf("%.1fs", f) }

func pct(f float64) string { return fmt.Sprintf("%.0f%%", f*100) }

// stops says how many runs a loop or a budget stopped: "-", "2 loop", "1 loop, 3 budget".
func stops(m ModelStats) string {
	var parts []string
	if m.LoopStops > 0 {
		parts = append(parts, fmt.Sprintf("%d loop", m.LoopStops))
	}
	if m.BudgetStops > 0 {
		parts = append(parts, fmt.Sprintf("%d budget", m.BudgetStops))
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, ", ")
}

// readCommand is where a person reads a cell's run: an agent's case in its trace, a flow's
// (no turns, no end reason) in show.
func readCommand(c CellResult) string {
	if c.EndReason == "" && c.Turns == 0 {
		return "tandem show " + c.RunID
	}
	return "tandem trace " + c.RunID
}
