package agents_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
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

// offers lists an action schema's choices: tool name ("" for the answer) -> its path enum.
func offers(t *testing.T, format json.RawMessage) map[string]string {
	t.Helper()
	var s struct {
		AnyOf []map[string]any `json:"anyOf"`
	}
	if err := json.Unmarshal(format, &s); err != nil {
		t.Fatal(err)
	}
	if s.AnyOf == nil {
		var one map[string]any
		_ = json.Unmarshal(format, &one)
		s.AnyOf = []map[string]any{one}
	}
	out := map[string]string{}
	for _, b := range s.AnyOf {
		props, _ := b["properties"].(map[string]any)
		tool, _ := props["tool"].(map[string]any)
		enum, _ := tool["enum"].([]any)
		name := ""
		if len(enum) == 1 {
			name, _ = enum[0].(string)
		}
		paths, _ := json.Marshal(arg(b, "path")["enum"])
		out[name] = string(paths)
	}
	return out
}

func TestATaskThatNamesAnExistingPathStartsByLookingAtIt(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "config"), 0o755)
	os.WriteFile(filepath.Join(dir, "config", "app.toml"), []byte("port = 8080"), 0o644)
	os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("n"), 0o644)
	for _, tc := range []struct{ prompt, want string }{
		{"What is the port in config/app.toml?", `map[read_file:["config/app.toml"]]`},
		{"What port does app.toml set?", `map[read_file:["config/app.toml"]]`},
		{"What is in the config folder?", `map[list_dir:["config"]]`},
		{"Compare notes.txt with config/app.toml.", `map[read_file:["config/app.toml","notes.txt"]]`},
	} {
		t.Run(tc.prompt, func(t *testing.T) {
			fake, rec, res := runPrompt(t, dir, tc.prompt,
				reply(`{"tool": "read_file", "arguments": {"path": "config/app.toml"}}`), reply(`{"answer": "8080"}`))
			if res.Answer != "8080" {
				t.Fatalf("answer %q", res.Answer)
			}
			reqs := fake.Calls()
			if got := fmt.Sprint(offers(t, reqs[0].Format)); got != tc.want {
				t.Fatalf("turn 1 offers %s, want %s", got, tc.want)
			}
			second := offers(t, reqs[1].Format)
			if _, ok := second[""]; !ok {
				t.Fatalf("turn 2 should offer the answer: %v", second)
			}
			// A question about the files changes nothing: write_file is not offered at all.
			if _, ok := second["write_file"]; ok {
				t.Fatalf("turn 2 of a question offers write_file: %v", second)
			}
			if strings.Contains(reqs[0].Messages[0].Content, "write_file") {
				t.Fatalf("the system prompt of a question lists write_file:\n%s", reqs[0].Messages[0].Content)
			}
			rec.mu.Lock()
			defer rec.mu.Unlock()
			i := slices.Index(rec.kinds, "look_first")
			if i < 0 {
				t.Fatalf("no look_first record: %v", rec.kinds)
			}
			if !slices.Contains(rec.kinds, "tool_policy") {
				t.Fatalf("no tool_policy record: %v", rec.kinds)
			}
		})
	}
}

func TestATurnThatMayOnlyAnswerAsksForTheAnswer(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "team.txt"), []byte("On call: Dana"), 0o644)
	read := reply(`{"tool": "read_file", "arguments": {"path": "team.txt"}}`)
	fake, _, res := runPrompt(t, dir, "Who is on call?", read, read, reply(`{"answer": "Dana"}`))
	if res.Answer != "Dana" {
		t.Fatalf("answer %q", res.Answer)
	}
	reqs := fake.Calls()
	if _, ok := offers(t, reqs[2].Format)["write_file"]; ok {
		t.Fatalf("turn 3 (after a repeated call) is not answer-only: %s", reqs[2].Format)
	}
	last := func(r model.Request) string { return r.Messages[len(r.Messages)-1].Content }
	if !strings.HasSuffix(last(reqs[1]), `If this gives what the task asks for, reply {"answer": "<your answer>"}; if not, reply with the tool call that gets it.`) {
		t.Fatalf("turn 2's result turn: %q", last(reqs[1]))
	}
	if got := last(reqs[2]); !strings.HasPrefix(got, "The tools returned:\n\nread_file {\"path\":\"team.txt\"} returned:\nOn call: Dana") ||
		!strings.HasSuffix(got, `Answer the task from what the tools returned: reply {"answer": "<your answer>"}.`) {
		t.Fatalf("the answer-only turn ends %q", got)
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

func TestAfterTheFirstLookTheAgentFollowsReferences(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "config"), 0o755)
	os.WriteFile(filepath.Join(dir, "start.txt"), []byte("Read config/app.toml and report the host."), 0o644)
	os.WriteFile(filepath.Join(dir, "config", "app.toml"), []byte("host = db"), 0o644)
	os.WriteFile(filepath.Join(dir, "other.txt"), []byte("unrelated"), 0o644)
	fake, _, res := runPrompt(t, dir, "Read start.txt, do what it says and write the host to host.txt.",
		reply(`{"tool": "read_file", "arguments": {"path": "start.txt"}}`),
		reply(`{"tool": "read_file", "arguments": {"path": "config/app.toml"}}`),
		reply(`{"tool": "write_file", "arguments": {"path": "host.txt", "content": "db"}}`),
		reply(`{"answer": "db"}`))
	if res.Answer != "db" {
		t.Fatalf("answer %q", res.Answer)
	}
	reqs := fake.Calls()
	// Turn 2: only what start.txt names; not start.txt again, not other.txt, which nothing
	// named. write_file writes the file the task names that does not exist yet.
	if got := fmt.Sprint(offers(t, reqs[1].Format)); got != `map[:null read_file:["config/app.toml"] write_file:["host.txt"]]` {
		t.Errorf("after reading start.txt: %s", got)
	}
	// Turn 3: everything named was read: the agent answers or writes.
	if got := fmt.Sprint(offers(t, reqs[2].Format)); got != `map[:null write_file:["host.txt"]]` {
		t.Errorf("after reading both: %s", got)
	}
	last := func(r model.Request) string { return r.Messages[len(r.Messages)-1].Content }
	if !strings.HasSuffix(last(reqs[1]), "if not, reply with the tool call that gets it.") {
		t.Errorf("turn 2's result turn: %q", last(reqs[1]))
	}
	if !strings.HasSuffix(last(reqs[2]), `Nothing named is left to read. Reply {"answer": "<your answer>"} with what the task asks for; call a tool only if the task asks you to change something.`) {
		t.Errorf("with nothing left to read, the result turn ends %q", last(reqs[2]))
	}
	// After a write, what was read may have changed: it is offered again.
	if got := offers(t, reqs[3].Format)["read_file"]; got != `["config/app.toml","host.txt","start.txt"]` { // host.txt: the write's result names it
		t.Errorf("after a write, read_file offers %s", got)
	}
}

func TestATaskThatNamesNoPathLooksWhereverItLikes(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "a.txt"), []byte("a"), 0o644)
	os.WriteFile(filepath.Join(dir, "b.txt"), []byte("b"), 0o644)
	fake, _, _ := runPrompt(t, dir, "What do my files say?",
		reply(`{"tool": "read_file", "arguments": {"path": "a.txt"}}`), reply(`{"answer": "a"}`))
	if got := offers(t, fake.Calls()[1].Format)["read_file"]; got != `["a.txt","b.txt"]` {
		t.Errorf("read_file offers %s", got)
	}
}

func TestAnAnswerThatIsOnlyAToolsNameIsRetried(t *testing.T) {
	dir := t.TempDir()
	fake, rec, res := runPrompt(t, dir, "What is 12 + 30?", reply(`{"answer": "read_file"}`), reply(`{"answer": "42"}`))
	// A well-formed answer, just not one: retried, counted as rejected, not as invalid.
	if res.Answer != "42" || res.InvalidActions != 0 || res.RejectedAnswers != 1 || len(fake.Calls()) != 2 {
		t.Fatalf("res %+v after %d calls", res, len(fake.Calls()))
	}
	if !slices.Contains(rec.kinds, "rejected_answer") || slices.Contains(rec.kinds, "invalid_action") {
		t.Fatalf("want a rejected_answer record and no invalid_action: %v", rec.kinds)
	}
	if o := fake.Calls()[1].Options; o.Temperature == nil || *o.Temperature == 0 {
		t.Fatalf("the retry is sampled as the first try: %+v", o)
	}
}

func TestAQuestionAboutFilesNeverGetsWriteFileButAChangeTaskDoes(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("teh cat"), 0o644)
	read := reply(`{"tool": "read_file", "arguments": {"path": "notes.txt"}}`)
	for _, tc := range []struct {
		prompt    string
		write     string // write_file's path enum on turn 2; "-" when it is not offered
		policy    bool
		maySystem bool // the system prompt lists write_file
	}{
		{"What does notes.txt say?", "-", true, false},
		{"Is there a typo in notes.txt?", "-", true, false},
		{"Fix the typo in notes.txt.", "null", false, true},                      // names no new file: free path
		{"Copy notes.txt into copy.txt.", `["copy.txt"]`, true, true},            // writes the file it names
		{"Write what notes.txt says to out/a.txt.", `["out/a.txt"]`, true, true}, // in a folder that does not exist yet
		{"Say hello.", "null", false, true},                                      // names no path: tools as configured
		{"Summarize notes.txt into summary.txt.", `["summary.txt"]`, true, true}, // "into" a file is where the result goes
	} {
		t.Run(tc.prompt, func(t *testing.T) {
			fake, rec, _ := runPrompt(t, dir, tc.prompt, read, reply(`{"answer": "ok"}`))
			reqs := fake.Calls()
			if len(reqs) < 2 {
				t.Fatalf("%d requests", len(reqs))
			}
			got, ok := offers(t, reqs[1].Format)["write_file"]
			if !ok {
				got = "-"
			}
			if got != tc.write {
				t.Errorf("write_file on turn 2: %s, want %s", got, tc.write)
			}
			if has := strings.Contains(reqs[0].Messages[0].Content, "write_file"); has != tc.maySystem {
				t.Errorf("system prompt lists write_file: %v", has)
			}
			rec.mu.Lock()
			defer rec.mu.Unlock()
			if has := slices.Contains(rec.kinds, "tool_policy"); has != tc.policy {
				t.Errorf("tool_policy record: %v (%v)", has, rec.kinds)
			}
		})
	}
}

func TestATurnThatMayOnlyAnswerIsAskedAsOneQuestionWithEverythingReturned(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "a.txt"), []byte("Meeting moved to Friday."), 0o644)
	os.WriteFile(filepath.Join(dir, "b.txt"), []byte("Please pay the invoice."), 0o644)
	fake, rec, res := runPrompt(t, dir, "Which of a.txt and b.txt mentions an invoice?",
		reply(`{"tool": "read_file", "arguments": {"path": "a.txt"}}`),
		reply(`{"tool": "read_file", "arguments": {"path": "b.txt"}}`),
		reply(`{"answer": "b.txt"}`))
	if res.Answer != "b.txt" {
		t.Fatalf("answer %q", res.Answer)
	}
	reqs := fake.Calls()
	last := reqs[2]
	if got := fmt.Sprint(offers(t, last.Format)); got != "map[:null]" {
		t.Fatalf("turn 3 offers %s, want only the answer", got)
	}
	if len(last.Messages) != 2 || last.Messages[0].Role != "system" || last.Messages[1].Role != "user" {
		t.Fatalf("turn 3 is not one question: %d messages", len(last.Messages))
	}
	if sys := last.Messages[0].Content; strings.Contains(sys, "read_file") || !strings.HasSuffix(sys, `{"answer": "<your answer>"}.`) {
		t.Errorf("the answer turn's system prompt: %q", sys)
	}
	q := last.Messages[1].Content
	for _, want := range []string{"read_file {\"path\":\"a.txt\"} returned:\nMeeting moved to Friday.", "read_file {\"path\":\"b.txt\"} returned:\nPlease pay the invoice.",
		"Task: Which of a.txt and b.txt mentions an invoice?"} {
		if !strings.Contains(q, want) {
			t.Errorf("the question lacks %q:\n%s", want, q)
		}
	}
	if strings.Index(q, "a.txt\"} returned") > strings.Index(q, "b.txt\"} returned") {
		t.Errorf("results out of order:\n%s", q)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if !slices.Contains(rec.kinds, "force_answer") {
		t.Errorf("no force_answer record: %v", rec.kinds)
	}
}
