package ui

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"tandem/agents"
	"tandem/agents/model"
	"tandem/engine"
	"tandem/engine/memstore"
	"tandem/engine/modelsteps"
	"tandem/flows"
)

// memSessions is an in-memory agents.Memory that also lists sessions, as the store does.
type memSessions struct {
	mu    sync.Mutex
	msgs  map[string][]model.Message
	agent map[string]string
	at    map[string]time.Time
}

func newMemSessions() *memSessions {
	return &memSessions{msgs: map[string][]model.Message{}, agent: map[string]string{}, at: map[string]time.Time{}}
}

func (s *memSessions) LoadSession(_ context.Context, name string) ([]model.Message, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]model.Message(nil), s.msgs[name]...), nil
}

func (s *memSessions) SaveSession(_ context.Context, name, agent string, msgs []model.Message) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.msgs[name], s.agent[name] = append([]model.Message(nil), msgs...), agent
	if _, ok := s.at[name]; !ok {
		s.at[name] = t0
	}
	return nil
}

func (s *memSessions) Sessions(context.Context) ([]SessionInfo, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []SessionInfo
	for name, msgs := range s.msgs {
		out = append(out, SessionInfo{Name: name, Agent: s.agent[name], Messages: len(msgs), UpdatedAt: s.at[name]})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].UpdatedAt.After(out[j].UpdatedAt) })
	return out, nil
}

type modelList []string

func (l modelList) List(context.Context) ([]model.LocalModel, error) {
	out := make([]model.LocalModel, len(l))
	for i, n := range l {
		out[i] = model.LocalModel{Name: n}
	}
	return out, nil
}

// stallingModel streams a few words and then waits until its reply is stopped.
type stallingModel struct{}

func (stallingModel) Chat(ctx context.Context, _ model.Request, onDelta func(model.Delta)) (model.Response, error) {
	onDelta(model.Delta{Thinking: "Hmm."})
	onDelta(model.Delta{Content: "Let me th"})
	<-ctx.Done()
	return model.Response{Incomplete: true, Message: model.Message{Role: "assistant", Content: "Let me th"}}, ctx.Err()
}

const helperAgent = "name: helper\nmodel: smollm2:135m\nsystem: You answer from the user's notes.\ntools: [read_file]\nmax_turns: 4\n"

// chatApp is the workbench over an engine whose agents run on m, driven asynchronously:
// commands run in goroutines and their messages are fed back until a condition holds, so a
// reply can stream while the test presses keys.
type chatApp struct {
	t     *testing.T
	m     Model
	store *memstore.Store
	mem   *memSessions
	dir   string
	msgs  chan tea.Msg
}

func newChatApp(t *testing.T, w, h int, m model.Model, opts func(*Options)) *chatApp {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{
		"helper.yaml": helperAgent,
		"notes.txt":   "buy milk\n",
		"hello.yaml":  "name: hello\nsteps:\n  - id: greet\n    shell: echo hi\n",
	}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	st := memstore.New()
	n := 0
	eng, err := engine.New(engine.Options{Store: st, Clock: fixedClock{}, Parallel: 1,
		NewID: func() string { n++; return "chat" + string(rune('0'+n)) }})
	if err != nil {
		t.Fatal(err)
	}
	mem := newMemSessions()
	eng.Register(flows.KindAgent, modelsteps.AgentExecutor{Engine: eng, Runner: &agents.Runner{Model: m, Memory: mem}})
	o := Options{Engine: eng, Store: st, Dir: dir, Now: func() time.Time { return t0 }, Sessions: mem}
	if opts != nil {
		opts(&o)
	}
	a := &chatApp{t: t, store: st, mem: mem, dir: dir, msgs: make(chan tea.Msg, 1024)}
	a.m = New(o)
	t.Cleanup(a.m.Shutdown)
	a.send(tea.WindowSizeMsg{Width: w, Height: h})
	a.send(LoadFlows(dir)())
	a.send(loadRuns(st, 0)())
	a.spawn(waitNotices(a.m.sub, a.m.exec.stop))
	return a
}

func (a *chatApp) send(msg tea.Msg) {
	a.t.Helper()
	next, cmd := a.m.Update(msg)
	a.m = next.(Model)
	a.spawn(cmd)
}

func (a *chatApp) spawn(cmd tea.Cmd) {
	if cmd != nil {
		go func() { a.msgs <- cmd() }()
	}
}

func (a *chatApp) press(keys ...string) {
	a.t.Helper()
	for _, k := range keys {
		a.send(keyPress(k))
	}
}

func (a *chatApp) typeText(s string) {
	for _, r := range s {
		a.send(tea.KeyPressMsg{Code: r, Text: string(r)})
	}
}

// until feeds messages from the running commands to the model until cond holds. Ticks are
// dropped, so they do not re-arm.
func (a *chatApp) until(what string, cond func() bool) {
	a.t.Helper()
	deadline := time.After(5 * time.Second)
	for !cond() {
		select {
		case msg := <-a.msgs:
			switch msg := msg.(type) {
			case tea.BatchMsg:
				for _, c := range msg {
					a.spawn(c)
				}
			case nil, frameTickMsg, pollTickMsg:
			default:
				a.send(msg)
			}
		case <-deadline:
			a.t.Fatalf("timed out waiting until %s; screen:\n%s", what, a.screen())
		}
	}
}

func (a *chatApp) screen() string { return ansi.Strip(a.m.View().Content) }

func (a *chatApp) chatScreen() string { return ansi.Strip(a.m.chat.View()) }

// openChat opens the chat with the helper agent, second in the sidebar (after hello), with
// enter or the app's chat key.
func (a *chatApp) openChat(with ...string) {
	a.t.Helper()
	if len(with) == 0 {
		with = []string{"enter"}
	}
	a.press("j")
	a.press(with...)
	a.until("the chat opens with its session", func() bool { return a.m.showing() == "chat" && !a.m.chat.loading })
}

func (a *chatApp) ask(prompt string) {
	a.t.Helper()
	a.typeText(prompt)
	a.press("enter")
	a.until("the reply starts", func() bool { return a.m.chat.Busy() })
}

func TestChatRunsTheAgentThroughTheEngineWithToolCallsInline(t *testing.T) {
	fake := &model.Fake{Replies: []model.FakeReply{
		{Deltas: []model.Delta{{Thinking: "The notes are in a file; "}, {Thinking: "read it."},
			{Content: `{"tool": "read_file", `}, {Content: `"arguments": {"path": "notes.txt"}}`}}},
		{Deltas: []model.Delta{{Content: `{"answer": "Your notes say: buy milk."}`}}},
	}}
	a := newChatApp(t, 80, 24, fake, nil)
	a.openChat()
	a.ask("what do my notes say?")
	a.until("the reply ends", func() bool { return !a.m.chat.Busy() })
	s := a.screen()
	golden(t, "chat_reply_with_tool_call", s+"\n")
	for _, want := range []string{"› what do my notes say?", "The notes are in a file; read it.",
		`▸ read_file {"path":"notes.txt"}`, "◂ read_file: buy milk", "Your notes say: buy milk."} {
		if !strings.Contains(s, want) {
			t.Errorf("chat lacks %q", want)
		}
	}
	if strings.Contains(s, `{"answer"`) || strings.Contains(s, `{"tool"`) {
		t.Errorf("chat shows the raw JSON actions:\n%s", s)
	}
	// The reply is a run like any other: recorded, listed, and its conversation saved.
	runs, err := a.store.Runs(context.Background(), engine.RunQuery{TopLevel: true})
	if err != nil || len(runs) != 1 || runs[0].FlowName != "helper" || runs[0].Status != engine.RunStatusSucceeded {
		t.Fatalf("runs = %+v, %v", runs, err)
	}
	msgs, _ := a.mem.LoadSession(context.Background(), a.m.chat.Session())
	if len(msgs) == 0 || msgs[0].Content != "what do my notes say?" {
		t.Fatalf("session %s = %+v", a.m.chat.Session(), msgs)
	}
}

func TestChatStreamsTheReplyAsItComes(t *testing.T) {
	t.Parallel()
	entry := FlowEntry{Path: "/w/helper.yaml", Name: "helper", Agent: true, AgentDef: &flows.Agent{Name: "helper", Model: "smollm2:135m"}}
	m := NewChat(NewTheme(true), entry, t0)
	m.SetSize(60, 14)
	if got := m.Init()(); got != (ChatSessionMsg{Name: "chat-helper-20250102-030405"}) {
		t.Fatalf("the chat asked for %#v, want its session", got)
	}
	m, _ = m.Update(chatHistoryMsg{session: m.Session()}) // a new session: nothing to show
	for _, r := range "why is the sky blue?" {
		m, _ = m.Update(tea.KeyPressMsg{Code: r, Text: string(r)})
	}
	m, cmd := m.Update(keyPress("enter"))
	req, ok := cmd().(ChatSendMsg)
	if !ok || req.Prompt != "why is the sky blue?" || req.Session != "chat-helper-20250102-030405" || req.AgentPath != entry.Path || req.Model != "" {
		t.Fatalf("enter sent %#v", req)
	}
	m, _ = m.Update(chatStartedMsg{runID: "r1"})
	d := func(stream, text string) engine.Notice {
		return engine.Notice{Delta: &engine.Delta{RunID: "r1", StepID: "agent", Stream: stream, Text: text}}
	}
	m.AppendNotices([]engine.Notice{d("thinking", "Light scatters;\nshort waves more."), d("content", "Rayleigh scattering: blue ")})
	m.AppendNotices([]engine.Notice{d("content", "light scatters most."), {Delta: &engine.Delta{RunID: "r2", Stream: "content", Text: "NOT MINE"}}})
	got := m.View()
	golden(t, "chat_streaming", got+"\n")
	if s := ansi.Strip(got); !strings.Contains(s, "smollm2:135m: generating · 3 tokens · 0.0s · ctrl+c stops") || strings.Contains(s, "NOT MINE") {
		t.Errorf("streaming view:\n%s", s)
	}
	if !m.Busy() {
		t.Error("the chat is not busy while a reply streams")
	}
}

func TestChatCtrlCStopsTheReplyAndDoesNotQuit(t *testing.T) {
	a := newChatApp(t, 80, 20, stallingModel{}, nil)
	a.openChat("C")
	a.ask("tell me a long story")
	a.until("the reply streams", func() bool { return strings.Contains(a.chatScreen(), "Let me th") })
	a.press("ctrl+c")
	a.until("the reply stops", func() bool { return !a.m.chat.Busy() })
	if a.m.quitting {
		t.Fatal("ctrl+c in the chat quit the workbench")
	}
	s := a.chatScreen()
	if !strings.Contains(s, "Let me th") || !strings.Contains(s, "■ reply stopped") {
		t.Fatalf("stopped reply:\n%s", s)
	}
	runs, _ := a.store.Runs(context.Background(), engine.RunQuery{TopLevel: true})
	if len(runs) != 1 || runs[0].Status != engine.RunStatusInterrupted {
		t.Fatalf("runs = %+v, want one interrupted", runs)
	}
	golden(t, "chat_stopped", a.screen()+"\n")

	// ctrl+c with no reply streaming only says how to leave; esc leaves.
	a.press("ctrl+c")
	if a.m.quitting || !strings.Contains(a.chatScreen(), "esc leaves the chat") {
		t.Fatalf("idle ctrl+c:\n%s", a.chatScreen())
	}
	a.press("esc")
	a.until("the chat closes", func() bool { return a.m.showing() == "sidebar" })
	if s := a.screen(); !strings.Contains(s, "Flows") || !strings.Contains(s, "helper (agent)") {
		t.Fatalf("after esc the panes are not back:\n%s", s)
	}
}

func TestChatSwitchesModel(t *testing.T) {
	tests := []struct {
		name   string
		models ModelLister
		keys   []string
		want   string // the model the reply used
	}{
		{"lists_local_models", modelList{"qwen3:0.6b", "smollm2:135m"}, []string{"down", "enter"}, "qwen3:0.6b"},
		{"without_a_model_server", nil, []string{"enter"}, "smollm2:135m"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := &model.Fake{Replies: []model.FakeReply{{Deltas: []model.Delta{{Content: `{"answer": "ok"}`}}}}}
			a := newChatApp(t, 80, 16, fake, func(o *Options) {
				if tt.models != nil {
					o.Models = tt.models
				}
			})
			a.openChat()
			if tt.models != nil {
				a.until("the models are listed", func() bool { return len(a.m.chat.models) > 0 })
			}
			a.press("ctrl+o")
			golden(t, "chat_models_"+tt.name, a.screen()+"\n")
			a.press(tt.keys...)
			a.ask("hi")
			a.until("the reply ends", func() bool { return !a.m.chat.Busy() })
			calls := fake.Calls()
			if len(calls) != 1 || calls[0].Model != tt.want {
				t.Fatalf("the reply used %+v, want %s", calls, tt.want)
			}
			if !strings.Contains(a.chatScreen(), "ok") {
				t.Fatalf("no reply:\n%s", a.chatScreen())
			}
			// The model is the run's override: nothing is written beside the agent.
			entries, err := os.ReadDir(a.dir)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range entries {
				if strings.HasPrefix(e.Name(), ".") && strings.Contains(e.Name(), "chat-") {
					t.Errorf("the model switch wrote %s into the workspace", e.Name())
				}
			}
		})
	}
}

func TestChatResumesASession(t *testing.T) {
	a := newChatApp(t, 80, 20, &model.Fake{}, nil)
	ctx := context.Background()
	_ = a.mem.SaveSession(ctx, "notes-talk", "helper", []model.Message{
		{Role: "user", Content: "remember: buy milk"},
		{Role: "assistant", Content: `{"answer": "Noted."}`},
	})
	_ = a.mem.SaveSession(ctx, "other", "someone-else", []model.Message{{Role: "user", Content: "x"}})
	a.openChat()
	a.until("the sessions are listed", func() bool { return len(a.m.chat.all) == 2 })
	a.press("ctrl+r")
	golden(t, "chat_sessions", a.screen()+"\n")
	if s := a.chatScreen(); strings.Contains(s, "other") || !strings.Contains(s, "notes-talk · 2 messages") {
		t.Fatalf("the session list shows other agents' sessions or lacks this one's:\n%s", s)
	}
	a.press("down", "enter")
	a.until("the conversation loads", func() bool { return strings.Contains(a.chatScreen(), "Noted.") })
	if s := a.chatScreen(); !strings.Contains(s, "› remember: buy milk") || !strings.Contains(s, "session notes-talk") {
		t.Fatalf("resumed session:\n%s", s)
	}
}

func TestAppStepDetail(t *testing.T) {
	a := newTestApp(t, 100, 30)
	a.press("r") // check fails: ok.txt is missing
	a.drain()
	if err := os.WriteFile(filepath.Join(a.dir, "ok.txt"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	a.press("R", "enter")
	a.drain()
	a.press("d")
	s := a.screen()
	golden(t, "app_step_detail", s+"\n")
	for _, want := range []string{"look · shell · succeeded", "#1 failed · exit 1", "key       run1/look/1",
		"#2 succeeded · exit 0", "key       run1/look/2", "test -f ok.txt && echo found", "esc close"} {
		if !strings.Contains(s, want) {
			t.Errorf("detail lacks %q", want)
		}
	}
	a.press("esc")
	if s := a.screen(); !strings.Contains(s, "✓ look shell · 2") {
		t.Fatalf("esc did not return to the panes:\n%s", s)
	}
}

func TestChatWaitsForItsSessionBeforeSending(t *testing.T) {
	t.Parallel()
	entry := FlowEntry{Path: "/w/helper.yaml", Name: "helper", Agent: true, AgentDef: &flows.Agent{Name: "helper", Memory: "session"}}
	m := NewChat(NewTheme(true), entry, t0)
	m.SetSize(60, 14)
	for _, r := range "hi" {
		m, _ = m.Update(tea.KeyPressMsg{Code: r, Text: string(r)})
	}
	m, cmd := m.Update(keyPress("enter"))
	if cmd != nil || m.Busy() || !strings.Contains(ansi.Strip(m.View()), "loading the session…") {
		t.Fatalf("sent before the session loaded:\n%s", ansi.Strip(m.View()))
	}
	// memory: session continues the session named after the agent, as tandem ask does.
	m, _ = m.Update(chatHistoryMsg{session: "helper", msgs: []model.Message{
		{Role: "user", Content: "earlier"}, {Role: "assistant", Content: "Earlier answer."}}})
	m, cmd = m.Update(keyPress("enter"))
	if cmd == nil {
		t.Fatal("enter after loading sent nothing")
	}
	if req := cmd().(ChatSendMsg); req.Session != "helper" || req.Prompt != "hi" {
		t.Fatalf("sent %#v", req)
	}
	if s := ansi.Strip(m.View()); !strings.Contains(s, "› earlier") || !strings.Contains(s, "Earlier answer.") || !strings.Contains(s, "› hi") {
		t.Fatalf("history and the new prompt:\n%s", s)
	}
}

// A chat read to its end stays at its end when the terminal shrinks: the last line of the
// reply is not pushed under the input.
func TestChatKeepsItsEndInViewWhenTheTerminalShrinks(t *testing.T) {
	t.Parallel()
	entry := FlowEntry{Path: "/w/helper.yaml", Name: "helper", Agent: true, AgentDef: &flows.Agent{Name: "helper", Model: "smollm2:135m"}}
	m := NewChat(NewTheme(true), entry, t0)
	m.SetSize(120, 40)
	m.Init()()
	var lines []string
	for i := range 30 {
		lines = append(lines, "- point "+strconv.Itoa(i))
	}
	lines = append(lines, "", "THE LAST LINE")
	m, _ = m.Update(chatHistoryMsg{session: m.Session(), msgs: []model.Message{
		{Role: "user", Content: "list"},
		{Role: "assistant", Content: strings.Join(lines, "\n")},
	}})
	if s := ansi.Strip(m.View()); !strings.Contains(s, "THE LAST LINE") {
		t.Fatalf("the end is not in view at first:\n%s", s)
	}
	m.SetSize(80, 20)
	if s := ansi.Strip(m.View()); !strings.Contains(s, "THE LAST LINE") {
		t.Errorf("after shrinking, the end is out of view:\n%s", s)
	}
}

// Two conversations with the helper in the workbench are two rows of the sidebar, and enter
// on the older one opens the chat in that session, with its own turns.
func TestTwoChatSessionsWithOneAgentAreTwoRowsThatOpenTheirSession(t *testing.T) {
	fake := &model.Fake{Respond: func(req model.Request) (model.FakeReply, error) {
		last := req.Messages[len(req.Messages)-1].Content
		return model.FakeReply{Deltas: []model.Delta{{Content: `{"answer": "heard: ` + last + `"}`}}}, nil
	}}
	var now atomic.Int64 // the workbench's clock, which names new sessions
	now.Store(t0.UnixMilli())
	a := newChatApp(t, 120, 30, fake, func(o *Options) { o.Now = func() time.Time { return time.UnixMilli(now.Load()) } })
	a.openChat()
	a.ask("first talk")
	a.until("the first reply ends", func() bool { return !a.m.chat.Busy() })
	first := a.m.chat.Session()
	a.press("ctrl+r", "up", "enter") // the top choice: a new session
	a.until("a new session", func() bool { return a.m.chat.Session() != first && !a.m.chat.loading })
	a.ask("second talk")
	a.until("the second reply ends", func() bool { return !a.m.chat.Busy() })
	second := a.m.chat.Session()
	a.press("esc")
	a.until("the chat is left", func() bool { return a.m.showing() != "chat" })
	now.Store(t0.Add(time.Hour).UnixMilli()) // a chat opened now would name a session of its own
	a.send(loadRuns(a.store, 0)())
	side := sidebarText(a.screen(), 30)
	if n := strings.Count(side, "◇ "); n != 3 { // the agent, and a row per session
		t.Fatalf("%d helper rows, want the agent and two chats:\n%s", n, side)
	}
	for a.m.sidebar.selectedChat() == nil || a.m.sidebar.selectedChat().session != first {
		if a.m.sidebar.cursor >= len(a.m.sidebar.items)-1 {
			t.Fatalf("no row for session %s:\n%s", first, a.screen())
		}
		a.press("j")
	}
	a.press("enter")
	a.until("the chat opens in the first session", func() bool {
		return a.m.showing() == "chat" && a.m.chat.Session() == first && !a.m.chat.loading
	})
	if s := a.chatScreen(); !strings.Contains(s, "first talk") || strings.Contains(s, "second talk") {
		t.Fatalf("the first session's chat (not %s):\n%s", second, s)
	}
}
