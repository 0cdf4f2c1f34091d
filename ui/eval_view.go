package ui

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"tandem/engine"
	"tandem/flows"
)

// Promoter writes the flow a passing agent run promotes to, in dir, and returns its path;
// cmd/tandem gives the workbench one (package promote), which the eval view's P calls.
type Promoter func(ctx context.Context, runID, dir string) (string, error)

// evalOutcome is one expectation of a cell's run.
type evalOutcome struct {
	Expect string `json:"expect"`
	Pass   bool   `json:"pass"`
	Detail string `json:"detail,omitempty"`
}

// evalCell is one cell's scored run as an eval run records it: the JSON of eval.CellResult,
// read here from the log so that the UI does not depend on the eval package.
type evalCell struct {
	Cell     string        `json:"cell"`
	Case     string        `json:"case"`
	Model    string        `json:"model"`
	Repeat   int           `json:"repeat"`
	RunID    string        `json:"run_id"`
	Pass     bool          `json:"pass"`
	Status   string        `json:"status"`
	Error    string        `json:"error,omitempty"`
	Turns    int           `json:"turns"`
	Flow     bool          `json:"flow"`  // a flow target's case: it has steps, not turns
	Steps    int           `json:"steps"` // the steps a flow's case ran
	Seconds  float64       `json:"seconds"`
	Outcomes []evalOutcome `json:"outcomes"`
}

// evalReport is what the view shows of an eval run.
type evalReport struct {
	Suite, File, Status string
	Planned             int // cells in the plan, recorded or not
	Cells               []evalCell
}

// The eval view: opening an eval run (a run of an eval:NAME flow, listed in the sidebar like
// any run) shows its results as a table of cases × models, each cell the passes of its
// repeats, with the selected cell's expectations beside it. enter opens the cell's case run
// (its first failed repeat, else its first) in the panes, the view turning into a bar under
// them that keeps that run's failed expectations in sight; backspace brings the table back,
// esc closes. P promotes the cell's passing agent run into a flow file.

// EvalKeyMap are the eval view's keys.
type EvalKeyMap struct {
	Up, Down, Left, Right key.Binding
	Open, Promote         key.Binding
	Back, Close           key.Binding
}

// DefaultEvalKeyMap is the eval view's default keymap.
var DefaultEvalKeyMap = EvalKeyMap{
	Up:      key.NewBinding(key.WithKeys("up", "k"), key.WithHelp("↑/k", "case up")),
	Down:    key.NewBinding(key.WithKeys("down", "j"), key.WithHelp("↓/j", "case down")),
	Left:    key.NewBinding(key.WithKeys("left", "h"), key.WithHelp("←/h", "model left")),
	Right:   key.NewBinding(key.WithKeys("right", "l"), key.WithHelp("→/l", "model right")),
	Open:    key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "open the cell's run")),
	Promote: key.NewBinding(key.WithKeys("P"), key.WithHelp("P", "promote to a flow")),
	Back:    key.NewBinding(key.WithKeys("backspace"), key.WithHelp("backspace", "back to the table")),
	Close:   key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "close")),
}

// evalKeys are the keys for the help bar: the table's, or the bar's.
type evalKeys struct {
	EvalKeyMap
	bar bool
}

// ShortHelp implements help.KeyMap.
func (k evalKeys) ShortHelp() []key.Binding {
	if k.bar {
		return []key.Binding{k.Back, k.Close}
	}
	return []key.Binding{k.Up, k.Down, k.Left, k.Right, k.Open, k.Promote, k.Close}
}

// FullHelp implements help.KeyMap.
func (k evalKeys) FullHelp() [][]key.Binding { return [][]key.Binding{k.ShortHelp()} }

type evalReportMsg struct {
	runID string
	rep   *evalReport
	err   error
}

type evalPromotedMsg struct {
	path string
	err  error
}

// evalView is the eval view overlay.
type evalView struct {
	keys    EvalKeyMap
	theme   Theme
	runID   string
	rep     *evalReport
	err     error
	promote Promoter

	cases, models []string
	flow          bool // every cell is a flow target's case
	row, col      int
	bar           bool      // showing one cell's run in the panes, as a bar
	barCell       *evalCell // the run the bar is about
	note          string    // the last action's outcome
	w, h          int
}

// newEvalView opens the eval view of eval run runID; Init loads its report.
func newEvalView(t Theme, runID string, p Promoter) *evalView {
	return &evalView{keys: DefaultEvalKeyMap, theme: t, runID: runID, promote: p}
}

// openEval shows the results of eval run runID over the panes (once: an eval view of it
// that is open already stays as it is).
func (m *Model) openEval(runID string) tea.Cmd {
	for _, o := range m.overlays.items {
		if v, ok := o.(*evalView); ok && v.runID == runID {
			return nil
		}
	}
	v := newEvalView(m.theme, runID, m.opts.Promote)
	m.openOverlay(v)
	return loadEvalReport(m.opts.Store, runID)
}

// isEvalFlow reports whether f is an eval run's flow.
func isEvalFlow(f *flows.Flow) bool { return f != nil && strings.HasPrefix(f.Name, evalFlowPrefix) }

// loadEvalReport reads an eval run's results from its log: each cell's result is its wait
// step's output, or the signal that will resolve it (an eval cut short).
func loadEvalReport(st Store, runID string) tea.Cmd {
	if st == nil {
		return nil
	}
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		events, err := st.Events(ctx, runID, 0)
		if err != nil {
			return evalReportMsg{runID: runID, err: err}
		}
		rep, err := evalReportOf(engine.Fold(events))
		return evalReportMsg{runID: runID, rep: rep, err: err}
	}
}

// evalReportOf reads the cells' results out of an eval run's state, in the plan's order.
func evalReportOf(st *engine.State) (*evalReport, error) {
	f, err := flows.Parse(st.Start.FlowPath, []byte(st.Start.Source))
	if err != nil {
		return nil, fmt.Errorf("read eval %s: %w", st.ID, err)
	}
	rep := &evalReport{Suite: strings.TrimPrefix(st.Start.FlowName, evalFlowPrefix), Status: string(st.Status), Planned: len(f.Steps)}
	rep.File, _ = st.Start.Inputs["suite"].(string)
	signalled := map[string]string{}
	for _, sig := range st.Signals {
		signalled[sig.Event] = string(sig.Data)
	}
	for _, step := range f.Steps {
		out, ok := signalled["cell:"+step.ID]
		if ss, done := st.Steps[step.ID]; done && ss.Status == engine.StatusSucceeded {
			out, ok = ss.Output, true
		}
		if !ok {
			continue
		}
		var c evalCell
		if err := json.Unmarshal([]byte(out), &c); err != nil {
			return nil, fmt.Errorf("read eval %s: cell %s: %w", st.ID, step.ID, err)
		}
		rep.Cells = append(rep.Cells, c)
	}
	return rep, nil
}

// promoteRun promotes run runID into a flow file in dir.
func promoteRun(p Promoter, runID, dir string) tea.Cmd {
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		path, err := p(ctx, runID, dir)
		return evalPromotedMsg{path: path, err: err}
	}
}

func (v *evalView) setReport(rep *evalReport) {
	v.rep, v.cases, v.models = rep, nil, nil
	v.flow = len(rep.Cells) > 0
	for _, c := range rep.Cells {
		v.flow = v.flow && c.Flow
		if !containsString(v.cases, c.Case) {
			v.cases = append(v.cases, c.Case)
		}
		if !containsString(v.models, c.Model) {
			v.models = append(v.models, c.Model)
		}
	}
	v.row, v.col = min(v.row, max(len(v.cases)-1, 0)), min(v.col, max(len(v.models)-1, 0))
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// cells are the selected cell's runs, one per repeat.
func (v *evalView) cells() []evalCell {
	if v.rep == nil || len(v.cases) == 0 {
		return nil
	}
	var out []evalCell
	for _, c := range v.rep.Cells {
		if c.Case == v.cases[v.row] && c.Model == v.models[v.col] {
			out = append(out, c)
		}
	}
	return out
}

// pick is the run enter opens: the first failed repeat, else the first.
func (v *evalView) pick() *evalCell {
	cs := v.cells()
	for i := range cs {
		if !cs[i].Pass {
			return &cs[i]
		}
	}
	if len(cs) > 0 {
		return &cs[0]
	}
	return nil
}

func (v *evalView) handle(msg tea.Msg, env overlayEnv) (tea.Cmd, bool) {
	switch msg := msg.(type) {
	case evalReportMsg:
		if msg.runID == v.runID {
			v.err = msg.err
			if msg.err == nil {
				v.setReport(msg.rep)
			}
		}
		return nil, false
	case evalPromotedMsg:
		if msg.err != nil {
			v.note = "not promoted: " + msg.err.Error()
		} else {
			v.note = "promoted to " + msg.path
		}
		return nil, false
	case tea.KeyPressMsg:
		return v.key(msg, env)
	}
	return nil, false
}

func (v *evalView) key(k tea.KeyPressMsg, env overlayEnv) (tea.Cmd, bool) {
	if v.bar {
		switch {
		case key.Matches(k, v.keys.Back):
			v.bar, v.barCell = false, nil
			return tea.RequestWindowSize, false
		case key.Matches(k, v.keys.Close):
			return nil, true
		}
		return nil, false
	}
	switch {
	case key.Matches(k, v.keys.Close):
		return nil, true
	case key.Matches(k, v.keys.Up):
		v.row = max(v.row-1, 0)
	case key.Matches(k, v.keys.Down):
		v.row = min(v.row+1, max(len(v.cases)-1, 0))
	case key.Matches(k, v.keys.Left):
		v.col = max(v.col-1, 0)
	case key.Matches(k, v.keys.Right):
		v.col = min(v.col+1, max(len(v.models)-1, 0))
	case key.Matches(k, v.keys.Open):
		c := v.pick()
		if c == nil || c.RunID == "" {
			v.note = "this cell has no run"
			return nil, false
		}
		v.bar, v.barCell, v.note = true, c, ""
		id := c.RunID
		return tea.Batch(func() tea.Msg { return openRunMsg{runID: id, pane: paneDAG} }, tea.RequestWindowSize), false
	case key.Matches(k, v.keys.Promote):
		c := v.pick()
		switch {
		case c == nil:
			v.note = "no run to promote"
		case !c.Pass:
			v.note = "only a passing run is promoted: this cell's run " + c.RunID + " failed"
		case v.promote == nil:
			v.note = "this workbench cannot promote runs (tandem promote RUN does)"
		default:
			v.note = "promoting " + c.RunID + "…"
			dir := ""
			if v.rep.File != "" {
				dir = filepath.Dir(v.rep.File)
			}
			return promoteRun(v.promote, c.RunID, dir), false
		}
	}
	return nil, false
}

// takesKey: the table takes every key; the bar only its own, the panes keep the rest.
func (v *evalView) takesKey(k tea.KeyPressMsg, _ bool) bool {
	return !v.bar || key.Matches(k, v.keys.Back, v.keys.Close)
}

func (v *evalView) help() help.KeyMap { return evalKeys{EvalKeyMap: v.keys, bar: v.bar} }

func (v *evalView) traits() overlayTraits { return overlayTraits{bar: v.bar} }

func (v *evalView) SetSize(w, h int) { v.w, v.h = max(w, 1), max(h, 1) }

func (v *evalView) SetTheme(t Theme) { v.theme = t }

// barLines are the most lines the bar takes.
const barLines = 6

func (v *evalView) View() string {
	if v.bar {
		return v.barView()
	}
	return v.tableView()
}

// pad fits s to the width.
func (v *evalView) pad(s string) string {
	s = fitText(s, v.w)
	return s + strings.Repeat(" ", max(0, v.w-ansi.StringWidth(s)))
}

func (v *evalView) tableView() string {
	var lines []string
	title := "eval run " + v.runID
	if v.rep != nil {
		title = fmt.Sprintf("eval %s · run %s · %s", v.rep.Suite, v.runID, v.rep.Status)
	}
	lines = append(lines, v.theme.Title.Render(v.pad(title)))
	switch {
	case v.err != nil:
		lines = append(lines, v.theme.Error.Render(v.pad(v.err.Error())))
	case v.rep == nil:
		lines = append(lines, v.theme.Dim.Render(v.pad("loading the results…")))
	case len(v.cases) == 0:
		lines = append(lines, v.theme.Dim.Render(v.pad("no cell has a result yet")))
	default:
		lines = append(lines, v.table()...)
		lines = append(lines, "")
		lines = append(lines, v.details()...)
	}
	if v.note != "" {
		lines = append(lines, "", v.theme.Dim.Render(v.pad(v.note)))
	}
	for len(lines) < v.h {
		lines = append(lines, v.pad(""))
	}
	if len(lines) > v.h {
		lines = lines[:v.h]
	}
	return strings.Join(lines, "\n")
}

// table is the cases × models grid: each cell its passes over its repeats.
func (v *evalView) table() []string {
	caseW := 4
	for _, c := range v.cases {
		caseW = max(caseW, ansi.StringWidth(c))
	}
	caseW = min(caseW, max(v.w/3, 8))
	colW := 8
	for _, m := range v.models {
		colW = max(colW, min(ansi.StringWidth(v.modelLabel(m)), 24))
	}
	head := fmt.Sprintf("%-*s", caseW, "case")
	for _, m := range v.models {
		head += "  " + fmt.Sprintf("%-*s", colW, fitText(v.modelLabel(m), colW))
	}
	lines := []string{v.theme.Dim.Render(v.pad(head))}
	for i, c := range v.cases {
		row := fmt.Sprintf("%-*s", caseW, fitText(c, caseW))
		var cells []string
		for j, m := range v.models {
			passed, runs := 0, 0
			for _, cr := range v.rep.Cells {
				if cr.Case == c && cr.Model == m {
					runs++
					if cr.Pass {
						passed++
					}
				}
			}
			mark := "✓"
			if passed < runs {
				mark = "✗"
			}
			text := fmt.Sprintf("%-*s", colW, fmt.Sprintf("%s %d/%d", mark, passed, runs))
			if runs == 0 {
				text = fmt.Sprintf("%-*s", colW, "·")
			}
			style := v.theme.Text
			if passed < runs {
				style = v.theme.Error
			}
			if i == v.row && j == v.col {
				style = v.theme.Selected
			}
			cells = append(cells, style.Render(text))
		}
		lines = append(lines, v.theme.Text.Render(row)+"  "+strings.Join(cells, "  "))
	}
	return lines
}

// details are the selected cell's runs and their expectations.
func (v *evalView) details() []string {
	var lines []string
	for _, c := range v.cells() {
		status := "passed"
		if !c.Pass {
			status = "failed"
		}
		lines = append(lines, v.theme.Text.Render(v.pad(fmt.Sprintf("repeat %d · run %s · %s · %s · %.1fs", c.Repeat, c.RunID, status, did(c), c.Seconds))))
		lines = append(lines, v.outcomes(c)...)
	}
	return lines
}

// outcomes are a run's expectations, the failed ones with why.
func (v *evalView) outcomes(c evalCell) []string {
	var lines []string
	if c.Error != "" {
		lines = append(lines, v.theme.Error.Render(v.pad("  ✗ the run "+c.Status+": "+c.Error)))
	}
	for _, o := range c.Outcomes {
		if o.Pass {
			lines = append(lines, v.theme.Dim.Render(v.pad("  ✓ "+o.Expect)))
			continue
		}
		text := "  ✗ " + o.Expect
		if o.Detail != "" {
			text += ": " + o.Detail
		}
		lines = append(lines, v.theme.Error.Render(v.pad(text)))
	}
	return lines
}

// barView is the strip under the panes while a cell's run is open: its failed expectations.
func (v *evalView) barView() string {
	c := v.barCell
	on := ""
	if label := v.modelLabel(c.Model); label != "" {
		on = " on " + label
	}
	head := fmt.Sprintf("eval %s · case %s%s, repeat %d · run %s", v.rep.Suite, c.Case, on, c.Repeat, c.RunID)
	lines := []string{v.theme.Title.Render(v.pad(head))}
	var failed []string
	for _, l := range v.outcomes(*c) {
		if strings.Contains(ansi.Strip(l), "✗") {
			failed = append(failed, l)
		}
	}
	if len(failed) == 0 {
		failed = []string{v.theme.Dim.Render(v.pad("  every expectation held"))}
	}
	lines = append(lines, failed...)
	if len(lines) > barLines {
		lines = append(lines[:barLines-1], v.theme.Dim.Render(v.pad(fmt.Sprintf("  … %d more (backspace: the table)", len(lines)-barLines+1))))
	}
	return strings.Join(lines, "\n")
}

// modelLabel names a model column: the model, or for an agent on its default "default"; a
// flow whose steps use no model has none.
func (v *evalView) modelLabel(m string) string {
	if m == "" && !v.flow {
		return "default"
	}
	return m
}

// did says what a case run did: a flow's steps, an agent's turns.
func did(c evalCell) string {
	n, unit := c.Turns, "turn"
	if c.Flow {
		n, unit = c.Steps, "step"
	}
	if n == 1 {
		return "1 " + unit
	}
	return fmt.Sprintf("%d %ss", n, unit)
}
