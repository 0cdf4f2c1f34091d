package model

import (
	"context"
	"errors"
	"testing"
)

func userAsks(s string) Request {
	return Request{Model: "m", Messages: []Message{{Role: "user", Content: s}}}
}

func TestTheFakePlaysItsScript(t *testing.T) {
	f := &Fake{Replies: []FakeReply{
		{Deltas: []Delta{{Thinking: "hmm"}, {Content: "a"}, {Content: "b"}}},
		{ToolCalls: []ToolCall{{Name: "read_file", Arguments: map[string]any{"path": "x"}}}},
	}}
	var n int
	r1, err := f.Chat(context.Background(), userAsks("1"), func(Delta) { n++ })
	if err != nil || r1.Message.Content != "ab" || r1.Message.Thinking != "hmm" || n != 3 {
		t.Fatalf("r1 %+v %v", r1, err)
	}
	r2, _ := f.Chat(context.Background(), userAsks("2"), nil)
	if len(r2.Message.ToolCalls) != 1 || r2.Message.ToolCalls[0].Arguments["path"] != "x" {
		t.Fatalf("r2 %+v", r2)
	}
	if _, err := f.Chat(context.Background(), userAsks("3"), nil); !errors.Is(err, ErrFakeExhausted) {
		t.Fatalf("exhausted: %v", err)
	}
	if len(f.Calls()) != 3 {
		t.Fatalf("calls %d", len(f.Calls()))
	}
}
