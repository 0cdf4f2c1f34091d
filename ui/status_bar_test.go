package ui

import (
	"context"
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi"

	"tandem/engine"
	"tandem/flows"
)

// spendingModel is an llm: executor that answers at once, spending the tokens it is given.
type spendingModel struct{ tokens engine.Tokens }

func (x spendingModel) Prepare(s *flows.Step, _ map[string]any) (string, error) {
	return s.LLM.Prompt, nil
}

func (x spendingModel) Execute(context.Context, *engine.StepRun) (engine.Result, error) {
	t := x.tokens
	return engine.Result{Output: "ok", Tokens: &t}, nil
}

func TestTheStatusBarCountsTokensOnlyForRunsOfFlowsWithAModelStep(t *testing.T) {
	a := newTestAppWith(t, 160, 30, map[string]string{
		"ask.yaml":   "name: ask\nsteps:\n  - id: q\n    llm: hi\n",
		"shell.yaml": "name: shell\nsteps:\n  - id: s\n    shell: echo hi\n",
	})
	a.eng.Register(flows.KindLLM, spendingModel{engine.Tokens{Prompt: 12, Output: 3}})

	a.press("j", "r") // shell, after ask
	a.drain()
	if bar := ansi.Strip(a.m.statusBar()); !strings.Contains(bar, "shell") || strings.Contains(bar, "tokens") {
		t.Errorf("a run of shell steps counts tokens: %q", bar)
	}

	a.press("tab", "tab", "k", "k", "r") // back to the sidebar, up to ask
	a.drain()
	if bar := ansi.Strip(a.m.statusBar()); !strings.Contains(bar, "ask") || !strings.Contains(bar, "tokens 12/3") {
		t.Errorf("a run of an llm step does not count its tokens: %q", bar)
	}
}
