package telemetry_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"tandem/agents"
	"tandem/agents/model"
	"tandem/engine"
	"tandem/engine/memstore"
	"tandem/engine/modelsteps"
	"tandem/flows"
	"tandem/telemetry"
)

const toolFlow = "name: count\ndescription: Count words.\ninputs:\n  text: { type: string }\nsteps:\n  - id: wc\n    shell: echo {{ .inputs.text }} | wc -w\n"

const mainFlow = "name: main\nsteps:\n  - id: prep\n    shell: echo ready\n  - id: ask\n    needs: [prep]\n    agent: counter.yaml\n    prompt: count the words in 'a b c'\n"

// runTraced runs mainFlow, whose agent step calls the count flow as a tool, with the export
// recording spans in memory, and returns them by name once the export has shut down.
func runTraced(t *testing.T) map[string]sdktrace.ReadOnlySpan {
	t.Helper()
	dir := t.TempDir()
	for name, body := range map[string]string{"count.yaml": toolFlow, "main.yaml": mainFlow,
		"counter.yaml": "name: counter\nsystem: You count.\ntools: [flow:count.yaml]\nmax_turns: 3\n"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	eng, err := engine.New(engine.Options{Store: memstore.New(), Parallel: 2, PollEvery: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	fake := &model.Fake{Replies: []model.FakeReply{
		{Deltas: []model.Delta{{Content: `{"tool": "count", "arguments": {"text": "a b c"}}`}}, Usage: model.Usage{PromptTokens: 30, OutputTokens: 9}},
		{Deltas: []model.Delta{{Content: `{"answer": "three"}`}}, Usage: model.Usage{PromptTokens: 50, OutputTokens: 4}},
	}}
	eng.Register(flows.KindAgent, modelsteps.AgentExecutor{Engine: eng, Runner: &agents.Runner{Model: fake, DefaultModel: "tiny"}})
	rec := tracetest.NewSpanRecorder()
	exp, err := telemetry.StartWith(eng.Bus(), nil, rec)
	if err != nil {
		t.Fatal(err)
	}
	f, err := flows.Load(filepath.Join(dir, "main.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	id, err := eng.Start(ctx, f, nil, engine.StartOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if st, err := eng.Execute(ctx, id); err != nil || st.Status != engine.RunStatusSucceeded {
		t.Fatalf("run: %v %v", st, err)
	}
	if err := exp.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if exp.Dropped() != 0 {
		t.Fatalf("dropped %d notices", exp.Dropped())
	}
	spans := map[string]sdktrace.ReadOnlySpan{}
	for _, s := range rec.Ended() {
		spans[s.Name()] = s
	}
	return spans
}

func attr(s sdktrace.ReadOnlySpan, key string) attribute.Value {
	for _, kv := range s.Attributes() {
		if string(kv.Key) == key {
			return kv.Value
		}
	}
	return attribute.Value{}
}

func TestRunsStepsAgentTurnsAndToolCallsBecomeASpanTree(t *testing.T) {
	spans := runTraced(t)
	for _, name := range []string{"run main", "step prep", "step ask", "chat tiny", "execute_tool count", "run count", "step wc"} {
		if _, ok := spans[name]; !ok {
			names := []string{}
			for n := range spans {
				names = append(names, n)
			}
			t.Fatalf("no span %q among %v", name, names)
		}
	}
	parentOf := func(child, parent string) {
		t.Helper()
		c, p := spans[child], spans[parent]
		if c.Parent().SpanID() != p.SpanContext().SpanID() || c.SpanContext().TraceID() != p.SpanContext().TraceID() {
			t.Errorf("%s is not a child of %s", child, parent)
		}
	}
	parentOf("step prep", "run main")
	parentOf("step ask", "run main")
	parentOf("chat tiny", "step ask")
	parentOf("execute_tool count", "step ask")
	parentOf("run count", "step ask") // the flow tool's child run, linked under the agent step
	parentOf("step wc", "run count")
	if spans["run main"].Parent().IsValid() {
		t.Error("the top run should be a root span")
	}

	ask := spans["step ask"]
	if attr(ask, "gen_ai.operation.name").AsString() != "invoke_agent" || attr(ask, "gen_ai.agent.name").AsString() != "counter" ||
		attr(ask, "gen_ai.request.model").AsString() != "tiny" || attr(ask, "tandem.agent.end_reason").AsString() != "answer" {
		t.Errorf("agent step attributes: %v", ask.Attributes())
	}
	chat := spans["chat tiny"]
	if attr(chat, "gen_ai.operation.name").AsString() != "chat" || attr(chat, "gen_ai.usage.input_tokens").AsInt64() == 0 {
		t.Errorf("chat attributes: %v", chat.Attributes())
	}
	tool := spans["execute_tool count"]
	if attr(tool, "gen_ai.tool.name").AsString() != "count" {
		t.Errorf("tool attributes: %v", tool.Attributes())
	}
	if attr(tool, "gen_ai.tool.call.arguments").Type() != attribute.EMPTY {
		t.Error("tool arguments were recorded without OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT")
	}
}

func TestMessageContentIsRecordedOnlyWhenAsked(t *testing.T) {
	t.Setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "true")
	spans := runTraced(t)
	if got := attr(spans["execute_tool count"], "gen_ai.tool.call.arguments").AsString(); got != `{"text":"a b c"}` {
		t.Errorf("tool arguments = %q", got)
	}
	if got := attr(spans["step ask"], "gen_ai.input.messages").AsString(); got == "" {
		t.Error("the agent's prompt was not recorded")
	}
}
