package eval

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

// expect parses one expectation the way a suite file writes it.
func expect(t *testing.T, src string) Expectation {
	t.Helper()
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(src), &doc); err != nil {
		t.Fatal(err)
	}
	r := newReporter("t.yaml")
	x, ok := r.expectation(doc.Content[0])
	if !ok {
		t.Fatalf("%s: %v", src, r.err())
	}
	return x
}

func TestEachScorerPassesAndFails(t *testing.T) {
	ws := t.TempDir()
	if err := os.WriteFile(filepath.Join(ws, "next.txt"), []byte("buy milk\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	obs := Observation{
		Answer:    `{"item": "buy milk", "items": [{"name": "milk", "n": 2}]}`,
		EndReason: "answer", Turns: 3, Tokens: 1200, Duration: 1500 * time.Millisecond, Workspace: ws,
		ToolCalls: []ToolCall{
			{Name: "read_file", Args: map[string]any{"path": "todo.md"}},
			{Name: "write_file", Args: map[string]any{"path": "next.txt", "content": "buy milk"}},
		},
	}
	tests := []struct {
		name, expect string
		pass         bool
		detail       string // a part of the failure's explanation
	}{
		{"contains finds a substring", `contains: "buy milk"`, true, ""},
		{"contains is case-sensitive", `contains: "Buy"`, false, "does not contain it"},
		{"regex matches", `regex: '"n":\s*2'`, true, ""},
		{"regex that does not match fails", `regex: '^plain'`, false, "does not match"},
		{"equals compares the trimmed answer", `equals: '  {"item": "buy milk", "items": [{"name": "milk", "n": 2}]}  '`, true, ""},
		{"equals rejects another answer", `equals: "buy milk"`, false, "the answer is"},
		{"json_schema accepts a matching answer", `json_schema: { type: object, required: [item] }`, true, ""},
		{"json_schema rejects a missing property", `json_schema: { type: object, required: [price] }`, false, "does not match the schema"},
		{"json_path reads nested lists", `json_path: { path: "items[0].n", equals: 2 }`, true, ""},
		{"json_path reports the value it found", `json_path: { path: "items[0].name", equals: bread }`, false, `items[0].name is "milk"`},
		{"json_path reports a missing key", `json_path: { path: "price", equals: 1 }`, false, "price: no such key"},
		{"tool_called by name", `tool_called: read_file`, true, ""},
		{"tool_called with matching arguments", `tool_called: { name: write_file, args: { path: next.txt } }`, true, ""},
		{"tool_called with other arguments", `tool_called: { name: read_file, args: { path: notes.md } }`, false, `read_file {"path":"todo.md"}`},
		{"tool_called for a tool never called", `tool_called: list_dir`, false, "calls made"},
		{"tool_not_called holds", `tool_not_called: shell`, true, ""},
		{"tool_not_called names the call", `tool_not_called: write_file`, false, "called write_file"},
		{"file equals ignores trailing newlines", `file: { path: next.txt, equals: "buy milk" }`, true, ""},
		{"file equals shows the content", `file: { path: next.txt, equals: "walk dog" }`, false, `holds "buy milk"`},
		{"file exists", `file: { path: next.txt }`, true, ""},
		{"file missing", `file: { path: other.txt }`, false, "does not exist"},
		{"file absent", `file: { path: other.txt, exists: false }`, true, ""},
		{"file present but must be absent", `file: { path: next.txt, exists: false }`, false, "next.txt exists"},
		{"file matches", `file: { path: next.txt, matches: "^buy" }`, true, ""},
		{"file does not match", `file: { path: next.txt, matches: "^walk" }`, false, "does not match"},
		{"end_reason matches", `end_reason: answer`, true, ""},
		{"end_reason differs", `end_reason: loop_detected`, false, "ended with answer"},
		{"max_turns at the limit", `max_turns: 3`, true, ""},
		{"max_turns over", `max_turns: 2`, false, "took 3 turns"},
		{"max_tokens under", `max_tokens: 2000`, true, ""},
		{"max_tokens over", `max_tokens: 1000`, false, "took 1200 tokens"},
		{"max_seconds under", `max_seconds: 2`, true, ""},
		{"max_seconds over", `max_seconds: 1`, false, "took 1.5 seconds"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pass, detail := Check(expect(t, tt.expect), obs)
			if pass != tt.pass || !strings.Contains(detail, tt.detail) {
				t.Fatalf("Check(%s) = %v, %q; want %v, %q", tt.expect, pass, detail, tt.pass, tt.detail)
			}
		})
	}
}

func TestAFileExpectationCannotLeaveTheWorkspace(t *testing.T) {
	dir := t.TempDir()
	ws := filepath.Join(dir, "ws")
	if err := os.Mkdir(ws, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "secret.txt"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(dir, "secret.txt"), filepath.Join(ws, "link.txt")); err != nil {
		t.Fatal(err)
	}
	x := Expectation{Kind: KindFile, File: "link.txt", Exists: true}
	if pass, detail := Check(x, Observation{Workspace: ws}); pass || !strings.Contains(detail, "read link.txt") {
		t.Fatalf("a symlink out of the workspace was read: %v %q", pass, detail)
	}
}

type scriptedJudge struct {
	verdict Verdict
	err     error
	asked   []string
}

func (j *scriptedJudge) Judge(_ context.Context, x Expectation, _ *Case, o Observation) (Verdict, error) {
	j.asked = append(j.asked, x.Rubric+" | "+o.Answer)
	return j.verdict, j.err
}

func TestScoreAsksTheJudgeAndKeepsItsReason(t *testing.T) {
	c := &Case{ID: "c", Expect: []Expectation{
		{Kind: KindContains, Text: "moon"},
		{Kind: KindJudge, Rubric: "mentions the moon"},
	}}
	j := &scriptedJudge{verdict: Verdict{Pass: false, Reason: "no moon", RunID: "r.judge1"}}
	out := Score(context.Background(), c, Observation{Answer: "the moon pulls"}, j)
	if len(out) != 2 || !out[0].Pass || out[1].Pass || out[1].Detail != "no moon" || out[1].JudgeRunID != "r.judge1" {
		t.Fatalf("outcomes = %+v", out)
	}
	if len(j.asked) != 1 || j.asked[0] != "mentions the moon | the moon pulls" {
		t.Fatalf("judge asked %q", j.asked)
	}
	j = &scriptedJudge{err: errors.New("model gone")}
	if out := Score(context.Background(), c, Observation{}, j); out[1].Pass || out[1].Detail != "judge: model gone" {
		t.Fatalf("a judge error = %+v", out[1])
	}
}
