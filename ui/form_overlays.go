package ui

import (
	"fmt"

	"charm.land/bubbles/v2/help"
	tea "charm.land/bubbletea/v2"

	"tandem/engine"
	"tandem/flows"
)

// The forms as overlays, each with what its values are for: the flow a run-inputs form
// starts, the run a signal form signals, the run and step a fork form forks from.

// formOverlay is the part every form overlay shares: the form takes text and closes on esc.
type formOverlay struct{ FormModel }

func (f *formOverlay) help() help.KeyMap     { return f.Keys }
func (f *formOverlay) traits() overlayTraits { return overlayTraits{typing: true} }

// update gives msg to the form; submitted is set when the form was submitted, done when
// it was cancelled.
func (f *formOverlay) update(msg tea.Msg) (cmd tea.Cmd, submitted *FormSubmittedMsg, done bool) {
	switch msg := msg.(type) {
	case FormCancelledMsg:
		return nil, nil, true
	case FormSubmittedMsg:
		return nil, &msg, false
	}
	f.FormModel, cmd = f.Update(msg)
	return cmd, nil, false
}

// inputsForm asks for a flow's inputs to start a run of it.
type inputsForm struct {
	formOverlay
	flow *flows.Flow
}

// newInputsForm asks for the inputs of flow f, prefilled with prev (the inputs of a run of
// f shown, to run it again with a change), else with their defaults.
func newInputsForm(t Theme, f *flows.Flow, prev map[string]any) *inputsForm {
	return &inputsForm{formOverlay: formOverlay{NewForm(t, FormRunInputs, "run "+f.Name+" with these inputs", inputFields(f, prev))},
		flow: f}
}

func (f *inputsForm) handle(msg tea.Msg, env overlayEnv) (tea.Cmd, bool) {
	cmd, sub, done := f.update(msg)
	if sub == nil {
		return cmd, done
	}
	inputs, err := resolveFormInputs(f.flow, sub.Values)
	if err != nil {
		f.SetError(err, "; fix it and submit again, or esc")
		return nil, false
	}
	return startRun(env.exec, env.eng, f.flow, inputs, env.run.takeBreaks(f.flow)), true
}

// signalForm asks for an event and its data to send to a run.
type signalForm struct {
	formOverlay
	run string
}

// newSignalForm asks for an event, prefilled with event, to send to run runID.
func newSignalForm(t Theme, runID, event string) *signalForm {
	f := &signalForm{formOverlay: formOverlay{NewForm(t, FormSignal, "send an event to run "+runID, signalFields(event))}, run: runID}
	if event != "" {
		f.setFocus(1)
	}
	return f
}

func (f *signalForm) handle(msg tea.Msg, env overlayEnv) (tea.Cmd, bool) {
	cmd, sub, done := f.update(msg)
	if sub == nil {
		return cmd, done
	}
	event, data, err := parseSignal(sub.Values)
	if err != nil {
		f.SetError(err, "")
		return nil, false
	}
	env.info(fmt.Sprintf("sending %q to %s", event, f.run))
	return signalRun(env.exec, env.eng, f.run, event, data), true
}

// forkForm asks for a run's inputs, changed, to fork it from a step; it shows which steps
// the fork reuses and which it runs again as the values change.
type forkForm struct {
	formOverlay
	flow   *flows.Flow
	state  *engine.State
	run    string
	step   string
	fields []FormField // as prefilled: the run's inputs
}

// newForkForm forks run runID of flow f (in state st) at step, prefilled with its inputs.
func newForkForm(t Theme, f *flows.Flow, st *engine.State, runID, step string) *forkForm {
	fields := inputFields(f, st.Start.Inputs)
	ff := &forkForm{formOverlay: formOverlay{NewForm(t, FormFork, fmt.Sprintf("fork %s at %s with these inputs", shortID(runID), step), fields)},
		flow: f, state: st, run: runID, step: step, fields: fields}
	ff.SetNote(forkPlan(f, st, step, nil))
	return ff
}

func (f *forkForm) handle(msg tea.Msg, env overlayEnv) (tea.Cmd, bool) {
	cmd, sub, done := f.update(msg)
	if sub == nil {
		f.SetNote(forkPlan(f.flow, f.state, f.step, forkChanges(f.fields, f.Values())))
		return cmd, done
	}
	env.info(fmt.Sprintf("forking %s at %s", f.run, f.step))
	return forkRun(env.exec, env.eng, f.run, f.step, forkChanges(f.fields, sub.Values)), true
}
