package ollama_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ollama/ollama/api"
	ollamamodel "github.com/ollama/ollama/types/model"

	"tandem/agents/model"
	"tandem/agents/ollama"
)

// These tests hold tandem's client to Ollama's own API types (the official Go module's
// api package, which the server decodes requests into and encodes replies from): what the
// client sends decodes into them with every field in place, and what the server would
// write from them is read back whole.

// server answers each path with fn and keeps the bodies it was sent.
func server(t *testing.T, fn func(path string, w http.ResponseWriter)) (*ollama.Client, map[string][]byte) {
	t.Helper()
	bodies := map[string][]byte{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		bodies[r.Method+" "+r.URL.Path] = b
		fn(r.URL.Path, w)
	}))
	t.Cleanup(srv.Close)
	o, err := ollama.New(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	o.Backoff = time.Millisecond
	return o, bodies
}

func lines(t *testing.T, w io.Writer, vs ...any) {
	t.Helper()
	for _, v := range vs {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = w.Write(append(b, '\n'))
	}
}

func TestAChatRequestDecodesIntoOllamasOwnTypes(t *testing.T) {
	o, bodies := server(t, func(_ string, w http.ResponseWriter) {
		lines(t, w, api.ChatResponse{Done: true, DoneReason: "stop"})
	})
	temp, seed := 0.5, 42
	req := model.Request{
		Model: "qwen:0.5b",
		Messages: []model.Message{
			{Role: "system", Content: "You count."},
			{Role: "user", Content: "count 'a b'"},
			{Role: "assistant", Thinking: "use the tool", ToolCalls: []model.ToolCall{{ID: "c1", Name: "count", Arguments: map[string]any{"text": "a b", "n": 2.0}}}},
			{Role: "tool", Content: "2", ToolName: "count"},
		},
		Tools: []model.Tool{
			{Name: "count", Description: "Count words.", Parameters: map[string]any{"type": "object",
				"properties": map[string]any{"text": map[string]any{"type": "string", "description": "the words"}}, "required": []any{"text"}}},
			{Name: "now"},
		},
		Format:    json.RawMessage(`{"type":"object"}`),
		Options:   model.Options{Temperature: &temp, Seed: &seed, NumCtx: 4096, NumPredict: 64},
		Think:     true,
		KeepAlive: 90 * time.Second,
	}
	if _, err := o.Chat(context.Background(), req, nil); err != nil {
		t.Fatal(err)
	}
	var got api.ChatRequest
	if err := json.Unmarshal(bodies["POST /api/chat"], &got); err != nil {
		t.Fatalf("the body does not decode as api.ChatRequest: %v\n%s", err, bodies["POST /api/chat"])
	}
	if got.Model != "qwen:0.5b" || got.Stream == nil || !*got.Stream || string(got.Format) != `{"type":"object"}` ||
		got.KeepAlive == nil || got.KeepAlive.Duration != 90*time.Second || got.Think == nil || got.Think.Value != true {
		t.Errorf("request: %+v", got)
	}
	if want := map[string]any{"temperature": 0.5, "seed": 42.0, "num_ctx": 4096.0, "num_predict": 64.0}; !reflect.DeepEqual(got.Options, want) {
		t.Errorf("options %v, want %v", got.Options, want)
	}
	if len(got.Messages) != 4 || got.Messages[0].Content != "You count." || got.Messages[3].ToolName != "count" || got.Messages[2].Thinking != "use the tool" {
		t.Fatalf("messages: %+v", got.Messages)
	}
	tc := got.Messages[2].ToolCalls
	if len(tc) != 1 || tc[0].ID != "c1" || tc[0].Function.Name != "count" || !reflect.DeepEqual(tc[0].Function.Arguments.ToMap(), map[string]any{"text": "a b", "n": 2.0}) {
		t.Errorf("tool calls: %+v", tc)
	}
	if len(got.Tools) != 2 {
		t.Fatalf("tools: %v", got.Tools)
	}
	f := got.Tools[0].Function
	prop, _ := f.Parameters.Properties.Get("text")
	if got.Tools[0].Type != "function" || f.Name != "count" || f.Description != "Count words." || f.Parameters.Type != "object" ||
		!reflect.DeepEqual(f.Parameters.Required, []string{"text"}) || prop.Description != "the words" || len(prop.Type) != 1 || prop.Type[0] != "string" {
		t.Errorf("tool: %s", got.Tools[0])
	}
	if p := got.Tools[1].Function.Parameters; p.Type != "object" || p.Properties == nil {
		t.Errorf("a tool without parameters gets an empty object schema, got %s", got.Tools[1])
	}
}

func TestAReplyOllamaWritesIsReadWhole(t *testing.T) {
	args := api.NewToolCallFunctionArguments()
	args.Set("path", "a.txt")
	args.Set("lines", 3)
	o, _ := server(t, func(_ string, w http.ResponseWriter) {
		lines(t, w,
			api.ChatResponse{Model: "m", Message: api.Message{Role: "assistant", Thinking: "hmm "}},
			api.ChatResponse{Model: "m", Message: api.Message{Role: "assistant", Content: "Reading"}},
			api.ChatResponse{Model: "m", Message: api.Message{Role: "assistant", ToolCalls: []api.ToolCall{
				{ID: "call_1", Function: api.ToolCallFunction{Name: "read_file", Arguments: args}}}}},
			api.ChatResponse{Model: "m", Done: true, DoneReason: "stop", Metrics: api.Metrics{PromptEvalCount: 30, EvalCount: 9,
				TotalDuration: 4 * time.Second, LoadDuration: time.Second, PromptEvalDuration: 2 * time.Second, EvalDuration: 900 * time.Millisecond}})
	})
	var deltas []model.Delta
	resp, err := o.Chat(context.Background(), model.Request{Model: "m"}, func(d model.Delta) { deltas = append(deltas, d) })
	if err != nil {
		t.Fatal(err)
	}
	if resp.Message.Content != "Reading" || resp.Message.Thinking != "hmm " || len(deltas) != 2 || resp.DoneReason != "stop" || resp.Incomplete {
		t.Errorf("reply %+v, deltas %+v", resp, deltas)
	}
	want := []model.ToolCall{{ID: "call_1", Name: "read_file", Arguments: map[string]any{"path": "a.txt", "lines": 3.0}}}
	if !reflect.DeepEqual(resp.Message.ToolCalls, want) {
		t.Errorf("tool calls %+v, want %+v", resp.Message.ToolCalls, want)
	}
	if u := resp.Usage; u.PromptTokens != 30 || u.OutputTokens != 9 || u.TotalDuration != 4*time.Second || u.LoadDuration != time.Second ||
		u.PromptDuration != 2*time.Second || u.EvalDuration != 900*time.Millisecond {
		t.Errorf("usage %+v", u)
	}
}

func TestModelsAndPullsAreReadFromOllamasOwnTypes(t *testing.T) {
	o, bodies := server(t, func(path string, w http.ResponseWriter) {
		switch path {
		case "/api/show":
			lines(t, w, api.ShowResponse{Capabilities: []ollamamodel.Capability{ollamamodel.CapabilityCompletion, ollamamodel.CapabilityTools, ollamamodel.CapabilityThinking},
				Details: api.ModelDetails{ParameterSize: "494.03M"}})
		case "/api/tags":
			lines(t, w, api.ListResponse{Models: []api.ListModelResponse{
				{Name: "b:1", Size: 2048, Details: api.ModelDetails{Family: "qwen2", ParameterSize: "494.03M", QuantizationLevel: "Q4_K_M"}},
				{Name: "a:1", Size: 1024}}})
		case "/api/ps":
			lines(t, w, api.ProcessResponse{Models: []api.ProcessModelResponse{{Name: "b:1"}}})
		case "/api/pull":
			lines(t, w, api.ProgressResponse{Status: "pulling manifest"}, api.ProgressResponse{Status: "pulling abc", Total: 100, Completed: 40},
				api.ProgressResponse{Status: "success"})
		case "/api/version":
			lines(t, w, map[string]string{"version": "0.17.4"})
		}
	})
	ctx := context.Background()
	c, err := o.Capabilities(ctx, "b:1")
	if err != nil || c != (model.Capabilities{Completion: true, Tools: true, Thinking: true, Parameters: 494_030_000}) {
		t.Errorf("capabilities %+v %v", c, err)
	}
	var show api.ShowRequest
	if err := json.Unmarshal(bodies["POST /api/show"], &show); err != nil || show.Model != "b:1" {
		t.Errorf("show request %s: %v", bodies["POST /api/show"], err)
	}
	list, err := o.List(ctx)
	if err != nil || len(list) != 2 || list[0].Name != "a:1" || list[1].Family != "qwen2" || list[1].Quantization != "Q4_K_M" ||
		list[1].ParameterSize != "494.03M" || list[1].Size != 2048 || !list[1].Capabilities.Tools {
		t.Errorf("list %+v %v", list, err)
	}
	if running, err := o.Running(ctx); err != nil || !reflect.DeepEqual(running, []string{"b:1"}) {
		t.Errorf("running %v %v", running, err)
	}
	var progress []model.PullProgress
	if err := o.Pull(ctx, "c:1", func(p model.PullProgress) { progress = append(progress, p) }); err != nil {
		t.Fatal(err)
	}
	var pull api.PullRequest
	if err := json.Unmarshal(bodies["POST /api/pull"], &pull); err != nil || pull.Model != "c:1" {
		t.Errorf("pull request %s: %v", bodies["POST /api/pull"], err)
	}
	if len(progress) != 3 || progress[1] != (model.PullProgress{Status: "pulling abc", Total: 100, Completed: 40}) {
		t.Errorf("progress %+v", progress)
	}
	if v, err := o.Version(ctx); err != nil || v != "0.17.4" {
		t.Errorf("version %q %v", v, err)
	}
}

func TestServerErrorsKeepTheirStatusAndMessage(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status int
		body   string
		kind   error
		want   string
	}{
		{"a JSON error", http.StatusBadRequest, `{"error":"invalid options"}`, model.ErrServer, "refused the request (400): invalid options"},
		{"a plain-text error", http.StatusBadGateway, "upstream down\n", model.ErrServer, "failed (502): upstream down"},
		{"an empty error", http.StatusUnauthorized, "", model.ErrServer, "refused the request (401): "},
		{"a context that is too long", http.StatusBadRequest, `{"error":"input length exceeds the context length"}`, model.ErrContextTooLong, "raise num_ctx"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o, _ := server(t, func(_ string, w http.ResponseWriter) {
				w.WriteHeader(tc.status)
				_, _ = io.WriteString(w, tc.body)
			})
			o.Attempts = 1
			for _, call := range []func() error{
				func() error { _, err := o.Chat(context.Background(), model.Request{Model: "m"}, nil); return err },
				func() error { _, err := o.Version(context.Background()); return err },
			} {
				err := call()
				if !errors.Is(err, tc.kind) || !strings.Contains(err.Error(), tc.want) {
					t.Errorf("err %v, want %v with %q", err, tc.kind, tc.want)
				}
			}
		})
	}
}

func TestAnErrorLineMidStreamEndsTheReply(t *testing.T) {
	o, _ := server(t, func(_ string, w http.ResponseWriter) {
		lines(t, w, api.ChatResponse{Message: api.Message{Role: "assistant", Content: "par"}}, map[string]string{"error": "out of memory"})
	})
	resp, err := o.Chat(context.Background(), model.Request{Model: "m"}, nil)
	if !errors.Is(err, model.ErrStreamCut) || !strings.Contains(err.Error(), "out of memory") || resp.Message.Content != "par" || !resp.Incomplete {
		t.Fatalf("reply %+v, err %v", resp, err)
	}
}
