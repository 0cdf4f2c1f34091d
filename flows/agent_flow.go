package flows

import (
	"path/filepath"

	"go.yaml.in/yaml/v3"
)

// AgentStepID is the id of the one step of an AgentFlow.
const AgentStepID = "agent"

// AgentFlow is the one-step flow that runs an agent file with a prompt: how `tandem ask`, the
// chat, eval cases and agent tools run an agent as a traced, resumable run. Its inputs are
// prompt, session (a memory session to continue, "" for none) and model (a model to run the
// agent on instead of its file's, "" for the file's). It returns the flow's text and a path
// that names it, next to the agent so the agent file resolves; nothing is written there.
func AgentFlow(agentPath, name string) (src []byte, path string) {
	type input struct {
		Type    string  `yaml:"type"`
		Default *string `yaml:"default,omitempty"`
	}
	type step struct {
		ID      string `yaml:"id"`
		Agent   string `yaml:"agent"`
		Prompt  string `yaml:"prompt"`
		Session string `yaml:"session"`
		Model   string `yaml:"model"`
	}
	empty := ""
	flow := struct {
		Name        string            `yaml:"name"`
		Description string            `yaml:"description"`
		Inputs      map[string]input  `yaml:"inputs"`
		Outputs     map[string]string `yaml:"outputs"`
		Steps       []step            `yaml:"steps"`
	}{
		Name:        name,
		Description: "ask the " + name + " agent",
		Inputs: map[string]input{"prompt": {Type: "string"}, "session": {Type: "string", Default: &empty},
			"model": {Type: "string", Default: &empty}},
		Outputs: map[string]string{"answer": "{{ .steps." + AgentStepID + ".output }}"},
		Steps: []step{{ID: AgentStepID, Agent: filepath.Base(agentPath), Prompt: "{{ .inputs.prompt }}",
			Session: "{{ .inputs.session }}", Model: "{{ .inputs.model }}"}},
	}
	src, err := yaml.Marshal(flow)
	if err != nil {
		panic("flows: marshal the agent flow: " + err.Error()) // plain strings and maps always marshal
	}
	return src, filepath.Join(filepath.Dir(agentPath), "."+filepath.Base(agentPath)+AgentFlowSuffix)
}

// AgentFlowSuffix ends the (never written) path of an AgentFlow: .AGENT.yaml.ask.yaml beside
// the agent, which tells a chat or ask turn's run from a flow's.
const AgentFlowSuffix = ".ask.yaml"

// AgentInputs are the inputs of an AgentFlow run: the prompt, the memory session to
// continue ("" for none) and the model to use instead of the agent's ("" for the agent's).
func AgentInputs(prompt, session, model string) map[string]any {
	return map[string]any{"prompt": prompt, "session": session, "model": model}
}
