package agents_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"tandem/agents"
	"tandem/agents/model"
)

// The fixes that make agents act on small models, each shown with the scripted model: the
// requests it receives are exactly what a real model would be sent.

func reply(content string) model.FakeReply {
	return model.FakeReply{Deltas: []model.Delta{{Content: content}}}
}

// branch finds the anyOf branch of an action schema whose tool is name ("" for the answer).
func branch(t *testing.T, format json.RawMessage, name string) map[string]any {
	t.Helper()
	var s struct {
		AnyOf []map[string]any `json:"anyOf"`
	}
	if err := json.Unmarshal(format, &s); err != nil {
		t.Fatalf("format %s: %v", format, err)
	}
	for _, b := range s.AnyOf {
		props, _ := b["properties"].(map[string]any)
		tool, _ := props["tool"].(map[string]any)
		enum, _ := tool["enum"].([]any)
		if (name == "" && tool == nil) || (len(enum) == 1 && enum[0] == name) {
			return b
		}
	}
	t.Fatalf("no branch for %q in %s", name, format)
	return nil
}

func arg(b map[string]any, name string) map[string]any {
	props, _ := b["properties"].(map[string]any)
	args, _ := props["arguments"].(map[string]any)
	aprops, _ := args["properties"].(map[string]any)
	p, _ := aprops[name].(map[string]any)
	return p
}

func fallbackRun(t *testing.T, dir, extra string, replies ...model.FakeReply) (*model.Fake, *recorder, agents.Result, error) {
	t.Helper()
	fake := &model.Fake{Replies: replies}
	rec := &recorder{}
	r := &agents.Runner{Model: fake}
	res, err := r.Run(context.Background(), agents.Task{Agent: agentIn(t, dir, "tool_calling: fallback\n"+extra),
		Prompt: "What do my notes say?", Tools: fileTools(dir), Tracer: rec})
	return fake, rec, res, err
}

func TestTheActionSchemaWritesTheToolFirstAndArgumentsInDeclaredOrder(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("n"), 0o644)
	fake, _, _, err := fallbackRun(t, dir, "", reply(`{"answer": "n"}`))
	if err != nil {
		t.Fatal(err)
	}
	req := fake.Calls()[0]
	f := string(req.Format)
	// Ollama's grammar writes keys in the schema's order: "tool" must come before
	// "arguments" in every branch, and write_file's path before its content.
	for _, name := range []string{"read_file", "list_dir", "write_file"} {
		at := strings.Index(f, `"enum":["`+name+`"]`)
		if at < 0 {
			t.Fatalf("no %s branch in %s", name, f)
		}
		start := strings.LastIndex(f[:at], `"properties":{"tool"`)
		if start < 0 || strings.LastIndex(f[:at], `"arguments"`) > start {
			t.Fatalf("%s: the tool key does not come first: %s", name, f)
		}
	}
	wf := f[strings.Index(f, `"enum":["write_file"]`):]
	if p, c := strings.Index(wf, `"path"`), strings.Index(wf, `"content"`); p < 0 || c < 0 || p > c {
		t.Fatalf("write_file's arguments are not in declared order (path, content): %s", wf)
	}
	// The prompt shows each tool as the exact JSON to send, in the same order.
	system := req.Messages[0].Content
	for _, want := range []string{
		`{"tool": "read_file", "arguments": {"path": "<file path relative to the workspace>"}}`,
		`{"tool": "write_file", "arguments": {"path": "<string>", "content": "<string>"}}`,
		`{"answer": "<your answer>"}`,
	} {
		if !strings.Contains(system, want) {
			t.Errorf("the system prompt lacks %s:\n%s", want, system)
		}
	}
}

func TestFreeStringsAreBoundedByTheTokenBudget(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name                 string
		numPredict           int
		answerMax, writeEach float64
	}{
		// {"answer": ""} costs about 11 tokens: 89 are left, at two characters a token.
		{"a budget of 100 tokens leaves the answer 178 characters", 100, 178, 56},
		{"no budget still bounds the strings", 0, 2000, 1000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake, _, _, err := fallbackRun(t, dir, fmt.Sprintf("options: { num_predict: %d }\n", tc.numPredict), reply(`{"answer": "x"}`))
			if err != nil {
				t.Fatal(err)
			}
			f := fake.Calls()[0].Format
			ans := branch(t, f, "")["properties"].(map[string]any)["answer"].(map[string]any)
			if ans["maxLength"] != tc.answerMax {
				t.Fatalf("answer maxLength %v, want %v", ans["maxLength"], tc.answerMax)
			}
			// write_file has two free strings; they share its budget.
			wf := branch(t, f, "write_file")
			if arg(wf, "content")["maxLength"] != tc.writeEach || arg(wf, "path")["maxLength"] != tc.writeEach {
				t.Fatalf("write_file arguments not bounded to %v: %v %v", tc.writeEach, arg(wf, "path"), arg(wf, "content"))
			}
		})
	}
	t.Run("a tool whose call cannot fit the budget is not offered", func(t *testing.T) {
		fake, _, _, err := fallbackRun(t, dir, "options: { num_predict: 40 }\n", reply(`{"answer": "x"}`))
		if err != nil {
			t.Fatal(err)
		}
		f := string(fake.Calls()[0].Format)
		if strings.Contains(f, "write_file") || !strings.Contains(f, `"answer"`) {
			t.Fatalf("at 40 tokens the schema should offer no write_file but an answer: %s", f)
		}
	})
}

func TestACutReplyIsRetriedSampledDifferentlyAndNotEchoedBack(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("the tide turns at six"), 0o644)
	fake, rec, res, err := fallbackRun(t, dir, "options: { temperature: 0, seed: 5, num_predict: 64 }\n",
		model.FakeReply{Deltas: []model.Delta{{Content: `{"answer": "The notes say that the tide`}}, DoneReason: "length"},
		reply(`{"tool": "read_file", "arguments": {"path": "notes.txt"}}`),
		reply(`{"answer": "It turns at six."}`))
	if err != nil || res.Answer != "It turns at six." || res.InvalidActions != 1 {
		t.Fatalf("res %+v err %v", res, err)
	}
	reqs := fake.Calls()
	if len(reqs[1].Messages) != len(reqs[0].Messages) {
		t.Fatalf("the cut reply was echoed back: %d messages, then %d", len(reqs[0].Messages), len(reqs[1].Messages))
	}
	if o := reqs[1].Options; o.Temperature == nil || *o.Temperature <= 0 || o.Seed == nil || *o.Seed == 5 {
		t.Fatalf("the retry was sampled as before: %+v", o)
	}
	if o := reqs[2].Options; *o.Temperature != 0 || *o.Seed != 5 {
		t.Fatalf("after a valid reply the agent's own sampling did not come back: temperature %v seed %v", *o.Temperature, *o.Seed)
	}
	// A cut reply halves the room its strings get.
	before := branch(t, reqs[0].Format, "")["properties"].(map[string]any)["answer"].(map[string]any)["maxLength"].(float64)
	after := branch(t, reqs[1].Format, "")["properties"].(map[string]any)["answer"].(map[string]any)["maxLength"].(float64)
	if after != before/2 {
		t.Fatalf("answer maxLength %v after a cut, want %v", after, before/2)
	}
	var inv map[string]any
	for i, k := range rec.kinds {
		if k == "invalid_action" {
			inv = rec.records[i]
		}
	}
	if inv["cut"] != true || inv["done_reason"] != "length" || rec.count("retry") != 1 {
		t.Fatalf("the trace does not say the reply was cut and retried: %v %v", inv, rec.kinds)
	}
}

func TestAnAbortedReplyInsideItsJSONCountsAsCut(t *testing.T) {
	dir := t.TempDir()
	// Ollama stops a reply that repeats one token 30 times; it ends "stop", mid-string.
	_, rec, res, err := fallbackRun(t, dir, "",
		reply(`{"answer": "`+strings.Repeat("-", 30)),
		reply(`{"answer": "done"}`))
	if err != nil || res.Answer != "done" {
		t.Fatalf("res %+v err %v", res, err)
	}
	for i, k := range rec.kinds {
		if k == "invalid_action" && rec.records[i]["cut"] != true {
			t.Fatalf("an unfinished object is not marked cut: %v", rec.records[i])
		}
	}
}

func TestAToolResultComesBackAsAUserTurnThatRestatesTheTask(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("the tide turns at six"), 0o644)
	fake, _, res, err := fallbackRun(t, dir, "",
		reply(`{"tool": "read_file", "arguments": {"path": "notes.txt"}}`),
		reply(`{"answer": "At six."}`))
	if err != nil || res.Answer != "At six." {
		t.Fatalf("res %+v err %v", res, err)
	}
	msgs := fake.Calls()[1].Messages
	last := msgs[len(msgs)-1]
	want := "read_file {\"path\":\"notes.txt\"} returned:\nthe tide turns at six\n\nTask: What do my notes say?\nIf this gives what the task asks for, reply {\"answer\": \"<your answer>\"}; if not, reply with the tool call that gets it."
	if last.Role != "user" || last.Content != want {
		t.Fatalf("the result came back as %s %q, want a user turn %q", last.Role, last.Content, want)
	}
	if strings.Contains(last.Content, "If this answers the task") {
		t.Fatal("the result still carries the hint that made a 0.5B model answer with a tool name")
	}
}

func TestReadAndListTakeTheirPathFromTheEntriesOfASmallWorkspace(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "config"), 0o755)
	os.MkdirAll(filepath.Join(dir, ".tandem"), 0o755)
	os.WriteFile(filepath.Join(dir, "config", "app.toml"), []byte("port = 8080"), 0o644)
	os.WriteFile(filepath.Join(dir, ".tandem", "tandem.db"), []byte("db"), 0o644)
	fake, _, res, err := fallbackRun(t, dir, "",
		reply(`{"tool": "write_file", "arguments": {"path": "next.txt", "content": "x"}}`),
		reply(`{"answer": "ok"}`))
	if err != nil || res.Answer != "ok" {
		t.Fatalf("res %+v err %v", res, err)
	}
	enum := func(req model.Request, tool string) string {
		b, _ := json.Marshal(arg(branch(t, req.Format, tool), "path")["enum"])
		return string(b)
	}
	reqs := fake.Calls()
	// Not offered: .tandem/ and the agent's own definition, which the workspace refuses.
	if got := enum(reqs[0], "read_file"); got != `["config/app.toml"]` {
		t.Errorf("read_file paths on turn 1: %s", got)
	}
	if got := enum(reqs[0], "list_dir"); got != `[".","config"]` {
		t.Errorf("list_dir paths on turn 1: %s", got)
	}
	// Recomputed each turn: the file written on turn 1 can be read on turn 2.
	if got := enum(reqs[1], "read_file"); got != `["config/app.toml","next.txt"]` {
		t.Errorf("read_file paths on turn 2: %s", got)
	}
	// write_file creates files: its path stays free.
	if _, ok := arg(branch(t, reqs[0].Format, "write_file"), "path")["enum"]; ok {
		t.Error("write_file's path is an enum")
	}

	t.Run("a large workspace keeps the path a free string", func(t *testing.T) {
		big := t.TempDir()
		for i := 0; i < 70; i++ {
			os.WriteFile(filepath.Join(big, fmt.Sprintf("f%02d.txt", i)), nil, 0o644)
		}
		fake, _, _, err := fallbackRun(t, big, "", reply(`{"answer": "ok"}`))
		if err != nil {
			t.Fatal(err)
		}
		if e, ok := arg(branch(t, fake.Calls()[0].Format, "read_file"), "path")["enum"]; ok {
			t.Fatalf("a 70-file workspace got an enum of %d paths", len(e.([]any)))
		}
	})
}

type sizedCaps struct{ params int64 }

func (c sizedCaps) Capabilities(context.Context, string) (model.Capabilities, error) {
	return model.Capabilities{Completion: true, Tools: true, Parameters: c.params}, nil
}

func TestAutoUsesTheFallbackForSmallModelsWhateverTheirTemplateSays(t *testing.T) {
	for _, tc := range []struct {
		name     string
		params   int64
		fallback bool
	}{
		{"a 494M model gets JSON actions", 494_030_000, true},
		{"a 135M model gets JSON actions", 134_520_000, true},
		{"a 7B model gets native tools", 7_000_000_000, false},
		{"a model of unknown size gets native tools", 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			fake := &model.Fake{Replies: []model.FakeReply{reply(`{"answer": "ok"}`)}}
			rec := &recorder{}
			r := &agents.Runner{Model: fake, Caps: sizedCaps{tc.params}}
			if _, err := r.Run(context.Background(), agents.Task{Agent: agentIn(t, dir, ""), Prompt: "go", Tools: fileTools(dir), Tracer: rec}); err != nil {
				t.Fatal(err)
			}
			req := fake.Calls()[0]
			if got := len(req.Format) > 0 && len(req.Tools) == 0; got != tc.fallback {
				t.Fatalf("fallback = %v, want %v (format %d bytes, %d tools)", got, tc.fallback, len(req.Format), len(req.Tools))
			}
			if why, _ := rec.records[0]["mode_reason"].(string); why == "" {
				t.Fatalf("the start record does not say why: %v", rec.records[0])
			}
		})
	}
}

func TestNativeModeTakesACallWrittenAsTextWhenItNamesARealTool(t *testing.T) {
	for _, tc := range []struct{ name, content string }{
		{"a fenced json block", "```json\n{\"name\": \"read_file\", \"arguments\": {\"path\": \"n.txt\"}}\n```"},
		{"a bare object", `{"name": "read_file", "arguments": {"path": "n.txt"}}`},
		{"a tool_call block", "<tool_call>\n{\"name\": \"read_file\", \"arguments\": {\"path\": \"n.txt\"}}\n</tool_call>"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			os.WriteFile(filepath.Join(dir, "n.txt"), []byte("forty-two"), 0o644)
			fake := &model.Fake{Replies: []model.FakeReply{reply(tc.content), reply("It says forty-two.")}}
			rec := &recorder{}
			r := &agents.Runner{Model: fake, Caps: caps{tools: true}}
			res, err := r.Run(context.Background(), agents.Task{Agent: agentIn(t, dir, "tool_calling: native\n"), Prompt: "read n.txt", Tools: fileTools(dir), Tracer: rec})
			if err != nil || res.Answer != "It says forty-two." || res.ToolCalls != 1 || res.InvalidActions != 0 {
				t.Fatalf("res %+v err %v", res, err)
			}
			msgs := fake.Calls()[1].Messages
			call, result := msgs[len(msgs)-2], msgs[len(msgs)-1]
			if len(call.ToolCalls) != 1 || call.ToolCalls[0].Name != "read_file" || call.Content != "" || result.Content != "forty-two" {
				t.Fatalf("the conversation does not show a call and its result: %+v %+v", call, result)
			}
			if rec.count("text_tool_call") != 1 {
				t.Fatalf("trace kinds %v", rec.kinds)
			}
		})
	}
	t.Run("an object naming no tool is an answer", func(t *testing.T) {
		dir := t.TempDir()
		fake := &model.Fake{Replies: []model.FakeReply{reply(`{"name": "Ana", "age": 3}`)}}
		r := &agents.Runner{Model: fake, Caps: caps{tools: true}}
		res, err := r.Run(context.Background(), agents.Task{Agent: agentIn(t, dir, "tool_calling: native\n"), Prompt: "who?", Tools: fileTools(dir)})
		if err != nil || res.Answer != `{"name": "Ana", "age": 3}` || res.ToolCalls != 0 {
			t.Fatalf("res %+v err %v", res, err)
		}
	})
}

func TestTheTraceSaysWhyEachReplyEnded(t *testing.T) {
	dir := t.TempDir()
	_, rec, _, err := fallbackRun(t, dir, "",
		model.FakeReply{Deltas: []model.Delta{{Content: `{"answer": "cut`}}, DoneReason: "length"},
		reply(`{"answer": "ok"}`))
	if err != nil {
		t.Fatal(err)
	}
	var reasons []any
	for i, k := range rec.kinds {
		if k == "usage" {
			reasons = append(reasons, rec.records[i]["done_reason"])
		}
	}
	if fmt.Sprint(reasons) != "[length stop]" {
		t.Fatalf("done reasons %v, want [length stop]", reasons)
	}
}

func TestAStreamTheServerAbortsIsRetriedInFallbackMode(t *testing.T) {
	dir := t.TempDir()
	cut := &model.Error{Kind: model.ErrStreamCut, Msg: "the reply was cut"}
	fake, rec, res, err := fallbackRun(t, dir, "",
		model.FakeReply{Deltas: []model.Delta{{Content: `{"answer": "----`}}, Err: cut},
		reply(`{"answer": "done"}`))
	if err != nil || res.Answer != "done" || res.InvalidActions != 1 || len(fake.Calls()) != 2 {
		t.Fatalf("res %+v err %v", res, err)
	}
	if o := fake.Calls()[1].Options; o.Temperature == nil || *o.Temperature == 0 {
		t.Fatalf("the retry was sampled as before: %+v", o)
	}
	if rec.count("retry") != 1 {
		t.Fatalf("trace kinds %v", rec.kinds)
	}
}
