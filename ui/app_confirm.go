package ui

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"

	"tandem/engine"
	"tandem/flows"
)

// The keys that change a run (approve, reject, cancel, retry, fork) ask first on the
// confirmation line; this file asks, and acts on the answer. Approvals and rejections take
// an optional comment there and record who answered as the CLI does (Options.Who).

// askConfirm puts a question on the confirmation line, which takes the keys until answered.
func (m *Model) askConfirm(a confirmAction, stepID, question string, comment bool) tea.Cmd {
	m.confirm.Ask(a, m.run.id, stepID, question, comment)
	m.openOverlay(m.confirm)
	return nil
}

// askRetry asks to retry step st of the open run: as the run recorded its flow, or, when
// the file changed since and the run can go on with it, with the file as it is now.
func (m *Model) askRetry(st *engine.StepState) tea.Cmd {
	id := st.ID
	q := fmt.Sprintf("retry %s of run %s?", id, shortID(m.run.id))
	if d := m.run.disk; d != nil && d.Flow != nil && st.Parent == "" {
		if err := engine.ReloadProblem(m.run.state, d.Flow); err != nil {
			q += " (the file changed, but " + err.Error() + ")"
		} else {
			m.confirm.Ask(confirmRetry, m.run.id, id, fmt.Sprintf("retry %s of run %s? the file changed (%s):", id, shortID(m.run.id), m.run.diskChange()), false)
			m.confirm.Offer(confirmRetryReload, "n", "with the file as it is now")
			m.confirm.Keys.Confirm.SetHelp("enter", "as recorded")
			m.openOverlay(m.confirm)
			return nil
		}
	}
	return m.askConfirm(confirmRetry, id, q, false)
}

// confirmed acts on the confirmation line's answer, a ConfirmedMsg or a
// ConfirmCancelledMsg.
func (m *Model) confirmed(msg tea.Msg) tea.Cmd {
	c, ok := msg.(ConfirmedMsg)
	if !ok {
		m.setInfo("nothing changed")
		return nil
	}
	e := m.opts.Engine
	switch c.action {
	case confirmApprove, confirmReject:
		ok := c.action == confirmApprove
		m.setDoing(map[bool]string{true: "approving ", false: "rejecting "}[ok]+c.StepID,
			map[bool]string{true: "approved ", false: "rejected "}[ok]+c.StepID)
		return approve(m.exec, e, c.RunID, c.StepID, ok, m.opts.Who, c.Comment)
	case confirmCancel:
		return cancelRun(m.exec, e, c.RunID)
	case confirmRetry:
		m.setDoing("retrying "+c.StepID, "retried "+c.StepID)
		return retryStep(m.exec, e, c.RunID, c.StepID, "")
	case confirmRetryReload:
		if d := m.run.disk; d != nil && d.Flow != nil && c.RunID == m.run.id {
			m.setDoing("retrying "+c.StepID+" with "+d.Name+" as it is now", "retried "+c.StepID+" with "+d.Name+" as it is now")
			return retryReloaded(m.exec, e, c.RunID, c.StepID, d.Flow)
		}
		m.setStatus(errors.New("the flow file changed again: press R once more"))
		return nil
	case confirmFork:
		m.setInfo(fmt.Sprintf("forking %s at %s", c.RunID, c.StepID))
		return forkRun(m.exec, e, c.RunID, c.StepID, nil)
	}
	return nil
}

// decideKey asks to approve (ok) or reject the selected step. With another step selected
// it moves to the one step waiting for approval, or names those that are.
func (m *Model) decideKey(ok bool) tea.Cmd {
	verb := map[bool]string{true: "approve", false: "reject"}[ok]
	waiting := approvalSteps(m.run.state)
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
			step = m.run.state.Steps[waiting[0]]
		default:
			m.setStatus(fmt.Errorf("select the step to %s: %s wait for approval", verb, strings.Join(waiting, ", ")))
			return nil
		}
	}
	a := confirmApprove
	if !ok {
		a = confirmReject
	}
	return m.askConfirm(a, step.ID, fmt.Sprintf("%s %s of run %s?", verb, step.ID, shortID(m.run.id)), true)
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

// waitingOn names what a run waits on for the status bar: "on review (approval)",
// "on pause (timer, 4m left)", or "" when no step waits.
func waitingOn(st *engine.State, now time.Time) string {
	if st == nil || st.Status.Terminal() {
		return ""
	}
	var parts []string
	for _, id := range st.StepIDs() {
		s := st.Steps[id]
		if s.Status != engine.StatusWaiting || s.Waiting == nil || s.Parent != "" {
			continue
		}
		parts = append(parts, id+" ("+waitWhat(s.Waiting, now)+")")
	}
	if len(parts) == 0 {
		return ""
	}
	return "on " + strings.Join(parts, ", ")
}

// waitWhat says what a waiting step waits for: an approval, an event, a timer, with the
// time left when there is a deadline.
func waitWhat(w *engine.StepWaitingData, now time.Time) string {
	what := w.Kind
	switch {
	case what == "approval":
	case len(w.Events) > 0:
		what = "event " + strings.Join(w.Events, "|")
	case what == "sleep":
		what = "timer"
	}
	if !w.Until.IsZero() && !now.IsZero() {
		what += ", " + formatDuration(w.Until.Sub(now).Round(time.Second)) + " left"
	}
	return what
}

// forkKey opens the fork of the open run from the selected step: the inputs form prefilled
// with the run's inputs (showing which steps the fork reuses and which run again), or, for a
// flow without inputs, the confirmation line with the same plan.
func (m *Model) forkKey(id string) tea.Cmd {
	if m.run.state == nil || id == "" {
		m.setStatus(errors.New("open a run and select the step to fork it from"))
		return nil
	}
	if p := strings.IndexByte(id, '['); p > 0 { // a map item forks from its map step
		id = id[:p]
	}
	f := m.run.flow
	if f == nil || f.StepByID(id) == nil {
		m.setStatus(fmt.Errorf("%s is not a step of the run's flow", id))
		return nil
	}
	if len(f.Inputs) == 0 {
		return m.askConfirm(confirmFork, id, fmt.Sprintf("fork %s at %s? %s", shortID(m.run.id), id, forkPlan(f, m.run.state, id, nil)), false)
	}
	m.openOverlay(newForkForm(m.theme, f, m.run.state, m.run.id, id))
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
