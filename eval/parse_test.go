package eval

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"tandem/flows"
)

func TestAValidSuiteParsesEveryKey(t *testing.T) {
	s, err := Load("testdata/good.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if s.Name != "helper-evals" || s.Agent == nil || s.Agent.Name != "helper" || s.Flow != nil {
		t.Fatalf("suite = %+v", s)
	}
	if strings.Join(s.Models, ",") != "m1,m2:latest" || s.Repeat != 2 || s.JudgeModel != "judge-model" {
		t.Fatalf("models %v repeat %d judge %q", s.Models, s.Repeat, s.JudgeModel)
	}
	c := s.Cases[0]
	if c.ID != "everything" || !strings.HasPrefix(c.Prompt, "Read todo.md") || filepath.Base(c.Workspace) != "fixture" || !filepath.IsAbs(c.Workspace) {
		t.Fatalf("case = %+v", c)
	}
	var got []string
	for _, x := range c.Expect {
		got = append(got, x.String())
	}
	want := []string{
		`contains "milk"`, `regex "(?i)^buy"`, `equals "buy milk"`, `json_schema`, `json_path items[0].name = "milk"`,
		`tool_called read_file`, `tool_called write_file {"path":"next.txt"}`, `tool_not_called shell`,
		`file next.txt equals "buy milk"`, `file gone.txt absent`, `file next.txt matches "milk$"`,
		`end_reason "answer"`, `max_turns 4`, `max_tokens 2000`, `max_seconds 2.5`, `judge "names the first item"`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("expectations:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if j := c.Expect[len(c.Expect)-1]; j.Model != "other" || j.Pos.Line != 28 || j.Pos.Col != 9 {
		t.Fatalf("judge = %+v", j)
	}
}

func TestEveryProblemInASuiteIsReportedWithItsPosition(t *testing.T) {
	_, err := Load("testdata/bad.yaml")
	var diags flows.Diagnostics
	if !errors.As(err, &diags) {
		t.Fatalf("err = %v, want Diagnostics", err)
	}
	want := []string{
		`testdata/bad.yaml:3:9: repeat must be at least 1`,
		`testdata/bad.yaml:4:1: unknown key "modles" in the suite (did you mean "models"?)`,
		`testdata/bad.yaml:6:9: case id "Bad Id" may only use a-z, 0-9, _ and -`,
		`testdata/bad.yaml:7:12: input (the agent's prompt) must be a string, not a list`,
		`testdata/bad.yaml:8:16: workspace nowhere is not a directory`,
		`testdata/bad.yaml:10:19: contains must be a string, not a list`,
		`testdata/bad.yaml:11:16: regex is not a valid regular expression: error parsing regexp: missing closing ): ` + "`(`",
		`testdata/bad.yaml:12:9: unknown expectation "tool_caled" (one of contains, regex, equals, json_schema, json_path, tool_called, tool_not_called, file, end_reason, max_turns, max_tokens, max_seconds, judge) (did you mean "tool_called"?)`,
		`testdata/bad.yaml:13:28: json_path.path: bad index [x] in "a[x]"; use a.b[0]`,
		`testdata/bad.yaml:14:23: file.path must be relative to the run's workspace and stay inside it`,
		`testdata/bad.yaml:15:20: max_turns must be an integer, not "many"`,
		`testdata/bad.yaml:16:16: judge needs a rubric: what a good answer does`,
		`testdata/bad.yaml:17:9: an expectation is a mapping with one key (contains, regex, equals, json_schema, json_path, tool_called, tool_not_called, file, end_reason, max_turns, max_tokens, max_seconds, judge), not a mapping`,
		`testdata/bad.yaml:22:5: case dup needs expect: what its run must do`,
		`testdata/bad.yaml:22:9: duplicate case id "dup" (first on line 19)`,
		`testdata/bad.yaml:24:5: a case needs an id (id: my-case)`,
		`testdata/bad.yaml:26:15: file takes one of exists, equals or matches`,
	}
	var got []string
	for _, d := range diags {
		got = append(got, d.Error())
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("diagnostics:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestAFlowTargetTakesInputsAndNoModelMatrix(t *testing.T) {
	_, err := Load("testdata/badflow.yaml")
	want := []string{
		`testdata/badflow.yaml:3:9: models applies to agent targets; a flow's llm and agent steps name their own models`,
		`testdata/badflow.yaml:5:5: input of case missing-input: `,
		`testdata/badflow.yaml:8:12: input must be a mapping of the flow's inputs, not "just a string"`,
	}
	var diags flows.Diagnostics
	if !errors.As(err, &diags) || len(diags) != len(want) {
		t.Fatalf("err = %v", err)
	}
	for i, d := range diags {
		if !strings.HasPrefix(d.Error(), want[i]) {
			t.Errorf("diagnostic %d = %s, want prefix %s", i, d.Error(), want[i])
		}
	}
}

func TestATargetWithErrorsIsReportedAtTheTargetKey(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "agent.yaml", "name: a\nsystem: hi\ntools: [read_fil]\n")
	write(t, dir, "suite.yaml", "name: s\ntarget: agent.yaml\ncases:\n  - id: c\n    input: hi\n    expect: [{ contains: x }]\n")
	_, err := Load(filepath.Join(dir, "suite.yaml"))
	if err == nil || !strings.Contains(err.Error(), "suite.yaml:2:9: target agent.yaml: ") || !strings.Contains(err.Error(), `unknown tool "read_fil"`) {
		t.Fatalf("err = %v", err)
	}
	write(t, dir, "suite.yaml", "name: s\ntarget: missing.yaml\ncases:\n  - id: c\n    input: hi\n    expect: [{ contains: x }]\n")
	if _, err := Load(filepath.Join(dir, "suite.yaml")); err == nil || !strings.Contains(err.Error(), "suite.yaml:2:9: target missing.yaml does not exist") {
		t.Fatalf("err = %v", err)
	}
}

func TestYAMLSyntaxErrorsInASuiteCarryTheirLine(t *testing.T) {
	_, err := Parse("s.yaml", []byte("name: s\ncases:\n  - id: [\n"))
	if err == nil || !strings.HasPrefix(err.Error(), "s.yaml:3:1: YAML syntax:") {
		t.Fatalf("err = %v", err)
	}
}

func write(t *testing.T, dir, name, src string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}
