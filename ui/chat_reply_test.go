package ui

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"tandem/agents/model"
	"tandem/engine"
	"tandem/flows"
)

func helperChat(t *testing.T, w, h int) ChatModel {
	t.Helper()
	entry := FlowEntry{Path: "/w/helper.yaml", Name: "helper", Agent: true, AgentDef: &flows.Agent{Name: "helper", Model: "smollm2:135m"}}
	m := NewChat(NewTheme(true), entry, t0)
	m.SetSize(w, h)
	m, _ = m.Update(chatHistoryMsg{session: m.Session()})
	return m
}

// send types prompt, sends it and starts its reply as run r1.
func sendPrompt(t *testing.T, m ChatModel, prompt string) ChatModel {
	t.Helper()
	for _, r := range prompt {
		m, _ = m.Update(tea.KeyPressMsg{Code: r, Text: string(r)})
	}
	m, _ = m.Update(keyPress("enter"))
	m, _ = m.Update(chatStartedMsg{runID: "r1"})
	return m
}

// chatSeq numbers the events tests make: the chat applies each log position once.
var chatSeq atomic.Int64

func chatEvent(typ engine.EventType, data string) engine.Notice {
	e := engine.Event{RunID: "r1", StepID: "agent", Attempt: 1, Type: typ, Data: []byte(data), Seq: chatSeq.Add(1)}
	return engine.Notice{Event: &e}
}

func chatDelta(stream, text string) engine.Notice {
	return engine.Notice{Delta: &engine.Delta{RunID: "r1", StepID: "agent", Stream: stream, Text: text}}
}

func TestChatNewSessionsAreDistinctInTheSameSecond(t *testing.T) {
	t.Parallel()
	m := helperChat(t, 70, 14)
	first := m.Session()
	names := map[string]bool{first: true}
	for range 2 {
		m, _ = m.Update(keyPress("ctrl+r"))
		m, _ = m.Update(keyPress("enter")) // "new session" is the first choice
		if names[m.Session()] {
			t.Fatalf("a new session reused the name %s (had %v)", m.Session(), names)
		}
		names[m.Session()] = true
	}
	// The clock moves with the app: a session made later is named for its own time.
	m.SetNow(t0.Add(time.Hour))
	m, _ = m.Update(keyPress("ctrl+r"))
	m, _ = m.Update(keyPress("enter"))
	if !strings.HasSuffix(m.Session(), t0.Add(time.Hour).Format("20060102-150405")) {
		t.Fatalf("session %s is not named for the chat's current time", m.Session())
	}
}

func TestChatSessionAgesFollowTheClock(t *testing.T) {
	t.Parallel()
	m := helperChat(t, 70, 14)
	m, _ = m.Update(chatSessionsMsg{sessions: []SessionInfo{{Name: "old-talk", Agent: "helper", Messages: 2, UpdatedAt: t0}}})
	m.SetNow(t0.Add(3 * time.Minute))
	m, _ = m.Update(keyPress("ctrl+r"))
	if s := ansi.Strip(m.View()); !strings.Contains(s, "old-talk · 2 messages · 3m ago") {
		t.Fatalf("session list:\n%s", s)
	}
}

func TestChatWaitingIndicatorSaysWhatTheReplyIsDoing(t *testing.T) {
	t.Parallel()
	m := helperChat(t, 80, 14)
	m = sendPrompt(t, m, "hi")
	note := func() string {
		lines := strings.Split(ansi.Strip(m.View()), "\n")
		return strings.TrimSpace(lines[len(lines)-1])
	}
	m.SetNow(t0.Add(1500 * time.Millisecond))
	if got, want := note(), "smollm2:135m: loading the model, reading the prompt · 1.5s · ctrl+c stops"; got != want {
		t.Errorf("before the first token: %q, want %q", got, want)
	}
	m.AppendNotices([]engine.Notice{chatEvent(engine.StepTrace, `{"kind":"turn","data":{"turn":1}}`), chatDelta("content", "Hel")})
	m.SetNow(t0.Add(3500 * time.Millisecond))
	for range 20 {
		m.AppendNotices([]engine.Notice{chatDelta("content", "lo")})
	}
	if got, want := note(), "smollm2:135m: generating · 21 tokens · 10.0 tok/s · 3.5s · ctrl+c stops"; got != want {
		t.Errorf("generating: %q, want %q", got, want)
	}
	m.AppendNotices([]engine.Notice{chatEvent(engine.StepTrace, `{"kind":"tool_call","data":{"name":"read_file","arguments":{}}}`)})
	if got := note(); !strings.HasPrefix(got, "running read_file · 3.5s") {
		t.Errorf("during a tool call: %q", got)
	}
}

func TestChatRendersAFinishedReplyAsMarkdown(t *testing.T) {
	t.Parallel()
	m := helperChat(t, 60, 16)
	m = sendPrompt(t, m, "list")
	m.AppendNotices([]engine.Notice{chatEvent(engine.StepOutput, `{"stream":"content","text":"Two things:\n\n- **milk**\n- eggs"}`)})
	if s := ansi.Strip(m.View()); !strings.Contains(s, "- **milk**") {
		t.Fatalf("while streaming the text shows as it came:\n%s", s)
	}
	m.AppendNotices([]engine.Notice{chatEvent(engine.RunSucceeded, `{}`)})
	s := ansi.Strip(m.View())
	golden(t, "chat_markdown", s+"\n")
	if strings.Contains(s, "**") || !strings.Contains(s, "• milk") || !strings.Contains(s, "• eggs") {
		t.Fatalf("finished reply is not markdown:\n%s", s)
	}
}

func TestChatSaysWhenTheTokenLimitCutTheReply(t *testing.T) {
	t.Parallel()
	m := helperChat(t, 90, 14)
	m = sendPrompt(t, m, "write a poem")
	m.AppendNotices([]engine.Notice{
		chatEvent(engine.StepOutput, `{"stream":"content","text":"Roses are red, violets"}`),
		chatEvent(engine.StepTrace, `{"kind":"usage","data":{"turn":1,"output_tokens":8,"done_reason":"length"}}`),
		chatEvent(engine.RunSucceeded, `{}`),
	})
	if s := ansi.Strip(m.View()); !strings.Contains(s, "✂ the reply was cut at the token limit") {
		t.Fatalf("a reply cut by the token limit does not say so:\n%s", s)
	}
	m2 := helperChat(t, 90, 14)
	m2 = sendPrompt(t, m2, "hi")
	m2.AppendNotices([]engine.Notice{
		chatEvent(engine.StepOutput, `{"stream":"content","text":"Hello."}`),
		chatEvent(engine.StepTrace, `{"kind":"usage","data":{"turn":1,"output_tokens":2,"done_reason":"stop"}}`),
		chatEvent(engine.RunSucceeded, `{}`),
	})
	if s := ansi.Strip(m2.View()); strings.Contains(s, "✂") {
		t.Fatalf("a whole reply says it was cut:\n%s", s)
	}
}

// stallingActionModel streams the start of a fallback-mode answer and waits to be stopped.
type stallingActionModel struct{}

func (stallingActionModel) Chat(ctx context.Context, _ model.Request, onDelta func(model.Delta)) (model.Response, error) {
	onDelta(model.Delta{Content: `{"answer": "Once upon a ti`})
	<-ctx.Done()
	return model.Response{Incomplete: true, Message: model.Message{Role: "assistant", Content: `{"answer": "Once upon a ti`}}, ctx.Err()
}

func TestChatStoppedReplyKeepsItsShapeAndIsSavedMarkedStopped(t *testing.T) {
	a := newChatApp(t, 80, 20, stallingActionModel{}, nil)
	a.openChat("C")
	a.ask("tell me a story")
	a.until("the reply streams", func() bool { return strings.Contains(a.chatScreen(), "Once upon a ti") })
	a.press("ctrl+c")
	a.until("the reply stops", func() bool { return !a.m.chat.Busy() })
	s := a.chatScreen()
	if !strings.Contains(s, "Once upon a ti") || strings.Contains(s, `{"answer"`) || !strings.Contains(s, "■ reply stopped") {
		t.Fatalf("stopped reply:\n%s", s)
	}
	msgs, _ := a.mem.LoadSession(context.Background(), a.m.chat.Session())
	if len(msgs) != 2 || msgs[0].Content != "tell me a story" || !msgs[1].Stopped || !strings.Contains(msgs[1].Content, "Once upon a ti") {
		t.Fatalf("session %s = %+v, want the prompt and the stopped reply", a.m.chat.Session(), msgs)
	}
	// Reopened from the session, it reads the same.
	turns := historyTurns(msgs)
	c := helperChat(t, 78, 16)
	c.turns = turns
	c.render()
	if s := ansi.Strip(c.View()); !strings.Contains(s, "Once upon a ti") || strings.Contains(s, `{"answer"`) || !strings.Contains(s, "■ reply stopped") {
		t.Fatalf("the stopped reply from the session:\n%s", s)
	}
}

func TestChatListsTheModelsAgainWhenTheListOpens(t *testing.T) {
	t.Parallel()
	m := helperChat(t, 60, 14)
	_, cmd := m.Update(keyPress("ctrl+o"))
	if cmd == nil {
		t.Fatal("opening the model list asked for nothing")
	}
	if _, ok := cmd().(ChatModelsWantedMsg); !ok {
		t.Fatal("opening the model list did not ask for the models")
	}
}

func TestChatCtrlTOpensTheReplysRunInThePanes(t *testing.T) {
	fake := &model.Fake{Replies: []model.FakeReply{
		{Deltas: []model.Delta{{Content: `{"tool": "read_file", "arguments": {"path": "notes.txt"}}`}}},
		{Deltas: []model.Delta{{Content: `{"answer": "milk"}`}}},
	}}
	a := newChatApp(t, 120, 30, fake, nil)
	a.openChat()
	a.ask("notes?")
	a.until("the reply ends", func() bool { return !a.m.chat.Busy() })
	run := a.m.chat.lastTurn().runID
	a.press("ctrl+t")
	a.until("the reply's run opens", func() bool { return a.m.run.id == run && a.m.showing() == "trace" })
	if s := a.screen(); !strings.Contains(s, "buy milk") {
		t.Fatalf("the trace does not show the tool's result:\n%s", s)
	}
	a.press("C") // back to the same chat
	if a.m.showing() != "chat" || !strings.Contains(a.chatScreen(), "› notes?") {
		t.Fatalf("C did not return to the chat:\n%s", a.chatScreen())
	}
}

func TestChatSaysWhenItCannotReadARecord(t *testing.T) {
	t.Parallel()
	m := helperChat(t, 100, 14)
	m = sendPrompt(t, m, "hi")
	m.AppendNotices([]engine.Notice{chatEvent(engine.StepTrace, `{"kind":"turn","data":{"turn":"one"}}`),
		chatEvent(engine.StepOutput, `{"stream":7}`)})
	v := ansi.Strip(m.View())
	if !strings.Contains(v, "! decode turn record") || !strings.Contains(v, "(step_output) cannot be read") {
		t.Fatalf("unreadable records are not shown:\n%s", v)
	}
}
