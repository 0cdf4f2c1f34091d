package flows

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func write(t *testing.T, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestAValidFlowParsesEveryKey(t *testing.T) {
	f, err := Load("testdata/good.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if f.Name != "example" || len(f.Steps) != 6 || len(f.Inputs) != 2 {
		t.Fatalf("flow = %+v", f)
	}
	count := f.StepByID("count")
	if count.Kind != KindRun || count.Retry.MaxAttempts != 3 || count.Retry.Backoff.String() != "200ms" || count.Timeout.String() != "30s" || count.When == "" {
		t.Errorf("count = %+v", count)
	}
	if s := f.StepByID("pay"); s.Kind != KindWait || len(s.Wait.Events) != 2 || s.Wait.Timeout.String() != "1h0m0s" {
		t.Errorf("pay = %+v", s.Wait)
	}
	if s := f.StepByID("nap"); s.Sleep.Duration.String() != "2h0m0s" {
		t.Errorf("nap = %+v", s.Sleep)
	}
	if s := f.StepByID("review"); s.Approval.Timeout.String() != "24h0m0s" {
		t.Errorf("review = %+v", s.Approval)
	}
	if got := f.StepByID("count").Pos; got.Line != 10 || got.Col != 5 {
		t.Errorf("count position = %+v, want 10:5", got)
	}
}

func TestEveryProblemIsReportedInOnePassWithItsPosition(t *testing.T) {
	_, err := Load("testdata/bad.yaml")
	var ds Diagnostics
	if !errors.As(err, &ds) {
		t.Fatalf("error = %v, want Diagnostics", err)
	}
	text := ds.Error()
	for _, want := range []string{
		`testdata/bad.yaml:3:10: input topic: unknown type "strin"`,
		`testdata/bad.yaml:6:5: unknown key "shel" in a step (did you mean "shell"?)`,
		`testdata/bad.yaml:5:5: step "a" does nothing`,
		`testdata/bad.yaml:8:16: step "b" needs unknown step "nope"`,
		`testdata/bad.yaml:9:21: step "b" uses .steps.c but does not need it (add it to needs)`,
		`testdata/bad.yaml:9:43: step "b" uses .inputs.missing, but the flow has no input "missing"`,
		`testdata/bad.yaml:10:5: duplicate step id "b" (first defined on line 7)`,
		`testdata/bad.yaml:12:5: cycle: c -> d -> c`,
		`testdata/bad.yaml:18:28: max_attempts must be at least 1`,
		`testdata/bad.yaml:18:40: backoff must be a duration`,
		`testdata/bad.yaml:20:11: step "e": bad when expression`,
		`testdata/bad.yaml:23:11: step "f": when must be true or false, but "42" cannot be: expected bool, but got int`,
		`testdata/bad.yaml:27:11: step "g" has join: any but 1 needs; it merges two or more branches`,
		`testdata/bad.yaml:31:11: join must be all or any, not "some"`,
		`testdata/bad.yaml:35:21: step "i": model_timeouts: belongs to llm: and agent: steps`,
		`testdata/bad.yaml:38:31: model_timeouts.header must be a duration`,
		`testdata/bad.yaml:38:37: unknown key "idel" in model_timeouts (did you mean "idle"?)`,
		// References and templates are placed at what is wrong, inside the field: in a
		// block, a flow mapping, an expression, a sub-flow's with:, env:, the outputs.
		`testdata/bad.yaml:43:15: step "k" uses .steps.nope, but there is no step "nope"`,
		`testdata/bad.yaml:45:27: step "l" uses .inputs.topc, but the flow has no input "topc" (did you mean "topic"?)`,
		`testdata/bad.yaml:47:11: step "m" uses steps.zz, but there is no step "zz"`,
		`testdata/bad.yaml:51:13: step "n": sub-flow good.yaml has no input "nosuch"`,
		`testdata/bad.yaml:53:19: step "o" uses .steps.k but does not need it (add it to needs)`,
		`testdata/bad.yaml:62:12: outputs uses .steps.missing, but there is no step "missing"`,
		// An expression field written as a template says so and shows the expression.
		`testdata/bad.yaml:56:10: step "p": map: takes an expression, not a template: write map: inputs.topic`,
		`testdata/bad.yaml:59:11: step "q": when: takes an expression, not a template: write when: inputs.topic`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("missing %q in:\n%s", want, text)
		}
	}
	seen := map[string]bool{}
	for _, d := range ds {
		if seen[d.Error()] {
			t.Errorf("reported twice: %s", d.Error())
		}
		seen[d.Error()] = true
	}
}

func TestCyclesAreNamedOnceAtTheirFirstStep(t *testing.T) {
	dir := t.TempDir()
	p := write(t, dir, "c.yaml", "name: c\nsteps:\n  - id: a\n    needs: [c]\n    shell: x\n  - id: b\n    needs: [a]\n    shell: x\n  - id: c\n    needs: [b]\n    shell: x\n")
	_, err := Load(p)
	if err == nil || strings.Count(err.Error(), "cycle") != 1 || !strings.Contains(err.Error(), "c.yaml:3:5: cycle: a -> b -> c -> a") {
		t.Fatalf("err = %v", err)
	}
}

func TestYAMLSyntaxErrorsCarryTheirLine(t *testing.T) {
	dir := t.TempDir()
	p := write(t, dir, "s.yaml", "name: s\nsteps:\n  - id: a\n    shell: [unclosed\n")
	_, err := Load(p)
	if err == nil || !strings.HasPrefix(err.Error(), p+":") || !strings.Contains(err.Error(), "YAML syntax") {
		t.Fatalf("err = %v", err)
	}
}

func TestSubFlowsAreCheckedForInputsAndRecursion(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "child.yaml", "name: child\ninputs:\n  n: { type: integer }\nsteps:\n  - id: x\n    shell: echo {{ .inputs.n }}\n")
	write(t, dir, "self.yaml", "name: self\nsteps:\n  - id: me\n    flow: self.yaml\n")
	p := write(t, dir, "p.yaml", "name: p\nsteps:\n  - id: sub\n    flow: child.yaml\n    with: { m: 1 }\n  - id: gone\n    flow: missing.yaml\n")
	_, err := Load(p)
	for _, want := range []string{`sub-flow child.yaml needs input "n"`, `sub-flow child.yaml has no input "m"`, `flow file missing.yaml does not exist`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in %v", want, err)
		}
	}
	_, err = Load(filepath.Join(dir, "self.yaml"))
	if err == nil || !strings.Contains(err.Error(), "includes itself") {
		t.Errorf("recursion: %v", err)
	}
}

func TestTemplatesFailOnMissingKeysAndReadJSON(t *testing.T) {
	data := map[string]any{"inputs": map[string]any{"x": "1"}, "steps": map[string]any{
		"a": map[string]any{"output": `{"n":3}`, "json": map[string]any{"n": 3}}}}
	if got, err := Render("{{ .steps.a.json.n }}-{{ .inputs.x }}", data); err != nil || got != "3-1" {
		t.Fatalf("render = %q, %v", got, err)
	}
	if _, err := Render("{{ .inputs.nope }}", data); err == nil {
		t.Fatal("a missing key rendered")
	}
	if got, _ := Render(`{{ quote "it's" }} {{ upper "a" }} {{ json .inputs }}`, data); got != `'it'\''s' A {"x":"1"}` {
		t.Fatalf("funcs = %q", got)
	}
}

func TestInputsAreTypedDefaultedAndChecked(t *testing.T) {
	f, err := Load("testdata/good.yaml")
	if err != nil {
		t.Fatal(err)
	}
	in, err := ResolveInputs(f, map[string]string{"n": "5"})
	if err != nil || in["n"] != 5 || in["topic"] != "tides" {
		t.Fatalf("inputs = %v, %v", in, err)
	}
	if _, err := ResolveInputs(f, map[string]string{"n": "five"}); err == nil || !strings.Contains(err.Error(), `"five" is not an integer`) {
		t.Errorf("bad integer: %v", err)
	}
	if _, err := ResolveInputs(f, map[string]string{"topik": "x"}); err == nil || !strings.Contains(err.Error(), `did you mean "topic"`) {
		t.Errorf("unknown input: %v", err)
	}
	schema := ToolSchema(f)
	if schema["type"] != "object" || len(schema["properties"].(map[string]any)) != 2 {
		t.Errorf("tool schema = %v", schema)
	}
}

func TestEvalListAcceptsListsAndJSONStrings(t *testing.T) {
	env := map[string]any{"steps": map[string]any{"a": map[string]any{"output": `["x","y"]`}}}
	for _, expr := range []string{`["x","y"]`, `steps.a.output`} {
		got, err := EvalList(expr, env)
		if err != nil || len(got) != 2 || got[1] != "y" {
			t.Errorf("%s = %v, %v", expr, got, err)
		}
	}
	if _, err := EvalList(`42`, env); err == nil {
		t.Error("a number was accepted as a list")
	}
}

func TestAgentFilesAreValidatedLikeFlows(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "sum.yaml", "name: sum\ninputs:\n  text: { type: string }\nsteps:\n  - id: s\n    shell: echo {{ .inputs.text }}\n")
	good := write(t, dir, "a.yaml", "name: researcher\nmodel: smollm2:135m\nsystem: hi\ntools: [read_file, flow:sum.yaml]\nmax_turns: 4\nmemory: session\noutput: { schema: { type: object, properties: { bullets: { type: array } } } }\n")
	a, err := LoadAgent(good)
	if err != nil || a.MaxTurns != 4 || len(a.Tools) != 2 || a.Tools[1].Kind != "flow" || a.OutputSchema == nil {
		t.Fatalf("agent = %+v, %v", a, err)
	}
	bad := write(t, dir, "b.yaml", "name: b\nsystem: hi\ntools: [read_fil, flow:none.yaml]\nmemory: forever\n")
	_, err = LoadAgent(bad)
	for _, want := range []string{`b.yaml:3:9: unknown tool "read_fil"`, `did you mean "read_file"`, `flow:none.yaml`, `memory must be none or session`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in %v", want, err)
		}
	}
	f, ag, err := LoadAny(good)
	if f != nil || ag == nil || err != nil {
		t.Errorf("LoadAny(agent) = %v %v %v", f, ag, err)
	}
}

func TestValidationRecordsTheInputsEachStepReads(t *testing.T) {
	src := `name: refs
inputs:
  a: { type: string, default: x }
  b: { type: string, default: y }
steps:
  - id: shell_vars
    shell: 'for i in 1 2; do echo $i {{ .inputs.a }}; done'
  - id: when_b
    when: 'inputs.b != ""'
    shell: echo hi
  - id: whole
    shell: 'echo {{ json .inputs }}'
  - id: dollar
    approval: { prompt: '{{ with .inputs.a }}{{ $.inputs.b }}{{ end }}' }
  - id: none
    shell: echo none
`
	f, err := Parse("refs.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]struct {
		refs string
		all  bool
	}{"shell_vars": {"a", false}, "when_b": {"b", false}, "whole": {"", true}, "dollar": {"a", true}, "none": {"", false}}
	for _, s := range f.Steps {
		w := want[s.ID]
		if got := strings.Join(s.InputRefs, ","); got != w.refs || s.InputsAll != w.all {
			t.Errorf("%s: InputRefs %q, InputsAll %v; want %q, %v", s.ID, got, s.InputsAll, w.refs, w.all)
		}
	}
}

func TestAModelStepTakesItsOwnStallTimeouts(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "f.yaml")
	src := "name: f\nsteps:\n  - id: ask\n    llm: { prompt: hi }\n    model_timeouts: { header: 10m, idle: 90s }\n"
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := f.StepByID("ask").ModelTimeouts; got != (ModelTimeouts{Header: 10 * time.Minute, Idle: 90 * time.Second}) {
		t.Fatalf("model_timeouts = %+v", got)
	}
}

func TestANameWithControlCharactersIsRefused(t *testing.T) {
	_, err := Parse("w.yaml", []byte("name: \"evil\\e[31mred\"\nsteps:\n  - id: a\n    run: [\"true\"]\n"))
	if err == nil || !strings.Contains(err.Error(), "w.yaml:1:7:") || !strings.Contains(err.Error(), "control characters") {
		t.Fatalf("err = %v, want w.yaml:1:7: ... control characters", err)
	}
	if _, err := Parse("w.yaml", []byte("name: tidy-flow ✓ ünïcode\nsteps:\n  - id: a\n    run: [\"true\"]\n")); err != nil {
		t.Fatalf("a printable name was refused: %v", err)
	}
}

func TestAYAMLSyntaxErrorSaysItsLineOnceAndNamesAnOpenQuote(t *testing.T) {
	_, err := Parse("w.yaml", []byte("name: w\nsteps:\n  - id: a\n    shell: \"echo hi\n  - id: b\n"))
	want := `w.yaml:4:1: YAML syntax: found unexpected end of stream (a quote or bracket opened above is never closed)`
	if err == nil || err.Error() != want {
		t.Fatalf("err = %v, want %s", err, want)
	}
}

// Two swapped letters are one typo: "rnu" is a step's run, not its env.
func TestASwappedPairOfLettersSuggestsTheWordMeant(t *testing.T) {
	_, err := Parse("f.yaml", []byte("name: f\nsteps:\n  - id: a\n    rnu: [\"echo\"]\n"))
	if err == nil || !strings.Contains(err.Error(), `f.yaml:4:5: unknown key "rnu" in a step (did you mean "run"?)`) {
		t.Fatalf("got %v", err)
	}
}
