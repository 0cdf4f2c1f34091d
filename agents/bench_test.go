package agents

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"tandem/agents/model"
	"tandem/agents/ollama"
	"tandem/flows"
	"tandem/internal/ollamatest"
)

var benchTools = []Tool{
	{Name: "get_weather", Description: "Get the weather for a city.", Parameters: map[string]any{"type": "object",
		"properties": map[string]any{"city": map[string]any{"type": "string"}}, "required": []any{"city"}}},
	{Name: "read_file", Description: "Read a text file.", Parameters: map[string]any{"type": "object",
		"properties": map[string]any{"path": map[string]any{"type": "string"}}, "required": []any{"path"}}},
	{Name: "add", Description: "Add two numbers.", Parameters: map[string]any{"type": "object",
		"properties": map[string]any{"a": map[string]any{"type": "number"}, "b": map[string]any{"type": "number"}}, "required": []any{"a", "b"}}},
}

var benchPrompts = []string{
	"What is the weather in Paris?", "Read the file notes.txt.", "Add 2 and 3.", "Is it raining in London?",
	"Show me what is in todo.md.", "What is 10 plus 32?", "Weather in Tokyo please.", "Open report.txt and read it.",
	"Sum 7 and 8.", "How hot is it in Cairo?", "Read config.yaml.", "Add 100 and 1.", "Tell me the weather in Oslo.",
	"What does README.md say?", "Compute 4 + 4.", "Weather for Lima?", "Read data.csv.", "Add 0.5 and 0.25.",
	"Is it sunny in Rome?", "Read the file a.txt.",
}

// validCall reports whether a tool call names a known tool with schema-valid arguments.
func validCall(name string, args map[string]any) bool {
	for _, t := range benchTools {
		if t.Name == name {
			return flows.ValidateJSON(t.Parameters, argsJSON(args)) == nil
		}
	}
	return false
}

// BenchmarkValidActionRate asks SmolLM2 the same 20 tool-use prompts with native tool calling
// and with the constrained JSON fallback. It reports native_valid_% (replies with a native
// call of a known tool with schema-valid arguments), fallback_valid_% (replies that are a
// valid action: such a call, or an answer) and fallback_tool_% (the valid tool calls among
// them). Invalid fallback replies are logged.
//
//	go test -run '^$' -bench ValidActionRate -benchtime 1x ./agents/
func BenchmarkValidActionRate(b *testing.B) {
	srv := ollamatest.Start(b)
	o, err := ollama.New(srv.Host)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	defs := make([]model.Tool, len(benchTools))
	for i, t := range benchTools {
		defs[i] = t.Definition()
	}
	format, _ := json.Marshal(actionSchema(benchTools, nil, nil))
	temp := 0.0
	for i := 0; i < b.N; i++ {
		native, fallback, fallbackTool := 0, 0, 0
		for j, p := range benchPrompts {
			seed := j
			opts := model.Options{Temperature: &temp, Seed: &seed, NumPredict: 256}
			user := model.Message{Role: "user", Content: p}
			resp, err := o.Chat(ctx, model.Request{Model: srv.Model, Tools: defs, Options: opts,
				Messages: []model.Message{{Role: "system", Content: "You help by calling tools."}, user}}, nil)
			if err != nil {
				b.Fatal(err)
			}
			for _, c := range resp.Message.ToolCalls {
				if validCall(c.Name, c.Arguments) {
					native++
					break
				}
			}
			resp, err = o.Chat(ctx, model.Request{Model: srv.Model, Format: format, Options: opts,
				Messages: []model.Message{{Role: "system", Content: "You help by calling tools." + fallbackInstructions(benchTools)}, user}}, nil)
			if err != nil {
				b.Fatal(err)
			}
			act, err := parseAction(resp.Message.Content)
			switch {
			case err == nil && act.Answer == nil && validCall(act.Tool, act.Arguments):
				fallback++
				fallbackTool++
			case err == nil && act.Answer != nil:
				fallback++ // a valid action, though not the tool call the prompt asked for
			default:
				b.Logf("invalid fallback action for %q: %v: %s", p, err, resp.Message.Content)
			}
		}
		b.ReportMetric(100*float64(native)/float64(len(benchPrompts)), "native_valid_%")
		b.ReportMetric(100*float64(fallback)/float64(len(benchPrompts)), "fallback_valid_%")
		b.ReportMetric(100*float64(fallbackTool)/float64(len(benchPrompts)), "fallback_tool_%")
	}
}

// BenchmarkTurnOverhead compares one agent turn (no tools) with the same raw model call.
//
//	go test -run '^$' -bench TurnOverhead -benchtime 10x ./agents/
func BenchmarkTurnOverhead(b *testing.B) {
	srv := ollamatest.Start(b)
	o, err := ollama.New(srv.Host)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	agent := &flows.Agent{Name: "bench", System: "You answer briefly.", MaxTurns: 1, Options: map[string]any{"temperature": 0, "seed": 1, "num_predict": 32}}
	r := &Runner{Model: o, DefaultModel: srv.Model}
	temp, seed := 0.0, 1
	raw := model.Request{Model: srv.Model, Options: model.Options{Temperature: &temp, Seed: &seed, NumPredict: 32},
		Messages: []model.Message{{Role: "system", Content: agent.System}, {Role: "user", Content: "Name a color."}}}
	_, _ = o.Chat(ctx, raw, nil) // load the model
	var rawT, agentT time.Duration
	for i := 0; i < b.N; i++ {
		start := time.Now()
		if _, err := o.Chat(ctx, raw, func(model.Delta) {}); err != nil {
			b.Fatal(err)
		}
		rawT += time.Since(start)
		start = time.Now()
		if _, err := r.Run(ctx, Task{Agent: agent, Prompt: "Name a color.", Tracer: TracerFuncs{EmitFunc: func(string, string) {}, TraceFunc: func(Record) {}}}); err != nil {
			b.Fatal(err)
		}
		agentT += time.Since(start)
	}
	n := float64(b.N)
	b.ReportMetric(float64(rawT.Milliseconds())/n, "raw_ms/turn")
	b.ReportMetric(float64(agentT.Milliseconds())/n, "agent_ms/turn")
	b.ReportMetric(100*(agentT.Seconds()-rawT.Seconds())/rawT.Seconds(), "overhead_%")
	_ = fmt.Sprint()
}
