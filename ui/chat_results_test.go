package ui

import (
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"tandem/agents/model"
	"tandem/engine"
)

func TestChatEnterOnAToolResultOpensItInFull(t *testing.T) {
	t.Parallel()
	m := helperChat(t, 70, 20)
	m = sendPrompt(t, m, "what is in the notes?")
	long := strings.Repeat("tide ", 60) + "THE END"
	m.AppendNotices([]engine.Notice{
		chatEvent(engine.StepTrace, `{"kind":"tool_call","data":{"id":"c1","name":"read_file","arguments":{"path":"a.txt"}}}`),
		chatEvent(engine.StepTrace, `{"kind":"tool_result","data":{"id":"c1","name":"read_file","result":"short one","size":9}}`),
		chatEvent(engine.StepTrace, `{"kind":"tool_call","data":{"id":"c2","name":"read_file","arguments":{"path":"b.txt"}}}`),
		chatEvent(engine.StepTrace, `{"kind":"tool_result","data":{"id":"c2","name":"read_file","result":"`+long+`","size":9000,"truncated":true}}`),
		chatEvent(engine.StepOutput, `{"stream":"content","text":"They talk about tides."}`),
		chatEvent(engine.RunSucceeded, `{}`),
	})
	if s := ansi.Strip(m.View()); strings.Contains(s, "THE END") {
		t.Fatalf("the transcript shows the long result whole already:\n%s", s)
	}
	m, _ = m.Update(keyPress("tab")) // the newest result
	if s := ansi.Strip(m.View()); !strings.Contains(s, "› ◂ read_file: tide") || !strings.Contains(s, "enter opens the result in full") {
		t.Fatalf("tab does not select the newest result:\n%s", s)
	}
	m, _ = m.Update(keyPress("enter"))
	s := ansi.Strip(m.View())
	if !strings.Contains(s, "THE END") || !strings.Contains(s, "9000 characters") || !strings.Contains(s, "esc back to the chat") {
		t.Fatalf("enter does not open the result in full:\n%s", s)
	}
	if !strings.Contains(s, "the trace keeps the first") {
		t.Fatalf("a result the trace cut does not say so:\n%s", s)
	}
	if len(m.turns) != 1 {
		t.Fatalf("enter on a result sent a prompt: %d turns", len(m.turns))
	}
	m, _ = m.Update(keyPress("esc"))
	m, _ = m.Update(keyPress("tab")) // wraps around to the first
	m, _ = m.Update(keyPress("enter"))
	if s := ansi.Strip(m.View()); !strings.Contains(s, "short one") || strings.Contains(s, "THE END") {
		t.Fatalf("tab did not move on to the other result:\n%s", s)
	}
	m, _ = m.Update(keyPress("esc"))
	m, _ = m.Update(keyPress("esc")) // leaves the selection, not the chat
	m, _ = m.Update(keyPress("x"))
	if got := m.input.Value(); got != "x" {
		t.Fatalf("typing after the selection gave input %q", got)
	}
}

func TestChatMarksARepeatedToolCall(t *testing.T) {
	t.Parallel()
	m := helperChat(t, 100, 20)
	m = sendPrompt(t, m, "who is on call?")
	call := `{"kind":"tool_call","data":{"id":"c%d","name":"read_file","arguments":{"path":"team.txt"}}}`
	m.AppendNotices([]engine.Notice{
		chatEvent(engine.StepTrace, strings.Replace(call, "%d", "1", 1)),
		chatEvent(engine.StepTrace, `{"kind":"tool_result","data":{"id":"c1","name":"read_file","result":"Dana","size":4}}`),
		chatEvent(engine.StepTrace, strings.Replace(call, "%d", "2", 1)),
		chatEvent(engine.StepTrace, `{"kind":"tool_result","data":{"id":"c2","name":"read_file","result":"Dana","size":4}}`),
		chatEvent(engine.StepTrace, `{"kind":"repeated_call","data":{"turn":2,"name":"read_file","arguments":{"path":"team.txt"},"times":2}}`),
		chatEvent(engine.RunSucceeded, `{}`),
	})
	s := ansi.Strip(m.View())
	if n := strings.Count(s, "! repeated call: read_file"); n != 1 {
		t.Fatalf("%d repeat notes, want 1:\n%s", n, s)
	}
	second := strings.LastIndex(s, "read_file")
	if mark := strings.Index(s, "! repeated call"); mark < strings.Index(s, "◂") {
		t.Fatalf("the note comes before the second call (last read_file at %d):\n%s", second, s)
	}
	// A stored conversation is marked the same way.
	turns := historyTurns([]model.Message{{Role: "user", Content: "who?"},
		{Role: "assistant", ToolCalls: []model.ToolCall{{Name: "read_file", Arguments: map[string]any{"path": "team.txt"}}}},
		{Role: "tool", ToolName: "read_file", Content: "Dana"},
		{Role: "assistant", ToolCalls: []model.ToolCall{{Name: "read_file", Arguments: map[string]any{"path": "team.txt"}}}},
		{Role: "tool", ToolName: "read_file", Content: "Dana"}})
	marks := 0
	for _, p := range turns[0].parts {
		if strings.Contains(p.text, "repeated call: read_file") {
			marks++
		}
	}
	if marks != 1 {
		t.Fatalf("%d repeat marks in a stored conversation, want 1", marks)
	}
}

func TestChatIndicatorTellsLoadingFromReadingFromGenerating(t *testing.T) {
	t.Parallel()
	m := helperChat(t, 100, 14)
	m = sendPrompt(t, m, "what is in a.txt?")
	note := func() string {
		lines := strings.Split(ansi.Strip(m.View()), "\n")
		return strings.TrimSpace(lines[len(lines)-1])
	}
	m.SetNow(t0.Add(1500 * time.Millisecond))
	var cmd tea.Cmd
	m, cmd = m.Update(chatLoadedMsg{model: "smollm2:135m", loaded: false})
	if cmd == nil {
		t.Fatal("no second look while the model loads")
	}
	if got, want := note(), "smollm2:135m: loading the model · 1.5s · ctrl+c stops"; got != want {
		t.Errorf("while loading: %q, want %q", got, want)
	}
	m, cmd = m.Update(chatLoadedMsg{model: "smollm2:135m", loaded: true})
	if cmd != nil {
		t.Error("it asks again once the model is loaded")
	}
	if got, want := note(), "smollm2:135m: reading the prompt · 1.5s · ctrl+c stops"; got != want {
		t.Errorf("loaded, before the first token: %q, want %q", got, want)
	}
	m.AppendNotices([]engine.Notice{chatEvent(engine.StepTrace, `{"kind":"turn","data":{"turn":1}}`), chatDelta("content", "{")})
	if got := note(); !strings.Contains(got, "generating · 1 tokens") {
		t.Errorf("generating: %q", got)
	}
	m.AppendNotices([]engine.Notice{
		chatEvent(engine.StepTrace, `{"kind":"usage","data":{"turn":1,"prompt_tokens":100,"output_tokens":20,"load_ms":3200,"prompt_ms":1100}}`),
		chatEvent(engine.StepTrace, `{"kind":"tool_call","data":{"id":"c1","name":"read_file","arguments":{"path":"a.txt"}}}`),
		chatEvent(engine.StepTrace, `{"kind":"tool_result","data":{"id":"c1","name":"read_file","result":"`+strings.Repeat("x", 400)+`","size":400}}`),
		chatEvent(engine.StepTrace, `{"kind":"turn","data":{"turn":2}}`),
	})
	if got := note(); !strings.HasPrefix(got, "smollm2:135m: reading the prompt (≈220 tokens)") {
		t.Errorf("the second call, before its first token: %q", got)
	}
	m.AppendNotices([]engine.Notice{
		chatEvent(engine.StepTrace, `{"kind":"usage","data":{"turn":2,"prompt_tokens":230,"output_tokens":5,"prompt_ms":400}}`),
		chatEvent(engine.StepOutput, `{"stream":"content","text":"It says x."}`),
		chatEvent(engine.RunSucceeded, `{}`)})
	if s := ansi.Strip(m.View()); !strings.Contains(s, "run r1 · loaded the model in 3.2s · read 330 prompt tokens in 1.5s") {
		t.Fatalf("the finished reply does not say what Ollama reported:\n%s", s)
	}
}
