package flows_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"tandem/flows"
)

func TestTheAgentFlowRunsTheAgentWithItsInputs(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	agent := filepath.Join(dir, "helper.yaml")
	if err := os.WriteFile(agent, []byte("name: helper\nsystem: s\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// A name that would break YAML written by hand: quotes, a colon, a newline.
	src, path := flows.AgentFlow(agent, "say \"hi\": now\nplease")
	if path != filepath.Join(dir, ".helper.yaml.ask.yaml") {
		t.Fatalf("path = %s", path)
	}
	f, err := flows.Parse(path, src)
	if err != nil {
		t.Fatalf("%v\n%s", err, src)
	}
	if f.Name != "say \"hi\": now\nplease" || len(f.Steps) != 1 {
		t.Fatalf("flow = %+v", f)
	}
	s := f.Steps[0]
	if s.ID != flows.AgentStepID || s.Kind != flows.KindAgent || s.Agent.File != "helper.yaml" ||
		s.Agent.Prompt != "{{ .inputs.prompt }}" || s.Agent.Session != "{{ .inputs.session }}" || s.Agent.Model != "{{ .inputs.model }}" {
		t.Fatalf("step = %+v %+v", s, s.Agent)
	}
	in, err := flows.ResolveInputs(f, map[string]string{"prompt": "hello"})
	if err != nil || in["session"] != "" || in["model"] != "" || in["prompt"] != "hello" {
		t.Fatalf("inputs = %v %v", in, err)
	}
}

func TestModelBelongsToAgentSteps(t *testing.T) {
	t.Parallel()
	_, err := flows.Parse("f.yaml", []byte("name: f\nsteps:\n  - id: a\n    shell: echo hi\n    model: qwen3:0.6b\n"))
	if err == nil || !strings.Contains(err.Error(), "f.yaml:5:12: step \"a\": model: belongs to agent: steps") {
		t.Fatalf("err = %v", err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "helper.yaml"), []byte("name: helper\nsystem: s\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := flows.Parse(filepath.Join(dir, "f.yaml"), []byte("name: f\nsteps:\n  - id: a\n    agent: helper.yaml\n    prompt: hi\n    model: qwen3:0.6b\n"))
	if err != nil || f.Steps[0].Agent.Model != "qwen3:0.6b" {
		t.Fatalf("agent step: %v", err)
	}
}
