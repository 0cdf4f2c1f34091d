package ui

import (
	"errors"
	"fmt"
	"time"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"tandem/engine"
)

// Options configure the workbench.
type Options struct {
	Engine *engine.Engine // advances runs started, retried or answered here
	Store  Store          // lists runs and reads their logs
	Dir    string         // the workspace: its flow and agent files are listed, its subfolders too
	// Worker, when set, runs in the background so detached, waiting and orphaned runs
	// advance while the workbench is open.
	Worker *engine.Worker
	// Now is the clock for ages and durations; default time.Now.
	Now func() time.Time
	// Sessions, when set, lists agent memory sessions for the chat and loads them to resume.
	Sessions SessionStore
	// Models, when set, lists the local models the chat can switch to; without it the chat
	// offers the agent's own model only.
	Models ModelLister
	// Promote, when set, promotes a passing agent run into a flow file (the eval view's P).
	Promote Promoter
	// Tick schedules a message after d for the frame and log-poll loops; default tea.Tick.
	// Tests pass one that returns nil and send the ticks they need themselves.
	Tick func(d time.Duration, msg func(time.Time) tea.Msg) tea.Cmd
	// ManualNotices leaves reading the engine's bus to the caller, who feeds the model the
	// notices (tests); by default a command waits on the bus and is re-issued after each batch.
	ManualNotices bool
	// Server, when set, is the model server the status bar reports on: checked at start
	// and again when a step fails.
	Server ModelServer
	// Who is the name approvals and rejections made here are recorded with, as the CLI
	// records them ($USER, else the account name); cmd/tandem sets it.
	Who string
	// Approvals, when set, is the broker the engine's agents ask before a tool that needs
	// approval runs (shell); the workbench asks the person in place and answers. The
	// workbench closes it when it shuts down, denying what is still pending.
	Approvals *Approvals
	// Watch, when set, watches the workspace and lists flow and agent files again as they
	// are added, changed or removed; cmd/tandem sets it.
	Watch bool
}

// pane names a pane of the body; the one focused gets the keys no overlay takes.
type pane int

const (
	paneSidebar pane = iota
	paneDAG
	paneTrace
	paneCount // not a pane: how many there are
)

// next returns the pane d places after p in the order sidebar, DAG, trace, wrapping.
func (p pane) next(d int) pane {
	return pane(((int(p)+d)%int(paneCount) + int(paneCount)) % int(paneCount))
}

// Model is the workbench: it routes messages to the panes (sidebar, DAG, trace) and to the
// overlays on its stack, lays them out, and turns keys into engine commands. Its children
// never see the engine.
type Model struct {
	opts  Options
	keys  AppKeyMap
	theme Theme

	sidebar RunsListModel
	dag     DAGModel
	trace   TraceModel
	help    help.Model
	focus   pane

	overlays overlayStack
	chat     *chatOverlay // the chat, kept while closed so C comes back to it; nil until opened
	ask      *approvalBar // the approval prompt, on the stack while a tool call waits
	confirm  *ConfirmModel

	run   openRun
	runs  []engine.RunInfo
	files []FlowEntry // the workspace's flow and agent files, as last listed
	// loadingMore is set while a next page of runs is being read, so one is read at a time.
	loadingMore bool
	// follow moves the selection to the work as it happens (follow.go).
	follow bool
	// zoom gives the focused pane the whole body.
	zoom bool

	sub   *engine.Subscription
	exec  *executions
	tail  engine.Tail
	watch *workspaceWatch

	// boxes keeps the panes' bordered boxes between frames. Copies of the model share it,
	// which is safe because Bubble Tea calls View from one goroutine (see paneCache).
	boxes *paneCache

	server serverState

	w, h     int
	now      time.Time
	status   statusLine
	quitting bool
}

// New builds the workbench. The engine and store are required for anything to show; a nil
// engine gives a read-only workbench.
func New(o Options) Model {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Tick == nil {
		o.Tick = tea.Tick
	}
	t := NewTheme(true)
	confirm := NewConfirm(t)
	m := Model{opts: o, keys: DefaultAppKeyMap, theme: t,
		sidebar: NewRunsList(t), dag: NewDAG(t), trace: NewTrace(t), help: help.New(),
		ask: &approvalBar{ApprovalPromptModel: NewApprovalPrompt(t)}, confirm: &confirm,
		follow: true, exec: newExecutions(), boxes: newPaneCache(), now: o.Now()}
	if o.Engine != nil {
		m.sub = o.Engine.Bus().Subscribe("")
	}
	if tl, ok := o.Store.(engine.Tail); ok {
		m.tail = tl
	}
	if o.Watch {
		m.watch = newWorkspaceWatch(o.Dir)
	}
	return m
}

// Init loads the flows and runs and starts following the engine and the log.
func (m Model) Init() tea.Cmd {
	cmds := []tea.Cmd{tea.RequestBackgroundColor, LoadFlows(m.opts.Dir), m.frameTick()}
	if m.opts.Store != nil {
		cmds = append(cmds, loadRuns(m.opts.Store, len(m.runs)))
	}
	if m.sub != nil {
		cmds = append(cmds, m.waitNotices())
	}
	if m.tail != nil {
		cmds = append(cmds, m.pollTick())
	}
	if m.opts.Worker != nil {
		cmds = append(cmds, runWorker(m.exec, m.opts.Worker))
	}
	cmds = append(cmds, m.waitApprovals(), checkServer(m.opts.Server), m.waitWorkspace())
	return tea.Batch(cmds...)
}

// Shutdown cancels the runs this process advances and waits until they have recorded how
// they stopped. Call it on the final model after the program returns; it is idempotent.
func (m Model) Shutdown() { shutdown(m.exec, m.sub, m.opts.Approvals, m.watch) }

// shutdown stops following the bus and the workspace, cancels the executions, denies the
// tool calls still waiting for an answer (their agents would otherwise wait for no one) and
// waits for the executions to record how they stopped. Cancelling first makes a run stopped
// while asking end interrupted rather than carry on with the refusal.
func shutdown(x *executions, sub *engine.Subscription, ap *Approvals, w *workspaceWatch) {
	if sub != nil {
		sub.Close()
	}
	w.close()
	x.cancel()
	ap.Close()
	x.shutdown()
}

// env is what overlays act with.
func (m *Model) env() overlayEnv {
	return overlayEnv{exec: m.exec, eng: m.opts.Engine, store: m.opts.Store, run: &m.run, now: m.opts.Now, status: &m.status}
}

// Update routes a message: engine and store results to the app, keys to the overlay or
// pane that has them, and what the app does not know to its overlays.
func (m Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	if cmd, ok := m.appMsg(msg); ok {
		return m, cmd
	}
	if cmd, ok := m.runMsg(msg); ok {
		return m, cmd
	}
	switch msg := msg.(type) {
	case tea.KeyPressMsg:
		return m.key(msg)
	case tea.PasteMsg:
		if o := m.overlays.top(); o != nil {
			return m, m.handle(o, msg)
		}
		return m, nil
	}
	// The overlays' own messages: every open overlay sees them, and the chat while closed.
	var cmds []tea.Cmd
	for _, o := range m.overlays.items {
		cmds = append(cmds, m.handle(o, msg))
	}
	if m.chat != nil && !m.overlays.has(m.chat) {
		cmd, _ := m.chat.handle(msg, m.env())
		cmds = append(cmds, cmd)
	}
	return m, tea.Batch(cmds...)
}

// handle gives msg to overlay o and closes it when it is done.
func (m *Model) handle(o overlay, msg tea.Msg) tea.Cmd {
	cmd, done := o.handle(msg, m.env())
	if done {
		m.closeOverlay(o)
	}
	return cmd
}

// openOverlay puts o on top, sized to the body, in the theme of the day.
func (m *Model) openOverlay(o overlay) {
	o.SetTheme(m.theme)
	m.overlays.push(o)
	m.resize()
}

// closeOverlay takes o off the stack and gives the body its room back.
func (m *Model) closeOverlay(o overlay) {
	m.overlays.remove(o)
	m.resize()
}

// appMsg handles the terminal's and the app's own messages; ok is false for others.
func (m *Model) appMsg(msg tea.Msg) (tea.Cmd, bool) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.w, m.h = msg.Width, msg.Height
		m.resize()
	case tea.BackgroundColorMsg:
		m.setTheme(NewTheme(msg.IsDark()))
	case frameTickMsg:
		m.now = msg.now
		m.dag, _ = m.dag.Update(FrameMsg{Now: msg.now})
		if m.chat != nil {
			m.chat.SetNow(msg.now)
		}
		if m.quitting {
			return nil, true
		}
		return m.frameTick(), true
	case serverMsg:
		m.serverMsgUpdate(msg)
		if msg.err != nil {
			m.setStatus(msg.err)
		}
	case approvalsMsg:
		return m.approvalsChanged(msg), true
	case ToolAnsweredMsg:
		m.toolAnswered(msg)
	case ConfirmedMsg, ConfirmCancelledMsg:
		return m.confirmed(msg), true
	case FlowsLoadedMsg:
		m.flowsLoaded(msg)
	case workspaceMsg:
		return m.workspaceChanged(msg), true
	case FlowSelectedMsg:
		if msg.Open {
			m.closeRun()
		}
		m.preview(msg.Entry)
	case AgentOpenedMsg:
		return m.openChat(msg.Entry, msg.Session), true
	case EditFileMsg:
		return editFile(msg), true
	case infoMsg:
		if msg.err != nil {
			m.setStatus(msg.err)
		} else if msg.text != "" {
			m.setInfo(msg.text)
		}
	case copiedMsg:
		m.setInfo(fmt.Sprintf("copied %d bytes", len(msg.text)))
	case quitReadyMsg:
		return tea.Quit, true
	default:
		return nil, false
	}
	return nil, true
}

// key gives a key to the overlay that takes it, else to the app's own keys, else to the
// focused pane.
func (m *Model) key(k tea.KeyPressMsg) (tea.Model, tea.Cmd) {
	capturing := m.paneCapturing()
	if o := m.overlays.keyOwner(k, m.keys, capturing); o != nil {
		cmd := m.handle(o, k)
		if o == overlay(m.ask) {
			m.resize() // an answer shows the next request or gives the body its room back
		}
		return *m, cmd
	}
	if m.overlays.body() == nil && (!capturing || k.String() == "ctrl+c") {
		if cmd, ok := m.appKey(k); ok {
			return *m, cmd
		}
	} else if key.Matches(k, m.keys.Quit, m.keys.Help) {
		if cmd, ok := m.appKey(k); ok {
			return *m, cmd
		}
	}
	if m.overlays.body() != nil {
		return *m, nil
	}
	var cmd tea.Cmd
	prevSel := m.dag.Selected()
	switch m.focus {
	case paneSidebar:
		m.sidebar, cmd = m.sidebar.Update(k)
	case paneDAG:
		m.dag, cmd = m.dag.Update(k)
		if m.dag.Selected() != prevSel {
			m.followOff()
		}
	case paneTrace:
		m.trace, cmd = m.trace.Update(k)
	}
	return *m, cmd
}

// paneCapturing reports whether the focused pane reads typed text (a filter or a search).
func (m *Model) paneCapturing() bool {
	switch m.focus {
	case paneSidebar:
		return m.sidebar.Capturing()
	case paneDAG:
		return m.dag.Capturing()
	}
	return m.trace.Capturing()
}

// appKey handles the workbench's own keys; ok is false for keys the focused pane gets.
func (m *Model) appKey(k tea.KeyPressMsg) (tea.Cmd, bool) {
	if paneFirst[m.focus][k.String()] {
		return nil, false
	}
	switch {
	case key.Matches(k, m.keys.Quit):
		if m.quitting {
			return nil, true
		}
		m.quitting = true
		m.setInfo("stopping: recording running steps as interrupted…")
		x, sub, ap, w := m.exec, m.sub, m.opts.Approvals, m.watch
		return func() tea.Msg {
			shutdown(x, sub, ap, w)
			return quitReadyMsg{}
		}, true
	case key.Matches(k, m.keys.Help):
		m.help.ShowAll = !m.help.ShowAll
		m.resize()
		return nil, true
	case key.Matches(k, m.keys.Focus):
		m.focus = m.focus.next(1)
		m.resize()
		return nil, true
	case key.Matches(k, m.keys.FocusBack):
		m.focus = m.focus.next(-1)
		m.resize()
		return nil, true
	case key.Matches(k, m.keys.Zoom):
		m.zoom = k.String() == "+"
		m.resize()
		return nil, true
	case key.Matches(k, m.keys.Follow):
		m.toggleFollow()
		return nil, true
	case key.Matches(k, m.keys.Detail):
		return m.openDetail(), true
	case key.Matches(k, m.keys.FileDiff):
		if d := m.run.disk; d != nil && d.Flow != nil {
			m.openOverlay(newFlowDiff(m.theme, d.Name, m.run.state.Start.Source, string(d.Flow.Source)))
		} else {
			m.setStatus(errors.New("the open run's flow file is as the run recorded it (or no longer loads)"))
		}
		return nil, true
	}
	if m.opts.Engine == nil {
		return nil, false
	}
	if cmd, ok := m.runKey(k); ok {
		return cmd, true
	}
	return m.debugKey(k, m.selectedStep())
}

// runKey handles the keys that start, retry, resume, cancel and answer runs, and open the
// chat; ok is false for others.
func (m *Model) runKey(k tea.KeyPressMsg) (tea.Cmd, bool) {
	step := m.selectedStep()
	st := m.run.state
	switch {
	case key.Matches(k, m.keys.Chat):
		e, _ := m.sidebar.SelectedFlow()
		return m.openChat(e, ""), true
	case key.Matches(k, m.keys.Run):
		return m.runSelectedFlow(), true
	case key.Matches(k, m.keys.Retry):
		if step == nil || !(step.Status == engine.StatusFailed || step.Status == engine.StatusInterrupted || step.Status == engine.StatusSkipped) {
			m.setStatus(errors.New("select a failed, interrupted or skipped step to retry it"))
			return nil, true
		}
		return m.askRetry(step), true
	case key.Matches(k, m.keys.Resume):
		// Runs stopped by Ctrl-C, SIGTERM or a quit workbench wait for a person to go on;
		// the cut attempts run again under their keys.
		if st == nil || st.Status != engine.RunStatusInterrupted {
			m.setStatus(errors.New("open an interrupted run to resume it"))
			return nil, true
		}
		m.setInfo("resuming " + m.run.id)
		return executeRun(m.exec, m.opts.Engine, m.run.id), true
	case key.Matches(k, m.keys.Cancel):
		if !m.run.live() {
			m.setStatus(errors.New("no unfinished run is open"))
			return nil, true
		}
		return m.askConfirm(confirmCancel, "", fmt.Sprintf("cancel run %s of %s?", shortID(m.run.id), st.Start.FlowName), false), true
	case key.Matches(k, m.keys.Approve), key.Matches(k, m.keys.Reject):
		return m.decideKey(key.Matches(k, m.keys.Approve)), true
	}
	return nil, false
}

// runSelectedFlow starts the flow under the sidebar cursor, whichever pane has the keys
// (the form's title and the status bar name it), asking for its inputs first.
func (m *Model) runSelectedFlow() tea.Cmd {
	e, ok := m.sidebar.SelectedFlow()
	switch {
	case !ok && m.sidebar.SelectedRun() != "":
		m.setStatus(fmt.Errorf("the sidebar cursor is on run %s, not a flow: move it to the flow to run", shortID(m.sidebar.SelectedRun())))
		return nil
	case !ok:
		m.setStatus(errors.New("no flow selected: move the sidebar cursor to a flow to run it"))
		return nil
	case e.AgentDef != nil:
		m.setStatus(fmt.Errorf("%s is an agent: enter or C chats with it", e.Name))
		return nil
	case e.Flow == nil:
		m.setStatus(fmt.Errorf("%s cannot run: %s", e.Name, firstLine(e.Err)))
		return nil
	case e.Flow.Source == nil:
		m.setStatus(fmt.Errorf("%s has no source to run", e.Name))
		return nil
	}
	f := e.Flow
	if len(f.Inputs) > 0 {
		var prev map[string]any
		if m.run.state != nil && m.run.flow != nil && (f == m.run.flow || f.Path == m.run.flow.Path) {
			prev = m.run.state.Start.Inputs
		}
		m.openOverlay(newInputsForm(m.theme, f, prev))
		return nil
	}
	return startRun(m.exec, m.opts.Engine, f, map[string]any{}, m.run.takeBreaks(f))
}

func (m *Model) selectedStep() *engine.StepState { return m.run.step(m.dag.Selected()) }

func (m *Model) setStatus(err error) { m.status = statusLine{text: err.Error()} }
func (m *Model) setInfo(s string)    { m.status = statusLine{text: s, ok: true} }

// setDoing notes an action under way; when the run it advances stops, the note becomes done
// and how the run stands (execDoneMsg).
func (m *Model) setDoing(doing, done string) {
	m.status = statusLine{text: doing, ok: true, done: done}
}

func (m *Model) setTheme(t Theme) {
	m.theme = t
	m.sidebar.SetTheme(t)
	m.dag.SetTheme(t)
	m.trace.SetTheme(t)
	m.ask.SetTheme(t)
	m.confirm.SetTheme(t)
	m.overlays.setTheme(t)
	if m.chat != nil && !m.overlays.has(m.chat) {
		m.chat.SetTheme(t)
	}
}
