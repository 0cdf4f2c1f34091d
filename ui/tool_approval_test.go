package ui

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"tandem/agents"
	"tandem/agents/model"
	"tandem/engine"
	"tandem/engine/modelsteps"
	"tandem/flows"
)

// shellAgent is the helper agent of the chat tests, with the shell tool instead of read_file.
const shellAgent = "name: helper\nmodel: smollm2:135m\nsystem: You run commands for the user.\ntools: [shell]\nmax_turns: 4\n"

// shellCall is a model reply that calls the shell tool with command.
func shellCall(command string) model.FakeReply {
	return model.FakeReply{Deltas: []model.Delta{{Content: `{"tool": "shell", "arguments": {"command": ` + jsonQuote(command) + `}}`}}}
}

func jsonQuote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// newApprovalApp is the chat app whose helper agent has the shell tool and asks the
// workbench's broker before each call, as `tandem ui` without --allow-shell wires it. More
// files (flows) can be added to the workspace.
func newApprovalApp(t *testing.T, w, h int, m model.Model, files map[string]string) (*chatApp, *Approvals) {
	t.Helper()
	broker := NewApprovals()
	a := newChatApp(t, w, h, m, func(o *Options) { o.Approvals = broker })
	files["helper.yaml"] = shellAgent
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(a.dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	eng := a.m.opts.Engine
	eng.Register(flows.KindAgent, modelsteps.AgentExecutor{Engine: eng, Runner: &agents.Runner{Model: m, Memory: a.mem},
		Tools: modelsteps.ToolOptions{Approve: broker.Approve}})
	a.send(LoadFlows(a.dir)())
	a.spawn(a.m.waitApprovals())
	return a, broker
}

// asking reports whether the workbench asks the person about a tool call.
func (a *chatApp) asking() bool { return a.m.ask.Asking() }

// lastToolResult is what the model was last told, the result of its last tool call.
func lastToolResult(t *testing.T, fake *model.Fake) string {
	t.Helper()
	calls := fake.Calls()
	if len(calls) < 2 {
		t.Fatalf("the model was called %d times; want a call after the tool's result", len(calls))
	}
	msgs := calls[len(calls)-1].Messages
	return msgs[len(msgs)-1].Content
}

func TestChatAsksBeforeAnAgentRunsAShellCommand(t *testing.T) {
	tests := []struct {
		name    string
		key     string
		ran     bool   // the command ran
		told    string // in the tool result the model saw
		screen  string // in the chat after the reply
		finally string // the status bar's note
	}{
		{"y allows the call once", "y", true, "made it", "◂ shell: made it", "allowed once"},
		{"n denies it and the model is told", "n", false, "shell needs approval", "◂ shell: error: tool disabled", "denied: the agent is told so"},
		{"esc denies it too", "esc", false, "shell needs approval", "◂ shell: error: tool disabled", "denied"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := &model.Fake{Replies: []model.FakeReply{
				shellCall("touch made.txt && echo made it"),
				{Deltas: []model.Delta{{Content: `{"answer": "Done."}`}}},
			}}
			a, broker := newApprovalApp(t, 80, 24, fake, map[string]string{})
			a.openChat()
			a.ask("make the file")
			a.until("the agent asks to run its command", func() bool {
				return a.asking() && strings.Contains(a.chatScreen(), "▸ shell")
			})
			s := a.screen()
			if tt.key == "y" {
				golden(t, "approval_in_chat", s+"\n")
			}
			for _, want := range []string{"Run shell?", "agent helper · run chat1 · step agent",
				"$ touch made.txt && echo made it", "y allow once", "A allow for the rest of this run", "n/esc deny",
				"› make the file"} {
				if !strings.Contains(s, want) {
					t.Errorf("screen lacks %q", want)
				}
			}
			if p := broker.Pending(); len(p) != 1 || p[0].Command() != "touch made.txt && echo made it" {
				t.Fatalf("pending = %+v", p)
			}
			// Typing in the chat never answers, even a "y": the person moves to the prompt.
			a.press("h", "e", "y", "A", "n")
			if !a.m.ask.Asking() || len(broker.Pending()) != 1 {
				t.Fatal("keys typed into the chat answered the request")
			}
			a.press("tab", tt.key)
			a.until("the reply ends", func() bool { return !a.m.chat.Busy() })
			if a.m.ask.Asking() || len(broker.Pending()) != 0 {
				t.Fatal("the request is still pending after its answer")
			}
			if _, err := os.Stat(filepath.Join(a.dir, "made.txt")); (err == nil) != tt.ran {
				t.Errorf("made.txt exists: %v; want the command run: %v", err == nil, tt.ran)
			}
			if got := lastToolResult(t, fake); !strings.Contains(got, tt.told) {
				t.Errorf("the model was told %q; want %q in it", got, tt.told)
			}
			if s := a.chatScreen(); !strings.Contains(s, tt.screen) || !strings.Contains(s, "Done.") {
				t.Errorf("chat lacks %q or the answer:\n%s", tt.screen, s)
			}
			if !strings.Contains(a.screen(), tt.finally) {
				t.Errorf("status bar lacks %q:\n%s", tt.finally, a.screen())
			}
			runs, _ := a.store.Runs(context.Background(), engine.RunQuery{TopLevel: true})
			if len(runs) != 1 || runs[0].Status != engine.RunStatusSucceeded {
				t.Fatalf("runs = %+v, want one succeeded", runs)
			}
		})
	}
}

func TestAllowingForTheRunStopsAskingForIt(t *testing.T) {
	fake := &model.Fake{Replies: []model.FakeReply{
		shellCall("echo one"),
		shellCall("echo two"),
		{Deltas: []model.Delta{{Content: `{"answer": "Both ran."}`}}},
		shellCall("echo three"), // the next reply is another run: it asks again
	}}
	a, broker := newApprovalApp(t, 80, 24, fake, map[string]string{})
	a.openChat()
	a.ask("run two commands")
	a.until("the agent asks", a.asking)
	a.press("tab", "A")
	a.until("the reply ends", func() bool { return !a.m.chat.Busy() })
	if got := lastToolResult(t, fake); !strings.Contains(got, "two") {
		t.Fatalf("the second command's result = %q", got)
	}
	if s := a.chatScreen(); !strings.Contains(s, "◂ shell: one") || !strings.Contains(s, "◂ shell: two") {
		t.Fatalf("chat lacks both results:\n%s", s)
	}
	a.ask("and another")
	a.until("the next run asks again", a.asking)
	if p := broker.Pending(); len(p) != 1 || p[0].Call.RunID != "chat2" {
		t.Fatalf("pending = %+v, want chat2's call", p)
	}
}

// askThenStall asks to run a shell command, then waits for its context to end, as a model
// would that is slow to answer: the run it is in ends when the workbench stops it.
type askThenStall struct{ calls atomic.Int32 }

func (m *askThenStall) Chat(ctx context.Context, _ model.Request, onDelta func(model.Delta)) (model.Response, error) {
	if m.calls.Add(1) == 1 {
		msg := model.Message{Role: "assistant", Content: `{"tool": "shell", "arguments": {"command": "echo never"}}`}
		onDelta(model.Delta{Content: msg.Content})
		return model.Response{Message: msg, DoneReason: "stop"}, nil
	}
	<-ctx.Done()
	return model.Response{Incomplete: true}, ctx.Err()
}

func TestQuittingWhileAFlowStepAsksDeniesItAndInterruptsTheRun(t *testing.T) {
	flow := "name: uses\nsteps:\n  - id: ask\n    agent: helper.yaml\n    prompt: run something\n"
	a, broker := newApprovalApp(t, 100, 24, &askThenStall{}, map[string]string{"uses.yaml": flow})
	for range 5 {
		if e, ok := a.m.sidebar.SelectedFlow(); ok && e.Name == "uses" {
			break
		}
		a.press("j")
	}
	a.press("r")
	a.until("the step asks", a.asking)
	if s := a.screen(); !strings.Contains(s, "agent helper · run chat1 · step ask") || !strings.Contains(s, "$ echo never") {
		t.Fatalf("the prompt does not say who asks what:\n%s", s)
	}

	// q is not the prompt's: it must be answered, or ctrl+c quits.
	a.press("q")
	if a.m.quitting || !a.m.ask.Asking() {
		t.Fatal("q answered the prompt or quit")
	}
	next, cmd := a.m.Update(keyPress("ctrl+c"))
	a.m = next.(Model)
	quit := make(chan tea.Msg, 1)
	go func() { quit <- cmd() }()
	select {
	case msg := <-quit:
		if _, ok := msg.(quitReadyMsg); !ok {
			t.Fatalf("quitting ended in %T", msg)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("quitting hangs while a tool call waits for its answer")
	}
	runs, err := a.store.Runs(context.Background(), engine.RunQuery{TopLevel: true})
	if err != nil || len(runs) != 1 || runs[0].Status != engine.RunStatusInterrupted {
		t.Fatalf("runs = %+v, %v; want one interrupted", runs, err)
	}
	if len(broker.Pending()) != 0 {
		t.Fatalf("pending after quitting = %+v", broker.Pending())
	}
	// Nothing asks a workbench that has gone.
	if broker.Approve(context.Background(), "shell", map[string]any{"command": "echo late"}) {
		t.Fatal("a closed broker allowed a call")
	}
}

func TestStoppingAReplyWithdrawsItsRequest(t *testing.T) {
	a, broker := newApprovalApp(t, 80, 24, &askThenStall{}, map[string]string{})
	a.openChat()
	a.ask("run something")
	a.until("the agent asks", a.asking)
	a.press("ctrl+c") // in the chat it stops the reply, and so the question
	a.until("the prompt closes", func() bool { return !a.m.ask.Asking() && !a.m.chat.Busy() })
	if a.m.quitting || len(broker.Pending()) != 0 {
		t.Fatalf("quitting %v, pending %+v", a.m.quitting, broker.Pending())
	}
	runs, _ := a.store.Runs(context.Background(), engine.RunQuery{TopLevel: true})
	if len(runs) != 1 || runs[0].Status != engine.RunStatusInterrupted {
		t.Fatalf("runs = %+v, want one interrupted", runs)
	}
}

func TestApprovalPromptSaysWhoAsksAndHowManyWait(t *testing.T) {
	t.Parallel()
	m := NewApprovalPrompt(NewTheme(true))
	m.SetWidth(70)
	call := engine.ToolCall{RunID: "run7", StepID: "fix", Attempt: 2, Agent: "coder"}
	m.SetRequests([]ToolRequest{
		{ID: 4, Tool: "shell", Args: map[string]any{"command": "go test ./... && git diff --stat | tail -n 1 && echo a long line that wraps at the prompt's width"}, Call: call},
		{ID: 5, Tool: "shell", Args: map[string]any{"command": "ls"}, Call: call},
	})
	golden(t, "approval_prompt", m.View()+"\n")
	m, cmd := m.Update(keyPress("y"))
	if got := cmd(); got != (ToolAnsweredMsg{ID: 4, Allow: true}) {
		t.Fatalf("y answered %#v", got)
	}
	if cur, _ := m.Current(); cur.ID != 5 {
		t.Fatalf("after y the prompt asks about %d, want the next request", cur.ID)
	}
	// A snapshot taken before the answer arrived does not bring the request back.
	m.SetRequests([]ToolRequest{{ID: 4, Tool: "shell", Call: call}, {ID: 5, Tool: "shell", Call: call}})
	if cur, _ := m.Current(); cur.ID != 5 {
		t.Fatalf("a stale snapshot brought back request %d", cur.ID)
	}
	m, cmd = m.Update(keyPress("A"))
	if got := cmd(); got != (ToolAnsweredMsg{ID: 5, Allow: true, ForRun: true}) || m.Asking() {
		t.Fatalf("A answered %#v; asking %v", got, m.Asking())
	}
}

func TestApprovalPromptShowsCommandsExactly(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		req  ToolRequest
		want []string
	}{
		{"escape codes are spelled out", ToolRequest{ID: 1, Tool: "shell", Args: map[string]any{"command": "echo \x1b[8mhidden\x1b[0m; rm x"}},
			[]string{`$ echo \x1b[8mhidden\x1b[0m; rm x`}},
		{"long commands are elided after six lines", ToolRequest{ID: 2, Tool: "shell", Args: map[string]any{"command": "1\n2\n3\n4\n5\n6\n7\n8"}},
			[]string{"$ 1", "  5", "… 3 more lines"}},
		{"other tools show their arguments", ToolRequest{ID: 3, Tool: "deploy", Args: map[string]any{"env": "prod"}},
			[]string{"Run deploy?", `{"env":"prod"}`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m := NewApprovalPrompt(NewTheme(true))
			m.SetWidth(60)
			m.SetRequests([]ToolRequest{tt.req})
			raw := m.View()
			got := ansi.Strip(raw)
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("prompt lacks %q:\n%s", w, got)
				}
			}
			if strings.Contains(raw, "\x1b[8m") {
				t.Errorf("prompt passes escape codes through:\n%q", raw)
			}
		})
	}
}
