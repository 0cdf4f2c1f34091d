package ui

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	tea "charm.land/bubbletea/v2"

	"tandem/engine"
	"tandem/flows"
)

// The keys that change a run (approve, reject, cancel, retry, fork) ask first on the
// confirmation line; this file asks, and acts on the answer. Approvals and rejections take
// an optional comment there and record who answered as the CLI does (Options.Who).

// askConfirm puts a question on the confirmation line, which takes the keys until answered.
func (m *Model) askConfirm(a confirmAction, stepID, question string, comment bool) tea.Cmd {
	m.confirm.Ask(a, m.runID, stepID, question, comment)
	m.resize()
	return nil
}

// confirmMsg acts on the confirmation line's answer; ok is false for other messages.
func (m *Model) confirmMsg(msg tea.Msg) (tea.Cmd, bool) {
	switch msg := msg.(type) {
	case ConfirmCancelledMsg:
		m.resize()
		m.setInfo("nothing changed")
		return nil, true
	case ConfirmedMsg:
		m.resize()
		e := m.opts.Engine
		switch msg.action {
		case confirmApprove, confirmReject:
			ok := msg.action == confirmApprove
			m.setInfo(map[bool]string{true: "approving ", false: "rejecting "}[ok] + msg.StepID)
			return approve(m.exec, e, msg.RunID, msg.StepID, engine.ApprovalData{Approved: ok, Who: m.opts.Who,
				When: m.opts.Now().UTC(), Comment: msg.Comment}), true
		case confirmCancel:
			return cancelRun(m.exec, e, msg.RunID), true
		case confirmRetry:
			m.setInfo("retrying " + msg.StepID)
			return retryStep(m.exec, e, msg.RunID, msg.StepID, ""), true
		case confirmFork:
			m.setInfo(fmt.Sprintf("forking %s at %s", msg.RunID, msg.StepID))
			return forkRun(m.exec, e, msg.RunID, msg.StepID, nil), true
		}
		return nil, true
	}
	return nil, false
}

// confirmHeight is the confirmation line's height: 1 while it asks.
func (m *Model) confirmHeight() int {
	if m.confirm.Asking() {
		return 1
	}
	return 0
}

// decideKey asks to approve (ok) or reject the selected step. With another step selected
// it moves to the one step waiting for approval, or names those that are.
func (m *Model) decideKey(ok bool) tea.Cmd {
	verb := map[bool]string{true: "approve", false: "reject"}[ok]
	waiting := approvalSteps(m.state)
	step := m.selectedStep()
	if step == nil || step.Status != engine.StatusWaiting || step.Waiting == nil || step.Waiting.Kind != "approval" {
		switch len(waiting) {
		case 0:
			m.setStatus(fmt.Errorf("nothing in this run waits for approval; %s answers a step that does", verb))
			return nil
		case 1:
			if !m.dag.Select(waiting[0]) {
				m.setStatus(fmt.Errorf("%s waits for approval; select it to %s it", waiting[0], verb))
				return nil
			}
			m.trace.Show(waiting[0])
			step = m.state.Steps[waiting[0]]
		default:
			m.setStatus(fmt.Errorf("select the step to %s: %s wait for approval", verb, strings.Join(waiting, ", ")))
			return nil
		}
	}
	a := confirmApprove
	if !ok {
		a = confirmReject
	}
	return m.askConfirm(a, step.ID, fmt.Sprintf("%s %s of run %s?", verb, step.ID, shortID(m.runID)), true)
}

// approvalSteps lists the steps of a run that wait for a person's approval.
func approvalSteps(st *engine.State) []string {
	if st == nil {
		return nil
	}
	var out []string
	for id, s := range st.Steps {
		if s.Status == engine.StatusWaiting && s.Waiting != nil && s.Waiting.Kind == "approval" {
			out = append(out, id)
		}
	}
	sort.Strings(out)
	return out
}

// waitingOn names what a run waits on for the status bar: "on review (approval)", or ""
// when no step waits.
func waitingOn(st *engine.State) string {
	if st == nil || st.Status.Terminal() {
		return ""
	}
	var parts []string
	for _, id := range st.StepIDs() {
		s := st.Steps[id]
		if s.Status != engine.StatusWaiting || s.Waiting == nil || s.Parent != "" {
			continue
		}
		what := s.Waiting.Kind
		if what != "approval" && len(s.Waiting.Events) > 0 {
			what = "event " + strings.Join(s.Waiting.Events, "|")
		}
		parts = append(parts, id+" ("+what+")")
	}
	if len(parts) == 0 {
		return ""
	}
	return "on " + strings.Join(parts, ", ")
}

// forkKey opens the fork of the open run from the selected step: the inputs form prefilled
// with the run's inputs (showing which steps the fork reuses and which run again), or, for a
// flow without inputs, the confirmation line with the same plan.
func (m *Model) forkKey(id string) tea.Cmd {
	if m.state == nil || id == "" {
		m.setStatus(errors.New("open a run and select the step to fork it from"))
		return nil
	}
	if p := strings.IndexByte(id, '['); p > 0 { // a map item forks from its map step
		id = id[:p]
	}
	f := m.flow
	if f == nil || f.StepByID(id) == nil {
		m.setStatus(fmt.Errorf("%s is not a step of the run's flow", id))
		return nil
	}
	if len(f.Inputs) == 0 {
		return m.askConfirm(confirmFork, id, fmt.Sprintf("fork %s at %s? %s", shortID(m.runID), id, forkPlan(f, m.state, id, nil)), false)
	}
	fields := inputFields(f, m.state.Start.Inputs)
	m.formFlow, m.formRun, m.formStep, m.formFields = f, m.runID, id, fields
	m.form = NewForm(m.theme, FormFork, fmt.Sprintf("fork %s at %s with these inputs", shortID(m.runID), id), fields)
	m.form.SetNote(forkPlan(f, m.state, id, nil))
	m.openOverlay(focusForm)
	return nil
}

// forkChanges returns the fork form's values that differ from the run's (the fields as
// prefilled); the engine types them by the flow's inputs. A secret left empty keeps the
// run's value.
func forkChanges(fields []FormField, values map[string]string) map[string]any {
	changed := map[string]any{}
	for _, fl := range fields {
		v := values[fl.Name]
		if v == fl.Value || (fl.Secret && v == "") {
			continue
		}
		changed[fl.Name] = v
	}
	return changed
}

// forkPlan says which steps a fork of the run st of f at stepID with inputs changed reuses
// and which it runs again (engine.ForkRerun decides, as it does for the fork itself).
func forkPlan(f *flows.Flow, st *engine.State, stepID string, changed map[string]any) string {
	var names []string
	for k := range changed {
		names = append(names, k)
	}
	rerun := engine.ForkRerun(f, stepID, names)
	var reuse, again []string
	for _, s := range f.Steps {
		if ss := st.Steps[s.ID]; ss != nil && !rerun[s.ID] && ss.Status == engine.StatusSucceeded {
			reuse = append(reuse, s.ID)
		} else {
			again = append(again, s.ID)
		}
	}
	list := func(ids []string) string {
		if len(ids) == 0 {
			return "none"
		}
		return strings.Join(ids, ", ")
	}
	return fmt.Sprintf("reuses %s · runs %s", list(reuse), list(again))
}
