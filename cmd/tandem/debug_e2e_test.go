package main_test

import (
	"encoding/json"
	"maps"
	"strings"
	"testing"
)

// debugFlow appends each step's id to effects.log, so the file proves which steps ran.
const debugFlow = `name: debug
inputs:
  word: { type: string, default: alpha }
steps:
  - id: fetch
    shell: 'echo fetch >> effects.log; echo data'
  - id: check
    needs: [fetch]
    shell: 'echo check >> effects.log; [ "{{ .inputs.word }}" != bad ] || exit 5; echo "{{ .steps.fetch.output }}-{{ .inputs.word }}"'
  - id: report
    needs: [check]
    shell: 'echo report >> effects.log; echo "report: {{ .steps.check.output }}"'
`

func TestCLIDebugForkDiffAndSkip(t *testing.T) {
	w := newWorkspace(t)
	w.write("debug.yaml", debugFlow)
	out, errOut, code := w.tandem("run", "debug.yaml")
	if code != 0 {
		t.Fatalf("run: exit %d\n%s%s", code, out, errOut)
	}
	a := firstLineRunID(t, out)

	// Fork at check with another input: fetch is reused, check and report run again.
	out, errOut, code = w.tandem("fork", a[:10], "check", "-i", "word=beta")
	if code != 0 {
		t.Fatalf("fork: exit %d\n%s%s", code, out, errOut)
	}
	b := firstLineRunID(t, out)
	if b == a || !strings.Contains(out, "forked from "+a+" at check") || !strings.Contains(out, "✓ fetch") ||
		!strings.Contains(out, "reused from run "+a) || !strings.Contains(out, "succeeded") {
		t.Fatalf("fork output:\n%s", out)
	}
	if got, want := countEffects(t, w), map[string]int{"fetch": 1, "check": 2, "report": 2}; !maps.Equal(got, want) {
		t.Fatalf("effects after the fork = %v, want %v (fetch must not run again)", got, want)
	}

	// Diff: fetch is the same, check and report differ, with their output lines.
	out, errOut, code = w.tandem("diff", a, b[:10])
	if code != 0 {
		t.Fatalf("diff: exit %d\n%s%s", code, out, errOut)
	}
	for _, want := range []string{"fetch", "same", "different", "-data-alpha", "+data-beta", "-report: data-alpha", "+report: data-beta", "2 of 3 steps differ"} {
		if !strings.Contains(out, want) {
			t.Errorf("diff output lacks %q:\n%s", want, out)
		}
	}
	// The differing inputs come first.
	if i, j := strings.Index(out, `word   "alpha"  "beta"`), strings.Index(out, "STEP"); i < 0 || j < i {
		t.Errorf("diff does not show the differing input before the steps:\n%s", out)
	}
	out, _, code = w.tandem("diff", a, b, "--json")
	var d struct {
		A, B   string
		Inputs []struct{ Name, A, B string }
		Steps  []struct {
			Step  string `json:"step"`
			Equal bool   `json:"equal"`
		}
	}
	if err := json.Unmarshal([]byte(out), &d); err != nil || code != 0 || d.A != a || d.B != b || len(d.Steps) != 3 {
		t.Fatalf("diff --json: %v exit %d\n%s", err, code, out)
	}
	if len(d.Inputs) != 1 || d.Inputs[0].Name != "word" || d.Inputs[0].A != `"alpha"` || d.Inputs[0].B != `"beta"` {
		t.Errorf("diff --json inputs = %+v", d.Inputs)
	}
	for _, s := range d.Steps {
		if s.Equal != (s.Step == "fetch") {
			t.Errorf("diff --json: %s equal=%v", s.Step, s.Equal)
		}
	}

	// Skip: a fork that fails at check is completed by hand and finishes with that output.
	out, _, code = w.tandem("fork", b, "check", "-i", "word=bad")
	if code != 1 || !strings.Contains(out, "✗ check") {
		t.Fatalf("failing fork: exit %d\n%s", code, out)
	}
	c := firstLineRunID(t, out)
	out, errOut, code = w.tandem("skip", c, "check", "--output", "by hand")
	if code != 0 || !strings.Contains(out, "report") || !strings.Contains(out, "succeeded") {
		t.Fatalf("skip: exit %d\n%s%s", code, out, errOut)
	}
	out, _, _ = w.tandem("show", c, "--json")
	var show struct {
		State struct {
			Status string `json:"status"`
			Steps  map[string]struct {
				Output string `json:"output"`
				Manual bool   `json:"manual"`
			} `json:"steps"`
		} `json:"state"`
	}
	if err := json.Unmarshal([]byte(out), &show); err != nil {
		t.Fatal(err)
	}
	st := show.State
	if st.Status != "succeeded" || !st.Steps["check"].Manual || st.Steps["report"].Output != "report: by hand" {
		t.Fatalf("after the skip: %+v", st)
	}
	// Skipping it again is refused: the run has finished.
	if _, errOut, code := w.tandem("skip", c, "check", "--output", "x"); code != 2 || !strings.Contains(errOut, "finished") {
		t.Fatalf("second skip: exit %d %s", code, errOut)
	}
}

func TestCLIDebugBreakStepAndContinue(t *testing.T) {
	w := newWorkspace(t)
	w.write("debug.yaml", debugFlow)
	out, _, code := w.tandem("run", "debug.yaml", "--detach")
	if code != 0 {
		t.Fatalf("run --detach: exit %d\n%s", code, out)
	}
	id := firstLineRunID(t, out)
	if _, errOut, code := w.tandem("break", id, "report"); code != 0 {
		t.Fatalf("break: exit %d %s", code, errOut)
	}
	if _, errOut, code := w.tandem("break", id, "nope"); code != 2 || !strings.Contains(errOut, "fetch, check, report") {
		t.Fatalf("break at an unknown step: exit %d %s", code, errOut)
	}
	out, _, code = w.tandem("resume", id)
	if code != 0 || !strings.Contains(out, "stopped at breakpoint") || !strings.Contains(out, "paused (breakpoint at report)") {
		t.Fatalf("resume to the breakpoint: exit %d\n%s", code, out)
	}
	if got := countEffects(t, w); got["report"] != 0 {
		t.Fatalf("report ran past its breakpoint: %v", got)
	}
	out, _, _ = w.tandem("runs")
	if !strings.Contains(out, "paused") {
		t.Fatalf("runs does not list the run as paused:\n%s", out)
	}
	out, _, code = w.tandem("continue", id)
	if code != 0 || !strings.Contains(out, "✓ report") || !strings.Contains(out, "succeeded") {
		t.Fatalf("continue: exit %d\n%s", code, out)
	}
	if got, want := countEffects(t, w), map[string]int{"fetch": 1, "check": 1, "report": 1}; !maps.Equal(got, want) {
		t.Fatalf("effects = %v, want %v", got, want)
	}

	// Step mode: one step per tandem step.
	out, _, _ = w.tandem("run", "debug.yaml", "--detach")
	id = firstLineRunID(t, out)
	for i, step := range []string{"fetch", "check", "report"} {
		out, _, code = w.tandem("step", id)
		if code != 0 || !strings.Contains(out, "✓ "+step) {
			t.Fatalf("step %d: exit %d\n%s", i+1, code, out)
		}
		if i < 2 && !strings.Contains(out, "paused (step mode)") {
			t.Fatalf("step %d did not hold again:\n%s", i+1, out)
		}
		if got := countEffects(t, w); got[step] != 2 {
			t.Fatalf("after step %d: %v", i+1, got)
		}
	}
}

func TestCLIForkRerunsAStepThatReadsAChangedInput(t *testing.T) {
	w := newWorkspace(t)
	w.write("debug.yaml", debugFlow)
	out, errOut, code := w.tandem("run", "debug.yaml")
	if code != 0 {
		t.Fatalf("run: exit %d\n%s%s", code, out, errOut)
	}
	a := firstLineRunID(t, out)
	// Forked at report, after check: check reads inputs.word, so it runs again; fetch does not.
	out, errOut, code = w.tandem("fork", a, "report", "-i", "word=gamma")
	if code != 0 || !strings.Contains(out, "report: data-gamma") {
		t.Fatalf("fork: exit %d\n%s%s", code, out, errOut)
	}
	if got, want := countEffects(t, w), map[string]int{"fetch": 1, "check": 2, "report": 2}; !maps.Equal(got, want) {
		t.Fatalf("effects after the fork = %v, want %v", got, want)
	}
}

func TestCLIRunWithABreakpointHoldsBeforeTheStep(t *testing.T) {
	w := newWorkspace(t)
	w.write("debug.yaml", debugFlow)
	if _, errOut, code := w.tandem("run", "debug.yaml", "--break", "nope"); code != 2 || !strings.Contains(errOut, "fetch, check, report") {
		t.Fatalf("--break at an unknown step: exit %d %s", code, errOut)
	}
	out, errOut, code := w.tandem("run", "debug.yaml", "--break", "check", "--break", "report")
	if code != 0 || !strings.Contains(out, "paused (breakpoint at check)") {
		t.Fatalf("run --break: exit %d\n%s%s", code, out, errOut)
	}
	id := firstLineRunID(t, out)
	if got := countEffects(t, w); got["check"] != 0 || got["fetch"] != 1 {
		t.Fatalf("effects = %v, want fetch only", got)
	}
	out, _, code = w.tandem("continue", id)
	if code != 0 || !strings.Contains(out, "paused (breakpoint at report)") {
		t.Fatalf("continue to the second breakpoint: exit %d\n%s", code, out)
	}
	out, _, code = w.tandem("continue", id)
	if code != 0 || !strings.Contains(out, "succeeded") {
		t.Fatalf("continue: exit %d\n%s", code, out)
	}
}
