package agents_test

import (
	"context"
	"testing"

	"tandem/agents"
	"tandem/agents/model"
)

// memMemory is a Memory in a map.
type memMemory map[string][]model.Message

func (m memMemory) LoadSession(_ context.Context, name string) ([]model.Message, error) {
	return m[name], nil
}

func (m memMemory) SaveSession(_ context.Context, name, _ string, msgs []model.Message) error {
	m[name] = msgs
	return nil
}

func TestAResumedRunDoesNotSendItsStoppedPromptTwice(t *testing.T) {
	earlier := []model.Message{{Role: "user", Content: "hi"}, {Role: "assistant", Content: "hello"}}
	for _, tc := range []struct {
		name    string
		stored  []model.Message
		prompt  string
		history int // messages of the stored session sent before the prompt
	}{
		{"a stopped reply to the prompt is left out with the prompt", append(earlier[:2:2],
			model.Message{Role: "user", Content: "What is in a.txt?"},
			model.Message{Role: "user", Content: "read_file {\"path\":\"a.txt\"} returned:\nx\n\nTask: What is in a.txt?\nReply with the next JSON object."},
			model.Message{Role: "assistant", Content: `{"answer": "It sa`, Stopped: true}), "What is in a.txt?", 2},
		{"a finished reply to the same prompt stays", append(earlier[:2:2],
			model.Message{Role: "user", Content: "What is in a.txt?"}, model.Message{Role: "assistant", Content: "x"}), "What is in a.txt?", 4},
		{"a stopped reply to another prompt stays", append(earlier[:2:2],
			model.Message{Role: "user", Content: "Tell me a story"}, model.Message{Role: "assistant", Content: "Once", Stopped: true}), "What is in a.txt?", 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mem := memMemory{"s": tc.stored}
			fake := &model.Fake{Replies: []model.FakeReply{reply("fine")}}
			rec := &recorder{}
			dir := t.TempDir()
			_, err := (&agents.Runner{Model: fake, Memory: mem}).Run(context.Background(), agents.Task{
				Agent: agentIn(t, dir, ""), Prompt: tc.prompt, Session: "s", Tracer: rec})
			if err != nil {
				t.Fatal(err)
			}
			msgs := fake.Calls()[0].Messages
			var sent []model.Message
			for _, m := range msgs {
				if m.Role != "system" {
					sent = append(sent, m)
				}
			}
			if len(sent) != tc.history+1 || sent[len(sent)-1].Content != tc.prompt {
				t.Fatalf("sent %d messages %+v, want the %d of the session and the prompt once", len(sent), sent, tc.history)
			}
			prompts := 0
			for _, m := range sent {
				if m.Role == "user" && m.Content == tc.prompt {
					prompts++
				}
			}
			if tc.history == 2 && prompts != 1 {
				t.Fatalf("the prompt was sent %d times", prompts)
			}
		})
	}
}
