package ollama_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"tandem/agents/model"
	"tandem/agents/ollama"
	"tandem/flows"
	"tandem/internal/ollamatest"
)

// These tests talk to a real `ollama serve` with SmolLM2-135M (scripts/ollama-setup).

func TestMain(m *testing.M) { ollamatest.Main(m) }

func real(t *testing.T) (*ollama.Client, string) {
	t.Helper()
	srv := ollamatest.Start(t)
	o, err := ollama.New(srv.Host)
	if err != nil {
		t.Fatal(err)
	}
	return o, srv.Model
}

func zero() *float64  { v := 0.0; return &v }
func seed(n int) *int { return &n }

func TestOllamaStreamsAReplyInManyDeltas(t *testing.T) {
	o, m := real(t)
	deltas := 0
	resp, err := o.Chat(context.Background(), model.Request{Model: m,
		Messages: []model.Message{{Role: "user", Content: "Write two sentences about the sea."}},
		Options:  model.Options{Temperature: zero(), Seed: seed(1), NumPredict: 48}},
		func(d model.Delta) { deltas++ })
	if err != nil {
		t.Fatal(err)
	}
	if deltas < 2 || strings.TrimSpace(resp.Message.Content) == "" {
		t.Fatalf("%d deltas, content %q", deltas, resp.Message.Content)
	}
	if resp.Usage.OutputTokens == 0 || resp.Usage.PromptTokens == 0 || resp.Usage.EvalDuration == 0 {
		t.Fatalf("usage not reported: %+v", resp.Usage)
	}
}

var sentimentSchema = map[string]any{
	"type": "object",
	"properties": map[string]any{
		"sentiment": map[string]any{"type": "string", "enum": []any{"positive", "negative", "neutral"}},
		"score":     map[string]any{"type": "integer", "minimum": 1, "maximum": 5},
	},
	"required": []any{"sentiment", "score"},
}

func TestOllamaStructuredOutputMatchesTheSchemaTenTimesOutOfTen(t *testing.T) {
	o, m := real(t)
	format, _ := json.Marshal(sentimentSchema)
	prompts := []string{"I love this!", "This is terrible.", "It is a chair.", "Best day ever", "I lost my keys",
		"The meeting is at noon", "What a wonderful gift", "The food was cold and bland", "Rain again", "Fantastic service"}
	valid := 0
	for i, p := range prompts {
		resp, err := o.Chat(context.Background(), model.Request{Model: m, Format: format,
			Messages: []model.Message{{Role: "system", Content: "Classify the sentiment of the user's text. Answer in JSON."}, {Role: "user", Content: p}},
			Options:  model.Options{Temperature: zero(), Seed: seed(i), NumPredict: 96}}, nil)
		if err != nil {
			t.Fatalf("prompt %d: %v", i, err)
		}
		if err := flows.ValidateJSON(sentimentSchema, resp.Message.Content); err != nil {
			t.Errorf("prompt %q: %v: %s", p, err, resp.Message.Content)
			continue
		}
		valid++
	}
	t.Logf("%d/10 schema-valid", valid)
	if valid != 10 {
		t.Fatalf("only %d of 10 replies matched the schema", valid)
	}
}

func TestOllamaToolRoundTrip(t *testing.T) {
	o, m := real(t)
	weather := model.Tool{Name: "get_weather", Description: "Get the current weather for a city",
		Parameters: map[string]any{"type": "object", "properties": map[string]any{"city": map[string]any{"type": "string"}}, "required": []any{"city"}}}
	msgs := []model.Message{{Role: "user", Content: "What is the weather in Paris? Use the get_weather tool."}}
	resp, err := o.Chat(context.Background(), model.Request{Model: m, Messages: msgs, Tools: []model.Tool{weather},
		Options: model.Options{Temperature: zero(), Seed: seed(1), NumPredict: 64}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	call := model.ToolCall{Name: "get_weather", Arguments: map[string]any{"city": "Paris"}}
	if len(resp.Message.ToolCalls) > 0 {
		call = resp.Message.ToolCalls[0]
		t.Logf("native tool call: %+v", call)
	} else {
		t.Logf("no native tool call from the 135M model (reply %q); sending the call ourselves", resp.Message.Content)
	}
	msgs = append(msgs,
		model.Message{Role: "assistant", ToolCalls: []model.ToolCall{call}},
		model.Message{Role: "tool", ToolName: "get_weather", Content: `{"city":"Paris","forecast":"sunny, 21C"}`})
	final, err := o.Chat(context.Background(), model.Request{Model: m, Messages: msgs, Tools: []model.Tool{weather},
		Options: model.Options{Temperature: zero(), Seed: seed(1), NumPredict: 64}}, nil)
	if err != nil {
		t.Fatalf("answer after the tool result: %v", err)
	}
	if strings.TrimSpace(final.Message.Content) == "" && len(final.Message.ToolCalls) == 0 {
		t.Fatal("no answer after the tool result")
	}
}

func TestOllamaCancelMidStreamReturnsPromptly(t *testing.T) {
	o, m := real(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	n := 0
	resp, err := o.Chat(ctx, model.Request{Model: m, Messages: []model.Message{{Role: "user", Content: "Count from 1 to 500."}},
		Options: model.Options{NumPredict: 2000}}, func(model.Delta) {
		n++
		if n == 3 {
			cancel()
		}
	})
	if !errors.Is(err, context.Canceled) || !resp.Incomplete {
		t.Fatalf("err %v incomplete %v", err, resp.Incomplete)
	}
	// Prompt return means the stream stopped: far fewer deltas than the 2000 tokens asked.
	if n > 50 {
		t.Fatalf("%d deltas arrived after cancelling at the third", n)
	}
}

func TestOllamaMissingModelIsActionable(t *testing.T) {
	o, _ := real(t)
	_, err := o.Chat(context.Background(), model.Request{Model: "no-such-model:1b", Messages: []model.Message{{Role: "user", Content: "hi"}}}, nil)
	if !errors.Is(err, model.ErrModelNotFound) || !strings.Contains(err.Error(), "ollama pull no-such-model:1b") {
		t.Fatalf("err = %v", err)
	}
}

func TestOllamaReportsCapabilitiesAndModels(t *testing.T) {
	o, m := real(t)
	c, err := o.Capabilities(context.Background(), m)
	if err != nil {
		t.Fatal(err)
	}
	if !c.Completion || !c.Tools {
		t.Fatalf("capabilities of %s = %+v (the Modelfile template renders .Tools)", m, c)
	}
	list, err := o.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, lm := range list {
		found = found || lm.Name == m && lm.Size > 0
	}
	if !found {
		t.Fatalf("%s not listed: %+v", m, list)
	}
	if v, err := o.Version(context.Background()); err != nil || v == "" {
		t.Fatalf("version %q %v", v, err)
	}
	_ = fmt.Sprint()
}
