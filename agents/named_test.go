package agents_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"tandem/agents"
	"tandem/agents/model"
)

// hasBranch reports whether an action schema offers the tool (or, for "", the answer).
func hasBranch(format json.RawMessage, name string) bool {
	var s struct {
		AnyOf []map[string]any `json:"anyOf"`
	}
	if json.Unmarshal(format, &s) != nil {
		return false
	}
	for _, b := range s.AnyOf {
		props, _ := b["properties"].(map[string]any)
		tool, _ := props["tool"].(map[string]any)
		enum, _ := tool["enum"].([]any)
		if (name == "" && tool == nil) || (len(enum) == 1 && enum[0] == name) {
			return true
		}
	}
	return false
}

func runPrompt(t *testing.T, dir, prompt string, replies ...model.FakeReply) (*model.Fake, *recorder, agents.Result) {
	t.Helper()
	fake := &model.Fake{Replies: replies}
	rec := &recorder{}
	ws := agents.Workspace{Root: dir, Seen: agents.NewSeenFiles()}
	res, err := (&agents.Runner{Model: fake}).Run(context.Background(), agents.Task{Agent: agentIn(t, dir, "tool_calling: fallback\n"),
		Prompt: prompt, Tools: []agents.Tool{agents.ReadFile(ws), agents.ListDir(ws), agents.WriteFile(ws)}, Tracer: rec})
	if err != nil {
		t.Fatalf("res %+v err %v", res, err)
	}
	return fake, rec, res
}

func TestATaskThatNamesAnExistingPathStartsByLooking(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "config"), 0o755)
	os.WriteFile(filepath.Join(dir, "config", "app.toml"), []byte("port = 8080"), 0o644)
	for _, prompt := range []string{"What is the port in config/app.toml?", "What port does app.toml set?", "What is in the config folder?"} {
		t.Run(prompt, func(t *testing.T) {
			fake, rec, res := runPrompt(t, dir, prompt,
				reply(`{"tool": "read_file", "arguments": {"path": "config/app.toml"}}`), reply(`{"answer": "8080"}`))
			if res.Answer != "8080" {
				t.Fatalf("answer %q", res.Answer)
			}
			reqs := fake.Calls()
			first, second := reqs[0].Format, reqs[1].Format
			if hasBranch(first, "") || hasBranch(first, "write_file") || !hasBranch(first, "read_file") || !hasBranch(first, "list_dir") {
				t.Fatalf("turn 1 should offer only the tools that look: %s", first)
			}
			if !hasBranch(second, "") || !hasBranch(second, "write_file") {
				t.Fatalf("turn 2 should offer every action again: %s", second)
			}
			rec.mu.Lock()
			defer rec.mu.Unlock()
			i := slices.Index(rec.kinds, "look_first")
			if i < 0 || !strings.Contains(rec.records[i]["reason"].(string), "config") {
				t.Fatalf("no look_first record saying why: %v", rec.kinds)
			}
		})
	}
}

func TestATaskThatNamesNoPathMayAnswerAtOnce(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("n"), 0o644)
	fake, rec, res := runPrompt(t, dir, "What is 12 + 30? Say it in a sentence.", reply(`{"answer": "42"}`))
	if res.Answer != "42" || !hasBranch(fake.Calls()[0].Format, "") {
		t.Fatalf("answer %q, format %s", res.Answer, fake.Calls()[0].Format)
	}
	if slices.Contains(rec.kinds, "look_first") {
		t.Fatal("a look_first record for a task that names no path")
	}
}

func TestAFileTheTaskNamesIsOfferedEvenWhenItIsMissing(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("n"), 0o644)
	fake, _, res := runPrompt(t, dir, "What is in missing.txt and in .tandem/x.txt, or ../out.txt?",
		reply(`{"tool": "read_file", "arguments": {"path": "missing.txt"}}`), reply(`{"answer": "missing.txt does not exist"}`))
	if res.Answer == "" {
		t.Fatal("no answer")
	}
	b, _ := json.Marshal(arg(branch(t, fake.Calls()[0].Format, "read_file"), "path")["enum"])
	if string(b) != `["notes.txt","missing.txt"]` {
		t.Fatalf("read_file paths %s: want the workspace's file and the missing one the task names (not the refused ones)", b)
	}
	// The missing file's error reached the model.
	msgs := fake.Calls()[1].Messages
	if last := msgs[len(msgs)-1].Content; !strings.Contains(last, "missing.txt") || !strings.Contains(strings.ToLower(last), "no such file") {
		t.Fatalf("result turn %q", last)
	}
}

func TestWriteFileReplacesOnlyFilesTheRunHasSeen(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "a.txt"), []byte("keep me"), 0o644)
	ws := agents.Workspace{Root: dir, Seen: agents.NewSeenFiles()}
	read, write := agents.ReadFile(ws), agents.WriteFile(ws)
	ctx := context.Background()
	if _, err := write.Call(ctx, map[string]any{"path": "a.txt", "content": "guess"}); !errors.Is(err, agents.ErrNotRead) {
		t.Fatalf("replacing an unread file: err %v", err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "a.txt")); string(b) != "keep me" {
		t.Fatalf("the unread file was changed: %q", b)
	}
	if _, err := write.Call(ctx, map[string]any{"path": "new.txt", "content": "1"}); err != nil {
		t.Fatalf("creating a file: %v", err)
	}
	if _, err := write.Call(ctx, map[string]any{"path": "./new.txt", "content": "2"}); err != nil {
		t.Fatalf("rewriting a file the run wrote: %v", err)
	}
	if _, err := read.Call(ctx, map[string]any{"path": "a.txt"}); err != nil {
		t.Fatal(err)
	}
	if _, err := write.Call(ctx, map[string]any{"path": "a.txt", "content": "after reading"}); err != nil {
		t.Fatalf("replacing a file after reading it: %v", err)
	}
	// Without a record (a workspace built by hand), writes are not checked.
	if _, err := agents.WriteFile(agents.Workspace{Root: dir}).Call(ctx, map[string]any{"path": "a.txt", "content": "x"}); err != nil {
		t.Fatalf("a workspace without Seen: %v", err)
	}
}
