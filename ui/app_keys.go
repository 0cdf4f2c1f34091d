package ui

import (
	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
)

// AppKeyMap are the workbench's own keys, on top of the focused pane's.
type AppKeyMap struct {
	Focus, FocusBack key.Binding
	Run, Retry       key.Binding
	Resume, Cancel   key.Binding
	Approve, Reject  key.Binding
	Detail, Chat     key.Binding
	Follow, Zoom     key.Binding
	Help, Quit       key.Binding

	// The debug controls.
	Pause, Step, Breakpoint key.Binding
	EditRetry, Skip, Fork   key.Binding
	Signal, Diff            key.Binding
	FileDiff                key.Binding // how the open run's flow file changed since it started
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
	Follow:    key.NewBinding(key.WithKeys("f"), key.WithHelp("f", "follow the work")),
	Zoom:      key.NewBinding(key.WithKeys("+", "-"), key.WithHelp("+/-", "zoom pane")),
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
	FileDiff:   key.NewBinding(key.WithKeys("V"), key.WithHelp("V", "file changes")),
}

// helpKeys joins the focused pane's keys with the workbench's for the help bar. An overlay
// shows its own keys, and quit where it leaves the app that key.
type helpKeys struct {
	pane  help.KeyMap
	app   AppKeyMap
	focus pane
	live  bool    // an unfinished run is open: its debug controls come first
	over  overlay // the overlay whose keys show, nil for the panes
}

// ownOnly reports whether the overlay's keys are all the bar shows: it takes text, or
// every key, or it is a bar.
func (h helpKeys) ownOnly() bool {
	t := h.over.traits()
	return t.typing || t.allKeys || t.bar
}

func (h helpKeys) ShortHelp() []key.Binding {
	if h.over != nil {
		if h.ownOnly() {
			return h.over.help().ShortHelp()
		}
		return append(h.over.help().ShortHelp(), h.app.Quit)
	}
	var b []key.Binding
	if h.live {
		b = append(b, h.app.Pause, h.app.Step, h.app.Breakpoint)
	}
	b = append(append(b, h.pane.ShortHelp()...), h.app.Focus, h.app.Run, h.app.Retry)
	switch h.focus {
	case paneSidebar:
		b = append(b, h.app.Chat)
	case paneDAG:
		b = append(b, h.app.Detail)
	}
	return append(b, h.app.Follow, h.app.Help, h.app.Quit)
}

func (h helpKeys) FullHelp() [][]key.Binding {
	if h.over != nil {
		if h.ownOnly() {
			return h.over.help().FullHelp()
		}
		return append(h.over.help().FullHelp(), []key.Binding{h.app.Help, h.app.Quit})
	}
	return append(h.pane.FullHelp(),
		[]key.Binding{h.app.Focus, h.app.FocusBack, h.app.Zoom, h.app.Follow, h.app.Help, h.app.Quit},
		[]key.Binding{h.app.Run, h.app.Retry, h.app.Resume, h.app.Cancel, h.app.Approve, h.app.Reject},
		[]key.Binding{h.app.Detail, h.app.Chat, h.app.Diff, h.app.FileDiff},
		[]key.Binding{h.app.Pause, h.app.Step, h.app.Breakpoint, h.app.Signal},
		[]key.Binding{h.app.EditRetry, h.app.Skip, h.app.Fork})
}

// paneFirst are app keys a pane takes first while it has the focus: in the trace, ! jumps to
// the next problem (as debuggers' "next error"); elsewhere it sends an event to the run.
var paneFirst = map[pane]map[string]bool{paneTrace: {"!": true}}
