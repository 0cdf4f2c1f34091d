package agents_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"tandem/agents"
	"tandem/agents/model"
)

// Records as logs written before the records were typed hold them: each must decode to its
// type with its fields.
func TestRecordsOfOldLogsDecodeToTheirTypes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		kind, data string
		want       agents.Record
	}{
		{"start", `{"agent":"a","model":"m","mode":"fallback","mode_reason":"small","tools":["read_file"],"max_turns":4,"max_tokens":0,"prompt":"hi"}`,
			agents.Start{Agent: "a", Model: "m", Mode: "fallback", ModeReason: "small", Tools: []string{"read_file"}, MaxTurns: 4, Prompt: "hi"}},
		{"turn", `{"turn":2,"mode":"native","messages":4}`, agents.Turn{Turn: 2, Mode: "native", Messages: 4}},
		{"usage", `{"turn":1,"prompt_tokens":439,"output_tokens":39,"eval_ms":846,"tokens_per_second":46.06477807919327,"done_reason":"stop"}`,
			agents.Usage{Turn: 1, PromptTokens: 439, OutputTokens: 39, EvalMS: 846, TokensPerSecond: 46.06477807919327, DoneReason: "stop"}},
		{"tool_call", `{"turn":1,"id":"c1","name":"read_file","arguments":{"path":"a.txt"}}`,
			agents.ToolCall{Turn: 1, ID: "c1", Name: "read_file", Arguments: map[string]any{"path": "a.txt"}}},
		{"tool_result", `{"turn":1,"id":"c1","name":"read_file","error":false,"result":"x","size":1,"truncated":false,"duration_ms":3}`,
			agents.ToolResult{Turn: 1, ID: "c1", Name: "read_file", Result: "x", Size: 1, DurationMS: 3}},
		{"invalid_action", `{"turn":3,"error":"cut","content":"{\"to","done_reason":"length","cut":true}`,
			agents.InvalidAction{Turn: 3, Error: "cut", Content: `{"to`, DoneReason: "length", Cut: true}},
		{"end", `{"answer":"ok","end_reason":"answer","turns":2,"prompt_tokens":5,"output_tokens":7,"tool_calls":1,"invalid_actions":0}`,
			agents.End{Result: agents.Result{Answer: "ok", EndReason: "answer", Turns: 2, PromptTokens: 5, OutputTokens: 7, ToolCalls: 1}}},
		{"llm_response", `{"model":"m","usage":{"prompt_tokens":3,"output_tokens":4,"load_duration":0,"prompt_duration":0,"eval_duration":500000000,"total_duration":800000000},"done_reason":"stop","incomplete":false,"tokens_per_second":8}`,
			agents.LLMResponse{Model: "m", Usage: model.Usage{PromptTokens: 3, OutputTokens: 4, EvalDuration: 5e8, TotalDuration: 8e8}, DoneReason: "stop", TokensPerSecond: 8}},
		{"child_run", `{"tool":"flow:count.yaml","run_id":"r1.ask.tool1"}`, agents.ChildRun{Tool: "flow:count.yaml", RunID: "r1.ask.tool1"}},
		{"something_new", `{"x":1}`, agents.Unknown{Type: "something_new", Data: json.RawMessage(`{"x":1}`)}},
	}
	for _, tt := range tests {
		t.Run(tt.kind, func(t *testing.T) {
			t.Parallel()
			for name, data := range map[string]any{"raw": json.RawMessage(tt.data), "maps": jsonValue(t, tt.data)} {
				got, err := agents.Decode(tt.kind, data)
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				if got.Kind() != agents.Kind(tt.kind) {
					t.Fatalf("%s: kind %q", name, got.Kind())
				}
				if u, ok := got.(agents.Unknown); ok && name == "maps" {
					got = agents.Unknown{Type: u.Type, Data: compact(t, u.Data)}
				}
				if !reflect.DeepEqual(got, tt.want) {
					t.Fatalf("%s: got %#v\nwant %#v", name, got, tt.want)
				}
			}
		})
	}
}

func TestALiveRecordDecodesToItselfAndItsLoggedJSONToItsEqual(t *testing.T) {
	t.Parallel()
	live := agents.ToolResult{Turn: 2, ID: "c2", Name: "list_dir", Error: true, Result: "error: no", Size: 9}
	got, err := agents.Decode("tool_result", live)
	if err != nil || !reflect.DeepEqual(got, live) {
		t.Fatalf("live: %#v %v", got, err)
	}
	b, _ := json.Marshal(live)
	got, err = agents.Decode("tool_result", json.RawMessage(b))
	if err != nil || !reflect.DeepEqual(got, live) {
		t.Fatalf("logged: %#v %v", got, err)
	}
}

func TestARecordThatDoesNotFitItsKindIsAnError(t *testing.T) {
	t.Parallel()
	if _, err := agents.Decode("turn", json.RawMessage(`{"turn":"two"}`)); err == nil {
		t.Fatal("a turn whose number is a string decoded")
	}
	if _, err := agents.Decode("usage", json.RawMessage(`[1,2]`)); err == nil {
		t.Fatal("a usage record that is a list decoded")
	}
}

// Each turn's request record holds only what is new, and the records put back together give
// exactly the requests the model was sent.
func TestRequestRecordsHoldWhatIsNewAndRebuildEveryRequest(t *testing.T) {
	dir := t.TempDir()
	for i := range 6 {
		os.WriteFile(filepath.Join(dir, fmt.Sprintf("n%d.txt", i)), []byte(fmt.Sprintf("note %d", i)), 0o644)
	}
	var replies []model.FakeReply
	for i := range 5 {
		replies = append(replies, model.FakeReply{ToolCalls: []model.ToolCall{call("read_file", map[string]any{"path": fmt.Sprintf("n%d.txt", i)})}})
	}
	replies = append(replies, model.FakeReply{Deltas: []model.Delta{{Content: "done"}}})
	fake := &model.Fake{Replies: replies}
	rec := &recorder{}
	r := &agents.Runner{Model: fake, Caps: caps{tools: true}}
	if _, err := r.Run(context.Background(), agents.Task{Agent: agentIn(t, dir, ""), Prompt: "read them all", Tools: fileTools(dir), Tracer: rec}); err != nil {
		t.Fatal(err)
	}
	var conv agents.Conversation
	recorded, n := 0, 0
	for _, x := range rec.typed {
		req, ok := x.(agents.Request)
		if !ok {
			continue
		}
		sent := fake.Calls()[n]
		n++
		msgs, tools, _ := conv.Add(req)
		if !reflect.DeepEqual(msgs, sent.Messages) || req.Total != len(sent.Messages) {
			t.Fatalf("turn %d: rebuilt %d messages, sent %d", req.Turn, len(msgs), len(sent.Messages))
		}
		if !reflect.DeepEqual(tools, sent.Tools) {
			t.Fatalf("turn %d: rebuilt tools %v, sent %v", req.Turn, tools, sent.Tools)
		}
		recorded += len(req.Messages)
	}
	if n != 6 {
		t.Fatalf("%d request records for 6 calls", n)
	}
	// Two messages (system, prompt) and two a turn after (the call, its result): linear.
	if total := len(fake.Calls()[5].Messages); recorded != total {
		t.Fatalf("the records hold %d messages; the last request alone has %d", recorded, total)
	}
}

func jsonValue(t *testing.T, s string) any {
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatal(err)
	}
	return v
}

func compact(t *testing.T, b []byte) json.RawMessage {
	v := jsonValue(t, string(b))
	out, _ := json.Marshal(v)
	return out
}
