package ui

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"tandem/engine"
	"tandem/flows"
)

// Options configure the workbench.
type Options struct {
	Engine *engine.Engine // advances runs started, retried or answered here
	Store  Store          // lists runs and reads their logs
	Dir    string         // the workspace: its *.yaml files are listed as flows
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
}

// focus names the pane that gets the keys.
type focus int

const (
	focusSidebar focus = iota
	focusDAG
	focusTrace
	focusDetail // the step detail, over the panes
	focusChat   // the chat, over the panes
	focusEditor // the text editor of a retry's input or a skip's output, over the panes
	focusForm   // a flow's inputs or a signal, over the panes
	focusDiff   // the comparison of two runs, over the panes
	focusCount  // not a pane: how many there are
)

// AppKeyMap are the workbench's own keys, on top of the focused pane's.
type AppKeyMap struct {
	Focus, FocusBack key.Binding
	Run, Retry       key.Binding
	Resume, Cancel   key.Binding
	Approve, Reject  key.Binding
	Detail, Chat     key.Binding
	Help, Quit       key.Binding

	// The debug controls.
	Pause, Step, Breakpoint key.Binding
	EditRetry, Skip, Fork   key.Binding
	Signal, Diff            key.Binding
}

// DefaultAppKeyMap is the workbench's default keymap.
var DefaultAppKeyMap = AppKeyMap{
	Focus:     key.NewBinding(key.WithKeys("tab"), key.WithHelp("tab", "next pane")),
	FocusBack: key.NewBinding(key.WithKeys("shift+tab"), key.WithHelp("shift+tab", "previous pane")),
	Run:       key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "run flow")),
	Retry:     key.NewBinding(key.WithKeys("R"), key.WithHelp("R", "retry step")),
	Resume:    key.NewBinding(key.WithKeys("u"), key.WithHelp("u", "resume run")),
	Cancel:    key.NewBinding(key.WithKeys("c"), key.WithHelp("c", "cancel run")),
	Approve:   key.NewBinding(key.WithKeys("a"), key.WithHelp("a", "approve")),
	Reject:    key.NewBinding(key.WithKeys("x"), key.WithHelp("x", "reject")),
	Detail:    key.NewBinding(key.WithKeys("d"), key.WithHelp("d", "step detail")),
	Chat:      key.NewBinding(key.WithKeys("C"), key.WithHelp("C", "chat with agent")),
	Help:      key.NewBinding(key.WithKeys("?"), key.WithHelp("?", "more keys")),
	Quit:      key.NewBinding(key.WithKeys("q", "ctrl+c"), key.WithHelp("q", "quit")),

	Pause:      key.NewBinding(key.WithKeys("p"), key.WithHelp("p", "pause/continue")),
	Step:       key.NewBinding(key.WithKeys("s"), key.WithHelp("s", "step once")),
	Breakpoint: key.NewBinding(key.WithKeys("B"), key.WithHelp("B", "breakpoint")),
	EditRetry:  key.NewBinding(key.WithKeys("e"), key.WithHelp("e", "edit input, retry")),
	Skip:       key.NewBinding(key.WithKeys("S"), key.WithHelp("S", "skip with output")),
	Fork:       key.NewBinding(key.WithKeys("F"), key.WithHelp("F", "fork from step")),
	Signal:     key.NewBinding(key.WithKeys("!"), key.WithHelp("!", "send event")),
	Diff:       key.NewBinding(key.WithKeys("D"), key.WithHelp("D", "compare runs")),
}

// helpKeys joins the focused pane's keys with the workbench's for the help bar. An overlay
// shows its own keys, and quit where it lets the app have it.
type helpKeys struct {
	pane   help.KeyMap
	app    AppKeyMap
	focus  focus
	live   bool // an unfinished run is open: its debug controls come first
	asking bool // the approval prompt has the keys: pane holds its keys
}

func (h helpKeys) ShortHelp() []key.Binding {
	if h.asking {
		return h.pane.ShortHelp()
	}
	switch h.focus {
	case focusChat, focusEditor, focusForm:
		return h.pane.ShortHelp()
	case focusDetail, focusDiff:
		return append(h.pane.ShortHelp(), h.app.Quit)
	}
	var b []key.Binding
	if h.live {
		b = append(b, h.app.Pause, h.app.Step, h.app.Breakpoint)
	}
	b = append(append(b, h.pane.ShortHelp()...), h.app.Focus, h.app.Run, h.app.Retry)
	switch h.focus {
	case focusSidebar:
		b = append(b, h.app.Chat)
	case focusDAG:
		b = append(b, h.app.Detail)
	}
	return append(b, h.app.Help, h.app.Quit)
}

func (h helpKeys) FullHelp() [][]key.Binding {
	if h.asking {
		return h.pane.FullHelp()
	}
	switch h.focus {
	case focusChat, focusEditor, focusForm:
		return h.pane.FullHelp()
	case focusDetail, focusDiff:
		return append(h.pane.FullHelp(), []key.Binding{h.app.Help, h.app.Quit})
	}
	return append(h.pane.FullHelp(),
		[]key.Binding{h.app.Focus, h.app.FocusBack, h.app.Help, h.app.Quit},
		[]key.Binding{h.app.Run, h.app.Retry, h.app.Resume, h.app.Cancel, h.app.Approve, h.app.Reject},
		[]key.Binding{h.app.Detail, h.app.Chat, h.app.Diff},
		[]key.Binding{h.app.Pause, h.app.Step, h.app.Breakpoint, h.app.Signal},
		[]key.Binding{h.app.EditRetry, h.app.Skip, h.app.Fork})
}

// Model is the workbench: it routes messages to the sidebar, the DAG and the trace, lays
// them out, and turns keys into engine commands. Its children never see the engine.
type Model struct {
	opts  Options
	keys  AppKeyMap
	theme Theme

	sidebar RunsListModel
	dag     DAGModel
	trace   TraceModel
	detail  StepDetailModel
	chat    ChatModel
	editor  TextEditorModel
	form    FormModel
	diff    RunDiffModel
	ask     ApprovalPromptModel // under the body, with the keys, while a tool call waits for an answer
	confirm ConfirmModel        // above the status bar, with the keys, while a key that changes a run asks
	help    help.Model
	focus   focus
	back    focus // the pane to return to when an overlay closes

	// formFlow is the flow a run-inputs form starts; formRun the run a signal form signals
	// or a fork form forks, at formStep, from the fields formFields as they were prefilled.
	formFlow   *flows.Flow
	formRun    string
	formStep   string
	formFields []FormField

	// breaks are the breakpoints set with B on the DAG of the flow at path breaksFor before
	// it has a run; r starts it with them.
	breaks    map[string]bool
	breaksFor string

	// chatStop stops the chat's reply on its way when closed (ctrl+c in the chat).
	chatStop    chan struct{}
	chatStopped bool

	sub  *engine.Subscription
	exec *executions
	tail engine.Tail

	runID string
	flow  *flows.Flow
	state *engine.State
	runs  []engine.RunInfo
	// loadingMore is set while a next page of runs is being read, so one is read at a time.
	loadingMore bool
	tailSeq     int64 // the log position polled so far; 0 until the first run listing
	tailSet     bool

	// boxes keeps the panes' bordered boxes between frames. Copies of the model share it,
	// which is safe because Bubble Tea calls View from one goroutine (see paneCache).
	boxes *paneCache

	server serverState

	w, h     int
	now      time.Time
	status   string
	statusOK bool
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
	m := Model{opts: o, keys: DefaultAppKeyMap, theme: t,
		sidebar: NewRunsList(t), dag: NewDAG(t), trace: NewTrace(t), detail: NewStepDetail(t), ask: NewApprovalPrompt(t), confirm: NewConfirm(t), help: help.New(),
		exec: newExecutions(), boxes: newPaneCache(), now: o.Now()}
	if o.Engine != nil {
		m.sub = o.Engine.Bus().Subscribe("")
	}
	if tl, ok := o.Store.(engine.Tail); ok {
		m.tail = tl
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
	cmds = append(cmds, m.waitApprovals(), checkServer(m.opts.Server))
	return tea.Batch(cmds...)
}

// Shutdown cancels the runs this process advances and waits until they have recorded how
// they stopped. Call it on the final model after the program returns; it is idempotent.
func (m Model) Shutdown() { shutdown(m.exec, m.sub, m.opts.Approvals) }

// shutdown stops following the bus, cancels the executions, denies the tool calls still
// waiting for an answer (their agents would otherwise wait for no one) and waits for the
// executions to record how they stopped. Cancelling first makes a run stopped while asking
// end interrupted rather than carry on with the refusal.
func shutdown(x *executions, sub *engine.Subscription, ap *Approvals) {
	if sub != nil {
		sub.Close()
	}
	x.cancel()
	ap.Close()
	x.shutdown()
}

// Update routes a message: engine and store results to the app, keys to the focused pane
// unless they are the app's own.
func (m Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	if cmd, ok := m.overlayMsg(msg); ok {
		return m, cmd
	}
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.w, m.h = msg.Width, msg.Height
		m.resize()
		return m, nil
	case tea.BackgroundColorMsg:
		m.setTheme(NewTheme(msg.IsDark()))
		return m, nil
	case tea.KeyPressMsg:
		return m.key(msg)
	case frameTickMsg:
		m.now = msg.now
		m.dag, _ = m.dag.Update(FrameMsg{Now: msg.now})
		if m.chatOpened() {
			m.chat.SetNow(msg.now)
		}
		if m.quitting {
			return m, nil
		}
		return m, m.frameTick()
	case serverMsg:
		m.serverMsgUpdate(msg)
		if msg.err != nil {
			m.setStatus(msg.err)
		}
		return m, nil
	case noticesMsg:
		var refresh, detail bool
		var check tea.Cmd
		for _, n := range msg.notices {
			if n.Delta != nil {
				m.trace.AppendDelta(*n.Delta)
			}
			if n.Event != nil {
				refresh = m.apply(*n.Event) || refresh
				if check == nil {
					check = m.recheckServer(*n.Event)
				}
				// Tokens alone leave the detail as it is: re-wrapping a long output per batch
				// would stall the loop.
				detail = detail || (n.Event.RunID == m.runID && n.Event.StepID == m.detail.Step())
			}
		}
		m.dag.SetState(m.dagState(), m.now)
		if detail {
			m.refreshDetail()
		}
		m.chat.AppendNotices(msg.notices)
		cmds := []tea.Cmd{m.waitNotices(), check}
		if refresh && m.opts.Store != nil {
			cmds = append(cmds, loadRuns(m.opts.Store, len(m.runs)))
		}
		return m, tea.Batch(cmds...)
	case pollTickMsg:
		if m.quitting || !m.tailSet {
			return m, m.pollTick()
		}
		return m, tailLog(m.tail, m.tailSeq)
	case tailMsg:
		if msg.err != nil {
			m.setStatus(msg.err)
			return m, m.pollTick()
		}
		var refresh bool
		for _, e := range msg.events {
			m.tailSeq = max(m.tailSeq, e.Seq)
			refresh = m.apply(e) || refresh
		}
		if len(msg.events) > 0 {
			m.dag.SetState(m.dagState(), m.now)
			m.refreshDetail()
		}
		cmds := []tea.Cmd{m.pollTick()}
		if refresh && m.opts.Store != nil {
			cmds = append(cmds, loadRuns(m.opts.Store, len(m.runs)))
		}
		return m, tea.Batch(cmds...)
	case runsMsg:
		if msg.err != nil {
			m.setStatus(msg.err)
			return m, nil
		}
		if msg.after {
			m.loadingMore = false
			msg.runs = appendNewRuns(m.runs, msg.runs)
		}
		m.runs = msg.runs
		m.sidebar.SetMore(msg.more)
		if !m.tailSet {
			for _, r := range msg.runs {
				m.tailSeq = max(m.tailSeq, r.LastSeq)
			}
			m.tailSet = true
		}
		m.sidebar.SetRuns(msg.runs, m.now)
		return m, nil
	case MoreRunsMsg:
		if m.opts.Store == nil || m.loadingMore || len(m.runs) == 0 {
			return m, nil
		}
		m.loadingMore = true
		return m, loadMoreRuns(m.opts.Store, m.runs[len(m.runs)-1].Cursor())
	case FlowsLoadedMsg:
		m.sidebar, _ = m.sidebar.Update(msg)
		if e, ok := m.sidebar.SelectedFlow(); ok { // preview what the cursor starts on
			m.preview(e)
		}
		return m, nil
	case FlowSelectedMsg:
		m.preview(msg.Entry)
		return m, nil
	case RunSelectedMsg:
		if m.opts.Store == nil {
			return m, nil
		}
		return m, loadRun(m.opts.Store, msg.RunID)
	case runLoadedMsg:
		if msg.err != nil {
			m.setStatus(msg.err)
			return m, nil
		}
		m.openRun(msg)
		return m, nil
	case StepSelectedMsg:
		m.trace.Show(msg.StepID)
		return m, nil
	case runStartedMsg:
		if msg.err != nil {
			m.setStatus(msg.err)
			return m, nil
		}
		if msg.note == "" {
			msg.note = "started run " + msg.runID
		}
		m.setInfo(msg.note)
		return m, tea.Batch(loadRun(m.opts.Store, msg.runID), executeRun(m.exec, m.opts.Engine, msg.runID),
			loadRuns(m.opts.Store, len(m.runs)))
	case execDoneMsg:
		switch {
		case errors.Is(msg.err, engine.ErrLeased):
			m.setInfo("run " + msg.runID + " is advanced by another process, which applies it")
		case msg.err != nil && !errors.Is(msg.err, engine.ErrRunFinished):
			m.setStatus(msg.err)
		}
		return m, nil
	case infoMsg:
		if msg.err != nil {
			m.setStatus(msg.err)
		} else if msg.text != "" {
			m.setInfo(msg.text)
		}
		return m, nil
	case copiedMsg:
		m.setInfo(fmt.Sprintf("copied %d bytes", len(msg.text)))
		return m, nil
	case quitReadyMsg:
		return m, tea.Quit
	}
	return m, nil
}

// apply folds an event into the open run (skipping what it has already seen) and reports
// whether the runs list should be reloaded.
func (m *Model) apply(e engine.Event) bool {
	if m.state != nil && e.RunID == m.runID && e.Seq > m.state.LastSeq {
		m.state.Apply(e)
		m.trace.AppendEvent(e)
	}
	switch e.Type {
	case engine.RunStarted, engine.RunResumed, engine.RunWaiting, engine.RunSucceeded, engine.RunFailed,
		engine.RunCancelled, engine.RunInterrupted, engine.StepRetryRequested,
		engine.RunPaused, engine.ContinueRequested, engine.StepOnceRequested:
		return true
	}
	return false
}

func (m *Model) openRun(msg runLoadedMsg) {
	m.runID, m.flow = msg.runID, msg.flow
	m.state = engine.Fold(msg.events)
	m.trace.SetRun(msg.runID)
	m.trace.Reset()
	for _, e := range msg.events {
		m.trace.AppendEvent(e)
	}
	m.dag.SetRun(msg.runID, msg.flow, m.state, m.now)
	m.trace.Show(m.dag.Selected())
	if m.focus == focusSidebar {
		m.focus = focusDAG
	}
}

func (m *Model) key(k tea.KeyPressMsg) (tea.Model, tea.Cmd) {
	var cmd tea.Cmd
	if m.confirm.Asking() { // a key that changes a run waits for its answer
		m.confirm, cmd = m.confirm.Update(k)
		return *m, cmd
	}
	// A view taking text keeps its keys while a tool call waits for an answer: the person
	// moves to the prompt first, so a "y" typed in a message never allows a command.
	capturing := (m.focus == focusSidebar && m.sidebar.Capturing()) || (m.focus == focusTrace && m.trace.Capturing()) ||
		(m.focus == focusDAG && m.dag.Capturing())
	typing := m.focus == focusChat || m.focus == focusEditor || m.focus == focusForm || capturing
	toPrompt := !typing || m.ask.Focused() || key.Matches(k, m.ask.Keys.Focus)
	switch {
	case m.ask.Asking() && toPrompt && k.String() != "ctrl+c": // ctrl+c still stops a reply or quits
		m.ask, cmd = m.ask.Update(k)
		m.resize() // an answer shows the next request or gives the panes their room back
		return *m, cmd
	case m.focus == focusChat: // every key, ctrl+c too: it stops the reply, not the program
		m.chat, cmd = m.chat.Update(k)
		return *m, cmd
	case (m.focus == focusEditor || m.focus == focusForm) && k.String() != "ctrl+c": // they take text
		cmd = m.updateOverlay(k)
		if m.focus == focusForm && m.form.Purpose() == FormFork && m.state != nil && m.formFlow != nil {
			m.form.SetNote(forkPlan(m.formFlow, m.state, m.formStep, forkChanges(m.formFields, m.form.Values())))
		}
		return *m, cmd
	case (m.focus == focusDetail || m.focus == focusDiff) && !key.Matches(k, m.keys.Quit, m.keys.Help):
		return *m, m.updateOverlay(k)
	}
	if !capturing || k.String() == "ctrl+c" {
		if cmd, ok := m.appKey(k); ok {
			return *m, cmd
		}
	}
	switch m.focus {
	case focusSidebar:
		m.sidebar, cmd = m.sidebar.Update(k)
	case focusDAG:
		m.dag, cmd = m.dag.Update(k)
	case focusTrace:
		m.trace, cmd = m.trace.Update(k)
	}
	return *m, cmd
}

// appKey handles the workbench's own keys; ok is false for keys the focused pane gets.
func (m *Model) appKey(k tea.KeyPressMsg) (tea.Cmd, bool) {
	switch {
	case key.Matches(k, m.keys.Quit):
		if m.quitting {
			return nil, true
		}
		m.quitting = true
		m.setInfo("stopping: recording running steps as interrupted…")
		x, sub, ap := m.exec, m.sub, m.opts.Approvals
		return func() tea.Msg {
			shutdown(x, sub, ap)
			return quitReadyMsg{}
		}, true
	case key.Matches(k, m.keys.Focus):
		m.focus = (m.focus + 1) % 3
		return nil, true
	case key.Matches(k, m.keys.FocusBack):
		m.focus = (m.focus + 2) % 3
		return nil, true
	case key.Matches(k, m.keys.Help):
		m.help.ShowAll = !m.help.ShowAll
		m.resize()
		return nil, true
	case key.Matches(k, m.keys.Detail):
		return m.openDetail(), true
	}
	if m.opts.Engine == nil {
		return nil, false
	}
	step := m.selectedStep()
	switch {
	case key.Matches(k, m.keys.Chat):
		e, _ := m.sidebar.SelectedFlow()
		return m.openChat(e), true
	case key.Matches(k, m.keys.Run):
		// The flow under the sidebar cursor, whichever pane has the keys: the form's title
		// and the status bar name it.
		e, ok := m.sidebar.SelectedFlow()
		switch {
		case !ok && m.sidebar.SelectedRun() != "":
			m.setStatus(fmt.Errorf("the sidebar cursor is on run %s, not a flow: move it to the flow to run", shortID(m.sidebar.SelectedRun())))
			return nil, true
		case !ok:
			m.setStatus(errors.New("no flow selected: move the sidebar cursor to a flow to run it"))
			return nil, true
		case e.AgentDef != nil:
			m.setStatus(fmt.Errorf("%s is an agent: enter or C chats with it", e.Name))
			return nil, true
		case e.Flow == nil:
			m.setStatus(fmt.Errorf("%s cannot run: %s", e.Name, firstLine(e.Err)))
			return nil, true
		}
		f := e.Flow
		if f.Source == nil {
			m.setStatus(fmt.Errorf("%s has no source to run", e.Name))
			return nil, true
		}
		if len(f.Inputs) > 0 {
			return m.openInputsForm(f), true
		}
		return startRun(m.exec, m.opts.Engine, f, map[string]any{}, m.takeBreaks(f)), true
	case key.Matches(k, m.keys.Retry):
		if step == nil || !(step.Status == engine.StatusFailed || step.Status == engine.StatusInterrupted || step.Status == engine.StatusSkipped) {
			m.setStatus(errors.New("select a failed, interrupted or skipped step to retry it"))
			return nil, true
		}
		return m.askConfirm(confirmRetry, step.ID, fmt.Sprintf("retry %s of run %s?", step.ID, shortID(m.runID)), false), true
	case key.Matches(k, m.keys.Resume):
		// Runs stopped by Ctrl-C, SIGTERM or a quit workbench wait for a person to go on;
		// the cut attempts run again under their keys.
		if m.state == nil || m.state.Status != engine.RunStatusInterrupted {
			m.setStatus(errors.New("open an interrupted run to resume it"))
			return nil, true
		}
		m.setInfo("resuming " + m.runID)
		return executeRun(m.exec, m.opts.Engine, m.runID), true
	case key.Matches(k, m.keys.Cancel):
		if m.state == nil || m.state.Status.Terminal() {
			m.setStatus(errors.New("no unfinished run is open"))
			return nil, true
		}
		return m.askConfirm(confirmCancel, "", fmt.Sprintf("cancel run %s of %s?", shortID(m.runID), m.state.Start.FlowName), false), true
	case key.Matches(k, m.keys.Approve), key.Matches(k, m.keys.Reject):
		return m.decideKey(key.Matches(k, m.keys.Approve)), true
	}
	return m.debugKey(k, step)
}

func (m *Model) selectedStep() *engine.StepState {
	if m.state == nil {
		return nil
	}
	return m.state.Steps[m.dag.Selected()]
}

func (m *Model) setStatus(err error) { m.status, m.statusOK = err.Error(), false }
func (m *Model) setInfo(s string)    { m.status, m.statusOK = s, true }

func (m *Model) setTheme(t Theme) {
	m.theme = t
	m.sidebar.SetTheme(t)
	m.dag.SetTheme(t)
	m.trace.SetTheme(t)
	m.detail.SetTheme(t)
	m.ask.SetTheme(t)
	m.confirm.SetTheme(t)
	switch m.focus { // the others are made anew, in the theme of the day, when they open
	case focusEditor:
		m.editor.SetTheme(t)
	case focusForm:
		m.form.SetTheme(t)
	case focusDiff:
		m.diff.SetTheme(t)
	}
	if m.chatOpened() {
		m.chat.SetTheme(t)
	}
}

// Layout: side by side at 100 columns and more, stacked below, and only the focused pane
// when the terminal is too short to stack three.
const (
	wideAt   = 100
	stackMin = 18
)

// panes returns the outer sizes of the sidebar, DAG and trace panes.
func (m *Model) panes() (side, dag, trace [2]int, wide bool) {
	bodyH := m.bodyHeight()
	if m.w >= wideAt {
		sw := min(36, m.w/5)
		dw := (m.w - sw) * 55 / 100
		return [2]int{sw, bodyH}, [2]int{dw, bodyH}, [2]int{m.w - sw - dw, bodyH}, true
	}
	if bodyH < stackMin {
		full := [2]int{m.w, bodyH}
		return full, full, full, false
	}
	sh := max(bodyH/4, 3)
	dh := max((bodyH-sh)/2, 3)
	return [2]int{m.w, sh}, [2]int{m.w, dh}, [2]int{m.w, max(bodyH-sh-dh, 3)}, false
}

func (m *Model) helpHeight() int {
	if !m.help.ShowAll {
		return 1
	}
	return lipgloss.Height(m.help.View(m.helpKeys()))
}

func (m *Model) resize() {
	m.help.SetWidth(m.w)
	m.ask.SetWidth(m.w - 2)
	m.confirm.SetWidth(m.w)
	s, d, t, _ := m.panes()
	m.sidebar.SetSize(s[0]-2, s[1]-2)
	m.dag.SetSize(d[0]-2, d[1]-2)
	m.trace.SetSize(t[0]-2, t[1]-2)
	full := m.overlaySize()
	m.detail.SetSize(full[0]-2, full[1]-2)
	switch m.focus { // sized when open: they are made anew each time
	case focusEditor:
		m.editor.SetSize(full[0]-2, full[1]-2)
	case focusForm:
		m.form.SetSize(full[0]-2, full[1]-2)
	case focusDiff:
		m.diff.SetSize(full[0]-2, full[1]-2)
	}
	if m.chatOpened() {
		m.chat.SetSize(full[0]-2, full[1]-2)
	}
}

// overlaySize is the outer size of the step detail and the chat: the whole body.
func (m *Model) overlaySize() [2]int { return [2]int{m.w, m.bodyHeight()} }

// bodyHeight is the height of the panes or the overlay: the terminal less the status and
// help bars and the approval prompt.
func (m *Model) bodyHeight() int {
	return max(m.h-1-m.helpHeight()-m.askHeight()-m.confirmHeight(), 3)
}

func (m Model) helpKeys() helpKeys {
	var pane help.KeyMap
	switch m.focus {
	case focusSidebar:
		pane = m.sidebar.Keys
	case focusDAG:
		pane = m.dag.Keys
	case focusDetail:
		pane = m.detail.Keys
	case focusChat:
		pane = m.chat.Keys
	case focusEditor:
		pane = m.editor.Keys
	case focusForm:
		pane = m.form.Keys
	case focusDiff:
		pane = m.diff.Keys
	default:
		pane = m.trace.Keys
	}
	app := m.keys
	live := m.state != nil && !m.state.Status.Terminal()
	if live { // p says what it does to the open run
		if held(m.state) {
			app.Pause.SetHelp(app.Pause.Help().Key, "continue")
		} else {
			app.Pause.SetHelp(app.Pause.Help().Key, "pause")
		}
	}
	if m.confirm.Asking() {
		return helpKeys{pane: m.confirm.Keys, app: app, focus: m.focus, asking: true}
	}
	if m.ask.Asking() {
		return helpKeys{pane: m.ask.Keys, app: app, focus: m.focus, asking: true}
	}
	return helpKeys{pane: pane, app: app, focus: m.focus, live: live}
}

// View lays the panes out with the status and help bars.
func (m Model) View() tea.View {
	v := tea.NewView(m.render())
	v.AltScreen = true
	v.WindowTitle = "tandem"
	return v
}

// render draws the frame: the panes' boxes (reused from m.boxes while unchanged), then the
// status and help bars, every line exactly m.w cells wide and at most m.h lines.
func (m Model) render() string {
	if m.w == 0 || m.h == 0 {
		return "loading…"
	}
	s, d, t, wide := m.panes()
	box := func(f focus, size [2]int, content string) paneBox {
		return m.boxes.box(f, m.theme, content, size, m.focus == f)
	}
	sc := newScreen(m.w, m.h)
	switch {
	case m.focus == focusDetail:
		sc.row(box(focusDetail, m.overlaySize(), m.detail.View()))
	case m.focus == focusChat:
		sc.row(box(focusChat, m.overlaySize(), m.chat.View()))
	case m.focus == focusEditor:
		sc.row(box(focusEditor, m.overlaySize(), m.editor.View()))
	case m.focus == focusForm:
		sc.row(box(focusForm, m.overlaySize(), m.form.View()))
	case m.focus == focusDiff:
		sc.row(box(focusDiff, m.overlaySize(), m.diff.View()))
	case wide:
		sc.row(box(focusSidebar, s, m.sidebar.View()), box(focusDAG, d, m.dag.View()), box(focusTrace, t, m.trace.View()))
	case s == d: // too short to stack: the focused pane alone
		switch m.focus {
		case focusSidebar:
			sc.row(box(focusSidebar, s, m.sidebar.View()))
		case focusDAG:
			sc.row(box(focusDAG, d, m.dag.View()))
		default:
			sc.row(box(focusTrace, t, m.trace.View()))
		}
	default:
		sc.row(box(focusSidebar, s, m.sidebar.View()))
		sc.row(box(focusDAG, d, m.dag.View()))
		sc.row(box(focusTrace, t, m.trace.View()))
	}
	if m.ask.Asking() {
		sc.bar(m.askBox())
	}
	if m.confirm.Asking() {
		sc.bar(m.confirm.View())
	}
	sc.bar(m.statusBar())
	sc.bar(m.help.View(m.helpKeys()))
	return sc.String()
}

func (m Model) statusBar() string {
	var left string
	if m.state != nil {
		st := m.state
		end := m.now
		if !st.EndedAt.IsZero() {
			end = st.EndedAt
		}
		hold := holdStatus(st)
		switch w := waitingOn(st); {
		case w == "":
		case st.Status == engine.RunStatusWaiting:
			hold += " " + w
		default:
			hold += " · waiting " + w
		}
		left = fmt.Sprintf(" %s %s  %s  %s  %s  tokens %d/%d ", statusIcon(string(st.Status), 0), st.Start.FlowName,
			shortID(st.ID), hold, formatDuration(end.Sub(st.StartedAt)), st.Tokens.Prompt, st.Tokens.Output)
	} else if m.flow != nil {
		left = " " + m.flow.Name + "  (not run; r runs it) "
	} else {
		left = " no run open "
	}
	right := m.status
	if right != "" {
		right = " " + firstLine(right) + " "
	}
	right = m.serverBadge() + right // first, so a long note is cut before it
	room := m.w - ansi.StringWidth(left)
	right = fitText(right, max(room, 0))
	gap := strings.Repeat(" ", max(0, room-ansi.StringWidth(right)))
	rs := m.theme.Status
	if !m.statusOK && right != "" {
		rs = rs.Foreground(m.theme.Error.GetForeground())
	}
	return m.theme.Status.Render(fitText(left, m.w)) + m.theme.Status.Render(gap) + rs.Render(right)
}

func firstLine(s string) string {
	first, _, _ := strings.Cut(s, "\n")
	return first
}
