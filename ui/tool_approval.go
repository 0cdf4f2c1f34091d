package ui

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"

	tea "charm.land/bubbletea/v2"

	"tandem/engine"
)

// Agents that run in the workbench ask the person at it before a tool that needs approval
// (shell) runs. The agent's goroutine calls Approvals.Approve and waits; the app learns of
// the request through one command that waits on the broker and is re-issued after each
// change, shows it in the approval prompt and answers it. Nothing in Update waits for an
// agent, and no agent waits past its context or the workbench's shutdown.

// ToolRequest is a tool call waiting for a person's answer.
type ToolRequest struct {
	ID   int
	Tool string
	Args map[string]any
	// Call is the step whose agent asks; empty when the caller did not come through the
	// engine.
	Call engine.ToolCall
}

// Command is what the call would do, as the person should read it: a shell call's command
// line, or the arguments as JSON for other tools.
func (r ToolRequest) Command() string {
	if c, ok := r.Args["command"].(string); ok && r.Tool == "shell" {
		return c
	}
	b, err := json.Marshal(r.Args)
	if err != nil {
		return fmt.Sprint(r.Args)
	}
	return string(b)
}

// Approvals is the broker between agents asking to run a tool and the workbench answering.
// Its Approve method is an agents.Approver. It is safe for concurrent use; cmd/tandem makes
// one and passes it to the engine's agent executor and to the workbench in Options.
type Approvals struct {
	mu      sync.Mutex
	next    int
	pending []toolAsk
	allowed map[allowKey]bool // tools allowed for the rest of a run
	closed  bool
	changed chan struct{} // holds one signal when pending changed since it was last read
}

type toolAsk struct {
	req   ToolRequest
	reply chan bool // buffered: answering never waits for the agent
}

type allowKey struct{ runID, tool string }

// NewApprovals returns a broker with nothing pending.
func NewApprovals() *Approvals {
	return &Approvals{allowed: map[allowKey]bool{}, changed: make(chan struct{}, 1)}
}

// Approve asks the workbench whether the call of tool with args may run and waits for the
// answer. It returns false when the person denies it, when ctx ends first (the run was
// cancelled or stopped) and once the broker is closed. A tool the person allowed for the
// rest of a run is allowed without asking.
func (a *Approvals) Approve(ctx context.Context, tool string, args map[string]any) bool {
	call, _ := engine.ToolCallFrom(ctx)
	a.mu.Lock()
	if a.closed {
		a.mu.Unlock()
		return false
	}
	if call.RunID != "" && a.allowed[allowKey{call.RunID, tool}] {
		a.mu.Unlock()
		return true
	}
	a.next++
	ask := toolAsk{req: ToolRequest{ID: a.next, Tool: tool, Args: args, Call: call}, reply: make(chan bool, 1)}
	a.pending = append(a.pending, ask)
	a.signal()
	a.mu.Unlock()

	select {
	case ok := <-ask.reply:
		return ok
	case <-ctx.Done():
		a.mu.Lock()
		a.remove(ask.req.ID)
		a.mu.Unlock()
		return false
	}
}

// Pending returns the requests waiting for an answer, oldest first.
func (a *Approvals) Pending() []ToolRequest {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make([]ToolRequest, len(a.pending))
	for i, p := range a.pending {
		out[i] = p.req
	}
	return out
}

// Answer answers request id; forRun also allows its tool for the rest of its run, answering
// that run's other requests for the tool too. An answer to a request no longer pending
// (withdrawn, answered) does nothing. It never blocks.
func (a *Approvals) Answer(id int, allow, forRun bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	ask, ok := a.remove(id)
	if !ok {
		return
	}
	ask.reply <- allow
	if !allow || !forRun || ask.req.Call.RunID == "" {
		return
	}
	k := allowKey{ask.req.Call.RunID, ask.req.Tool}
	a.allowed[k] = true
	kept := a.pending[:0]
	for _, p := range a.pending {
		if (allowKey{p.req.Call.RunID, p.req.Tool}) == k {
			p.reply <- true
			continue
		}
		kept = append(kept, p)
	}
	a.pending = kept
}

// Close denies every pending request and every later one. The workbench closes it when it
// shuts down, so no agent waits for a person who has left. It is idempotent.
func (a *Approvals) Close() {
	if a == nil {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.closed = true
	for _, p := range a.pending {
		p.reply <- false
	}
	a.pending = nil
	a.signal()
}

// remove takes request id out of the pending list, with a.mu held.
func (a *Approvals) remove(id int) (toolAsk, bool) {
	for i, p := range a.pending {
		if p.req.ID == id {
			a.pending = append(a.pending[:i], a.pending[i+1:]...)
			a.signal()
			return p, true
		}
	}
	return toolAsk{}, false
}

// signal notes a change without waiting: one signal stands for any number of changes.
func (a *Approvals) signal() {
	select {
	case a.changed <- struct{}{}:
	default:
	}
}

// approvalsMsg carries the requests pending after a change.
type approvalsMsg struct{ pending []ToolRequest }

// waitApprovals waits for the pending requests to change and returns them; the app issues
// it again after each. It returns nil once stop is closed.
func waitApprovals(a *Approvals, stop <-chan struct{}) tea.Cmd {
	return func() tea.Msg {
		select {
		case <-a.changed:
			return approvalsMsg{pending: a.Pending()}
		case <-stop:
			return nil
		}
	}
}

// waitApprovals waits for the next change to the requests, when the workbench answers them.
func (m Model) waitApprovals() tea.Cmd {
	if m.opts.Approvals == nil {
		return nil
	}
	return waitApprovals(m.opts.Approvals, m.exec.stop)
}

// approvalsChanged shows the broker's pending requests in the approval prompt, which is on
// the stack while any waits, and waits for the next change.
func (m *Model) approvalsChanged(msg approvalsMsg) tea.Cmd {
	was := m.ask.Asking()
	m.ask.SetRequests(msg.pending)
	if m.ask.Asking() {
		if !m.overlays.has(m.ask) {
			m.openOverlay(m.ask)
		}
	} else {
		m.closeOverlay(m.ask)
	}
	m.resize() // the prompt's height follows its request
	if cur, ok := m.ask.Current(); ok && !was {
		m.setInfo(fmt.Sprintf("an agent asks to run %s: y allows it, n denies it (typing? tab first)", cur.Tool))
	}
	return m.waitApprovals()
}

// toolAnswered gives the broker the prompt's answer.
func (m *Model) toolAnswered(msg ToolAnsweredMsg) {
	if m.opts.Approvals != nil {
		m.opts.Approvals.Answer(msg.ID, msg.Allow, msg.ForRun)
	}
	switch {
	case msg.ForRun:
		m.setInfo("allowed for the rest of the run")
	case msg.Allow:
		m.setInfo("allowed once")
	default:
		m.setInfo("denied: the agent is told so")
	}
}
