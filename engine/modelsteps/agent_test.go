package modelsteps_test

import (
	"context"
	"strings"
	"testing"

	"tandem/agents"
	"tandem/agents/model"
	"tandem/engine"
	"tandem/engine/modelsteps"
	"tandem/flows"
)

const summarizeFlow = `
name: summarize
description: Count the words of a text.
inputs:
  text: { type: string, description: the text }
outputs: { words: "{{ .steps.count.output }}" }
steps:
  - id: count
    shell: echo {{ quote .inputs.text }} | wc -w | tr -d ' '
`

func TestAnAgentStepCallsAFlowToolThatRunsAsALinkedChildRun(t *testing.T) {
	onEveryStore(t, func(t *testing.T, open opener) {
		h := newHarness(t, open)
		h.flow("summarize.yaml", summarizeFlow)
		h.file("agent.yaml", "name: counter\nsystem: You count words with your tool.\ntools: [flow:summarize.yaml]\nmax_turns: 4\n")
		fake := &model.Fake{Replies: []model.FakeReply{
			{Deltas: []model.Delta{{Content: `{"tool": "summarize", "arguments": {"text": "one two three"}}`}}},
			{Deltas: []model.Delta{{Content: `{"answer": "three words"}`}}, Usage: model.Usage{PromptTokens: 40, OutputTokens: 6}},
		}}
		h.eng.Register(flows.KindAgent, modelsteps.AgentExecutor{Engine: h.eng, Runner: &agents.Runner{Model: fake}})
		f := h.flow("f.yaml", "name: uses-agent\nsteps:\n  - id: ask\n    agent: agent.yaml\n    prompt: Count the words in 'one two three'.\n  - id: after\n    needs: [ask]\n    shell: echo \"agent said {{ .steps.ask.output }}\"\n")
		st := h.run(f, nil)
		if st.Status != engine.RunStatusSucceeded || st.Steps["after"].Output != "agent said three words" {
			t.Fatalf("%s %s %q", st.Status, st.Error, st.Steps["after"].Output)
		}
		kids, err := h.store.Runs(context.Background(), engine.RunQuery{ParentID: st.ID})
		if err != nil || len(kids) != 1 || kids[0].FlowName != "summarize" || kids[0].Status != engine.RunStatusSucceeded || kids[0].ParentStepID != "ask" {
			t.Fatalf("child runs = %+v %v", kids, err)
		}
		msgs := fake.Calls()[1].Messages
		// The fallback gives the result back as a user turn that names the call and restates the task.
		if got := msgs[len(msgs)-1]; got.Role != "user" || !strings.HasPrefix(got.Content, `summarize {"text":"one two three"} returned:`+"\n"+`{"words":"3"}`+"\n") {
			t.Fatalf("the tool result the model saw = %s %q", got.Role, got.Content)
		}
		// The trace is in the run's log.
		events, _ := h.store.Events(context.Background(), st.ID, 0)
		kinds := map[string]int{}
		for _, e := range events {
			var d engine.TraceData
			if e.Type == engine.StepTrace && e.Decode(&d) == nil {
				kinds[d.Kind]++
			}
		}
		if kinds["turn"] != 2 || kinds["tool_call"] != 1 || kinds["tool_result"] != 1 || kinds["end"] != 1 || kinds["child_run"] != 1 {
			t.Fatalf("trace kinds = %v", kinds)
		}
	})
}

func TestTheShellApproverIsToldWhichStepAsks(t *testing.T) {
	onEveryStore(t, func(t *testing.T, open opener) {
		h := newHarness(t, open)
		h.file("agent.yaml", "name: sheller\nsystem: You run commands.\ntools: [shell]\nmax_turns: 3\n")
		fake := &model.Fake{Replies: []model.FakeReply{
			{Deltas: []model.Delta{{Content: `{"tool": "shell", "arguments": {"command": "echo approved"}}`}}},
			{Deltas: []model.Delta{{Content: `{"answer": "done"}`}}},
		}}
		var asked []engine.ToolCall
		approve := func(ctx context.Context, tool string, args map[string]any) bool {
			call, ok := engine.ToolCallFrom(ctx)
			if !ok || tool != "shell" || args["command"] != "echo approved" {
				t.Errorf("approver asked %v %q %v", ok, tool, args)
			}
			asked = append(asked, call)
			return true
		}
		h.eng.Register(flows.KindAgent, modelsteps.AgentExecutor{Engine: h.eng, Runner: &agents.Runner{Model: fake},
			Tools: modelsteps.ToolOptions{Approve: approve}})
		f := h.flow("f.yaml", "name: uses-shell\nsteps:\n  - id: ask\n    agent: agent.yaml\n    prompt: Run it.\n")
		st := h.run(f, nil)
		if st.Status != engine.RunStatusSucceeded {
			t.Fatalf("%s %s", st.Status, st.Error)
		}
		want := engine.ToolCall{RunID: st.ID, StepID: "ask", Attempt: 1, Agent: "sheller"}
		if len(asked) != 1 || asked[0] != want {
			t.Fatalf("asked %+v, want %+v", asked, want)
		}
		msgs := fake.Calls()[1].Messages
		if got := msgs[len(msgs)-1].Content; !strings.Contains(got, "approved") {
			t.Fatalf("the tool result the model saw = %q", got)
		}
	})
}
