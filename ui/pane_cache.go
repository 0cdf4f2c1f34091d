package ui

import (
	"strings"

	"github.com/charmbracelet/x/ansi"
)

// Bubble Tea calls View after every message, and most messages (a streamed token, a spinner
// tick) change one pane at most. Bordering a pane with lipgloss measures every line of it, so
// the app keeps each pane's bordered box and reuses it while what went into it is unchanged.

// paneKey is everything a pane's box is drawn from. Any change to it draws the box again, so
// nothing has to remember to invalidate the cache.
type paneKey struct {
	content string // the pane's own View
	w, h    int    // the box's outer size
	focused bool   // focused panes have an accent border
	dark    bool   // the theme: NewTheme builds exactly one per background
}

// paneBox is a pane's bordered box, split into lines that are each width cells wide.
type paneBox struct {
	key   paneKey
	lines []string
	width int
}

// paneCache holds the last box drawn for each pane, by its slot: the pane, or slotOverlay
// for the overlay over the body.
//
// The app keeps it behind a pointer, so copies of a Model share one cache. That is safe
// because Bubble Tea calls View from its event loop only; a caller rendering copies of a
// Model from several goroutines needs a cache per copy. A nil *paneCache caches nothing.
type paneCache struct {
	boxes [paneCount + 1]paneBox
	draws int // boxes drawn rather than reused, for tests
}

func newPaneCache() *paneCache { return &paneCache{} }

// box returns pane's box of content at size, bordered in the theme's focused or pane style,
// drawing it only when one of those differs from the last box drawn for pane.
func (c *paneCache) box(pane int, t Theme, content string, size [2]int, focused bool) paneBox {
	k := paneKey{content: content, w: size[0], h: size[1], focused: focused, dark: t.Dark}
	if c != nil && c.boxes[pane].lines != nil && c.boxes[pane].key == k {
		return c.boxes[pane]
	}
	st := t.Pane
	if focused {
		st = t.Focused
	}
	lines := strings.Split(st.Width(k.w).Height(k.h).MaxHeight(k.h).Render(content), "\n")
	// lipgloss pads every line of a bordered block to the width of its top border, so the
	// first line measures them all.
	b := paneBox{key: k, lines: lines, width: ansi.StringWidth(lines[0])}
	if c != nil {
		c.boxes[pane] = b
		c.draws++
	}
	return b
}
