package agents_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"tandem/agents"
	"tandem/agents/model"
	"tandem/flows"
	"tandem/store"
)

// recorder is a Tracer that keeps every record.
type recorder struct {
	mu      sync.Mutex
	kinds   []string
	records []map[string]any
	typed   []agents.Record
	text    strings.Builder
}

func (r *recorder) Emit(stream, text string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if stream == "content" {
		r.text.WriteString(text)
	}
}

func (r *recorder) Trace(rec agents.Record) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.kinds = append(r.kinds, string(rec.Kind()))
	r.typed = append(r.typed, rec)
	// Tests read fields by their logged names, the way a log's reader sees them.
	var m map[string]any
	b, _ := json.Marshal(rec)
	_ = json.Unmarshal(b, &m)
	r.records = append(r.records, m)
}

func (r *recorder) count(kind string) int {
	n := 0
	for _, k := range r.kinds {
		if k == kind {
			n++
		}
	}
	return n
}

type caps struct{ tools bool }

func (c caps) Capabilities(context.Context, string) (model.Capabilities, error) {
	return model.Capabilities{Completion: true, Tools: c.tools}, nil
}

func agentIn(t *testing.T, dir string, extra string) *flows.Agent {
	t.Helper()
	p := filepath.Join(dir, "agent.yaml")
	if err := os.WriteFile(p, []byte("name: helper\nsystem: You help.\ntools: [read_file, list_dir, write_file]\nmax_turns: 6\n"+extra), 0o644); err != nil {
		t.Fatal(err)
	}
	a, err := flows.LoadAgent(p)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func fileTools(dir string) []agents.Tool {
	ws := agents.Workspace{Root: dir}
	return []agents.Tool{agents.ReadFile(ws), agents.ListDir(ws), agents.WriteFile(ws)}
}

func call(name string, args map[string]any) model.ToolCall {
	return model.ToolCall{Name: name, Arguments: args}
}

func TestAMultiTurnToolLoopReadsAFileAndAnswers(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("the tide turns at six"), 0o644)
	fake := &model.Fake{Replies: []model.FakeReply{
		{ToolCalls: []model.ToolCall{call("list_dir", map[string]any{"path": "."})}},
		{ToolCalls: []model.ToolCall{call("read_file", map[string]any{"path": "notes.txt"})}},
		{Deltas: []model.Delta{{Content: "The tide "}, {Content: "turns at six."}}},
	}}
	rec := &recorder{}
	r := &agents.Runner{Model: fake, Caps: caps{tools: true}}
	res, err := r.Run(context.Background(), agents.Task{Agent: agentIn(t, dir, ""), Prompt: "When does the tide turn?", Tools: fileTools(dir), Tracer: rec})
	if err != nil || res.Answer != "The tide turns at six." || res.Turns != 3 || res.EndReason != agents.EndAnswer {
		t.Fatalf("res %+v err %v", res, err)
	}
	last := fake.Calls()[2].Messages
	if got := last[len(last)-1]; got.Role != "tool" || got.Content != "the tide turns at six" {
		t.Fatalf("the model did not see the file: %+v", got)
	}
	if rec.count("tool_call") != 2 || rec.count("tool_result") != 2 || rec.count("turn") != 3 || rec.count("end") != 1 {
		t.Fatalf("trace kinds %v", rec.kinds)
	}
}

func TestIndependentToolCallsRunInParallel(t *testing.T) {
	dir := t.TempDir()
	both := make(chan struct{})
	var once sync.Once
	var arrived sync.WaitGroup
	arrived.Add(2)
	barrier := func(name string) agents.Tool {
		return agents.Tool{Name: name, Parameters: map[string]any{"type": "object"}, Call: func(ctx context.Context, _ map[string]any) (string, error) {
			arrived.Done()
			once.Do(func() { go func() { arrived.Wait(); close(both) }() })
			<-both // returns only when the other call is running too
			return name + " done", nil
		}}
	}
	fake := &model.Fake{Replies: []model.FakeReply{
		{ToolCalls: []model.ToolCall{call("a", nil), call("b", nil)}},
		{Deltas: []model.Delta{{Content: "both ran"}}},
	}}
	r := &agents.Runner{Model: fake, Caps: caps{tools: true}}
	res, err := r.Run(context.Background(), agents.Task{Agent: agentIn(t, dir, ""), Prompt: "go", Tools: []agents.Tool{barrier("a"), barrier("b")}})
	if err != nil || res.Answer != "both ran" || res.ToolCalls != 2 {
		t.Fatalf("res %+v err %v", res, err)
	}
}

func TestATokenBudgetStopsTheAgent(t *testing.T) {
	dir := t.TempDir()
	fake := &model.Fake{Respond: func(model.Request) (model.FakeReply, error) {
		return model.FakeReply{ToolCalls: []model.ToolCall{call("list_dir", map[string]any{"path": "."})}, Usage: model.Usage{PromptTokens: 300, OutputTokens: 50}}, nil
	}}
	rec := &recorder{}
	r := &agents.Runner{Model: fake, Caps: caps{tools: true}}
	res, err := r.Run(context.Background(), agents.Task{Agent: agentIn(t, dir, "max_tokens: 500\n"), Prompt: "go", Tools: fileTools(dir), Tracer: rec})
	var stopped *agents.StoppedError
	if !errors.As(err, &stopped) || res.EndReason != agents.EndBudget || res.Turns != 2 {
		t.Fatalf("res %+v err %v", res, err)
	}
}

func TestTheSameCallThreeTimesIsALoop(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "a.txt"), []byte("a"), 0o644)
	fake := &model.Fake{Respond: func(model.Request) (model.FakeReply, error) {
		return model.FakeReply{ToolCalls: []model.ToolCall{call("read_file", map[string]any{"path": "a.txt"})}}, nil
	}}
	rec := &recorder{}
	r := &agents.Runner{Model: fake, Caps: caps{tools: true}}
	res, err := r.Run(context.Background(), agents.Task{Agent: agentIn(t, dir, ""), Prompt: "go", Tools: fileTools(dir), Tracer: rec})
	if err == nil || res.EndReason != agents.EndLoopDetected || res.Turns != 3 || !strings.Contains(res.Detail, "same arguments 3 times") {
		t.Fatalf("res %+v err %v", res, err)
	}
	if len(fake.Calls()) != 3 {
		t.Fatalf("the agent burned %d calls", len(fake.Calls()))
	}
}

func TestABrokenToolCallIsRepairedThroughTheJSONFallback(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "n.txt"), []byte("forty-two"), 0o644)
	fake := &model.Fake{Replies: []model.FakeReply{
		{Deltas: []model.Delta{{Content: `<tool_call>{"name": "read_file", "arguments": {"path": "n.txt"</tool_call>`}}},
		{Deltas: []model.Delta{{Content: `{"tool": "read_file", "arguments": {"path": "n.txt"}}`}}},
		{Deltas: []model.Delta{{Content: "It says forty-two."}}},
	}}
	rec := &recorder{}
	r := &agents.Runner{Model: fake, Caps: caps{tools: true}}
	res, err := r.Run(context.Background(), agents.Task{Agent: agentIn(t, dir, ""), Prompt: "read n.txt", Tools: fileTools(dir), Tracer: rec})
	if err != nil || res.Answer != "It says forty-two." || res.InvalidActions != 1 {
		t.Fatalf("res %+v err %v", res, err)
	}
	reqs := fake.Calls()
	if len(reqs[1].Format) == 0 || len(reqs[1].Tools) != 0 {
		t.Fatalf("the repair turn did not use the constrained JSON action: %+v", reqs[1])
	}
	if len(reqs[2].Format) != 0 || len(reqs[2].Tools) == 0 {
		t.Fatalf("after the repair the agent did not go back to native tools")
	}
	if rec.count("repair") != 1 {
		t.Fatalf("trace kinds %v", rec.kinds)
	}
}

func TestInvalidArgumentsAreReturnedToTheModelToFix(t *testing.T) {
	dir := t.TempDir()
	fake := &model.Fake{Replies: []model.FakeReply{
		{ToolCalls: []model.ToolCall{call("read_file", map[string]any{"file": "x"})}},
		{Deltas: []model.Delta{{Content: "sorry"}}},
	}}
	r := &agents.Runner{Model: fake, Caps: caps{tools: true}}
	res, err := r.Run(context.Background(), agents.Task{Agent: agentIn(t, dir, ""), Prompt: "go", Tools: fileTools(dir)})
	if err != nil || res.InvalidActions != 1 {
		t.Fatalf("res %+v err %v", res, err)
	}
	msgs := fake.Calls()[1].Messages
	if got := msgs[len(msgs)-1].Content; !strings.Contains(got, "invalid arguments") {
		t.Fatalf("tool message %q", got)
	}
}

func TestPathsThatEscapeTheWorkspaceAreRefused(t *testing.T) {
	root := t.TempDir()
	ws := filepath.Join(root, "ws")
	os.MkdirAll(ws, 0o755)
	os.WriteFile(filepath.Join(root, "secret"), []byte("s3cret"), 0o644)
	os.Symlink(filepath.Join(root, "secret"), filepath.Join(ws, "link"))
	os.WriteFile(filepath.Join(ws, "ok.txt"), []byte("fine"), 0o644)
	tools := fileTools(ws)
	read, write := tools[0], tools[2]
	for _, p := range []string{"../secret", "link", filepath.Join(root, "secret")} {
		if out, err := read.Call(context.Background(), map[string]any{"path": p}); err == nil || strings.Contains(out, "s3cret") {
			t.Errorf("read %s: %q %v", p, out, err)
		}
	}
	if _, err := write.Call(context.Background(), map[string]any{"path": "../evil"}); err == nil {
		t.Error("wrote outside the workspace")
	}
	if out, err := read.Call(context.Background(), map[string]any{"path": "ok.txt"}); err != nil || out != "fine" {
		t.Errorf("inside: %q %v", out, err)
	}
}

func TestFallbackModeConstrainsEveryTurnAndParsesActions(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "a.txt"), []byte("alpha"), 0o644)
	fake := &model.Fake{Replies: []model.FakeReply{
		{Deltas: []model.Delta{{Content: `{"tool": "read_file", "arguments": {"path": "a.txt"}}`}}},
		{Deltas: []model.Delta{{Content: `{"answer": {"word": "alpha"}}`}}},
	}}
	r := &agents.Runner{Model: fake} // no capability checker: fallback
	schema := map[string]any{"type": "object", "properties": map[string]any{"word": map[string]any{"type": "string"}}, "required": []any{"word"}}
	res, err := r.Run(context.Background(), agents.Task{Agent: agentIn(t, dir, ""), Prompt: "read", Schema: schema, Tools: fileTools(dir)})
	if err != nil || res.Answer != `{"word": "alpha"}` {
		t.Fatalf("res %+v err %v", res, err)
	}
	for i, req := range fake.Calls() {
		if len(req.Format) == 0 || len(req.Tools) != 0 {
			t.Fatalf("request %d not constrained: %+v", i, req)
		}
	}
}

func TestMemoryContinuesAcrossTwoProcesses(t *testing.T) {
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "tandem.db")
	run := func(prompt, reply string) *model.Fake {
		db, err := store.Open(context.Background(), dbPath, store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		fake := &model.Fake{Replies: []model.FakeReply{{Deltas: []model.Delta{{Content: reply}}}}}
		r := &agents.Runner{Model: fake, Memory: db}
		if _, err := r.Run(context.Background(), agents.Task{Agent: agentIn(t, dir, "memory: session\n"), Prompt: prompt, Session: "s1"}); err != nil {
			t.Fatal(err)
		}
		return fake
	}
	run("My name is Ana.", "Hello Ana.")
	second := run("What is my name?", "Ana.")
	msgs := second.Calls()[0].Messages
	var texts []string
	for _, m := range msgs {
		texts = append(texts, m.Role+":"+m.Content)
	}
	joined := strings.Join(texts, "|")
	if !strings.Contains(joined, "user:My name is Ana.|assistant:Hello Ana.|user:What is my name?") {
		t.Fatalf("second process did not continue the session: %s", joined)
	}
}

func TestALongToolResultIsCutBetweenCharacters(t *testing.T) {
	dir := t.TempDir()
	// 4001 bytes of two-byte characters and one ASCII byte first: byte 4000 falls inside one.
	os.WriteFile(filepath.Join(dir, "wide.txt"), []byte("x"+strings.Repeat("é", 3000)), 0o644)
	fake := &model.Fake{Replies: []model.FakeReply{
		{ToolCalls: []model.ToolCall{call("read_file", map[string]any{"path": "wide.txt"})}},
		{Deltas: []model.Delta{{Content: "done"}}},
	}}
	rec := &recorder{}
	r := &agents.Runner{Model: fake, Caps: caps{tools: true}}
	if _, err := r.Run(context.Background(), agents.Task{Agent: agentIn(t, dir, ""), Prompt: "read wide.txt", Tools: fileTools(dir), Tracer: rec}); err != nil {
		t.Fatal(err)
	}
	msgs := fake.Calls()[1].Messages
	seen := msgs[len(msgs)-1].Content
	if !utf8.ValidString(seen) || !strings.Contains(seen, "[truncated:") {
		t.Fatalf("the model saw invalid UTF-8 or an uncut result: %q", seen[max(0, len(seen)-80):])
	}
	for _, x := range rec.typed {
		if res, ok := x.(agents.ToolResult); ok && (!utf8.ValidString(res.Result) || !res.Truncated) {
			t.Fatalf("the trace's result is invalid UTF-8 or not marked cut: truncated=%v", res.Truncated)
		}
	}
}
