package ui

import (
	"time"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"tandem/engine"
)

// An overlay is a view drawn over the panes that takes the keys while it is on top: the
// step detail, the chat, the text editor, the forms and the run diff cover the body; the
// approval prompt and the confirmation line are bars under it. Overlays sit on one stack
// the app draws on top of the panes, so adding one is a new file with its overlay methods
// and the one line that opens it.
type overlay interface {
	// handle takes a key or a message the app does not handle itself; done closes the
	// overlay. env is the app's engine, store and open run, for the actions it starts.
	handle(msg tea.Msg, env overlayEnv) (cmd tea.Cmd, done bool)
	View() string
	SetSize(w, h int)
	SetTheme(t Theme)
	// help is its keys for the help bar.
	help() help.KeyMap
	// traits says how it sits on the screen and which keys it leaves the app.
	traits() overlayTraits
}

// overlayTraits say how an overlay sits on the screen and shares the keys.
type overlayTraits struct {
	bar    bool // a strip under the body (its View's height), not the whole body
	typing bool // it takes typed text: the app's letter keys stay quiet under it
	// allKeys: every key is its own, ctrl+c too (the chat stops a reply with it). Otherwise
	// ctrl+c quits, and an overlay that is not typing leaves the app its help and quit keys.
	allKeys bool
}

// overlayEnv is what an overlay may act with: the engine and store through the app's
// commands, and the open run, read-only.
type overlayEnv struct {
	exec  *executions
	eng   *engine.Engine
	store Store
	run   *openRun
	now   func() time.Time
	// status is the app's status line, which handle may set (it runs inside Update).
	status *statusLine
}

// statusLine is what the status bar says on its right: a note, or an error when !ok.
type statusLine struct {
	text string
	ok   bool
	// done replaces an action's "doing" note when the run it advanced stops ("retried e"):
	// a note never outlives what it says is happening.
	done string
}

func (e overlayEnv) info(s string) { *e.status = statusLine{text: s, ok: true} }

// runFollower is an overlay that shows part of the open run and is told when steps of it
// changed (the step detail).
type runFollower interface {
	runChanged(r *openRun, steps map[string]bool)
}

// overlayStack is the overlays open, the last on top. Its entries are pointers: an overlay
// is changed in place and the app's copies of the stack see the same overlays, which is
// safe because Bubble Tea runs Update and View on one goroutine.
type overlayStack struct{ items []overlay }

// push opens o on top.
func (s *overlayStack) push(o overlay) {
	s.remove(o)
	s.items = append(s.items, o)
}

// remove closes o wherever it is in the stack.
func (s *overlayStack) remove(o overlay) {
	kept := s.items[:0:0]
	for _, it := range s.items {
		if it != o {
			kept = append(kept, it)
		}
	}
	s.items = kept
}

// has reports whether o is open.
func (s overlayStack) has(o overlay) bool {
	for _, it := range s.items {
		if it == o {
			return true
		}
	}
	return false
}

// top returns the overlay on top, nil when none is open.
func (s overlayStack) top() overlay {
	if len(s.items) == 0 {
		return nil
	}
	return s.items[len(s.items)-1]
}

// body returns the top-most overlay that covers the body, nil when the panes show.
func (s overlayStack) body() overlay {
	for i := len(s.items) - 1; i >= 0; i-- {
		if !s.items[i].traits().bar {
			return s.items[i]
		}
	}
	return nil
}

// bars returns the open bars, bottom of the stack first, as they are drawn top to bottom.
func (s overlayStack) bars() []overlay {
	var out []overlay
	for _, it := range s.items {
		if it.traits().bar {
			out = append(out, it)
		}
	}
	return out
}

// keyOwner returns the overlay that gets key k, nil when the app and its panes get it:
// the top-most overlay that takes it. paneTyping says a pane reads text (a search).
func (s overlayStack) keyOwner(k tea.KeyPressMsg, app AppKeyMap, paneTyping bool) overlay {
	for i := len(s.items) - 1; i >= 0; i-- {
		o := s.items[i]
		if t, ok := o.(keyTaker); ok {
			below := paneTyping
			for _, u := range s.items[:i] {
				below = below || u.traits().typing
			}
			if t.takesKey(k, below) {
				return o
			}
			continue
		}
		tr := o.traits()
		switch {
		case tr.allKeys:
			return o
		case k.String() == "ctrl+c":
			return nil
		case tr.typing:
			return o
		case key.Matches(k, app.Quit, app.Help):
			return nil
		}
		return o
	}
	return nil
}

// keyTaker is an overlay that decides key by key whether it takes them (the approval
// prompt, which lets a view that takes text keep its keys until the person moves to it).
type keyTaker interface {
	takesKey(k tea.KeyPressMsg, typingBelow bool) bool
}

// runChanged tells the overlays that follow the open run which of its steps changed.
func (s overlayStack) runChanged(r *openRun, steps map[string]bool) {
	for _, it := range s.items {
		if f, ok := it.(runFollower); ok {
			f.runChanged(r, steps)
		}
	}
}

// setSize sizes the bars to width barW and the body overlays to w x h.
func (s overlayStack) setSize(barW, w, h int) {
	for _, it := range s.items {
		if it.traits().bar {
			it.SetSize(barW, 1)
		} else {
			it.SetSize(w, h)
		}
	}
}

// setTheme restyles every open overlay.
func (s overlayStack) setTheme(t Theme) {
	for _, it := range s.items {
		it.SetTheme(t)
	}
}
