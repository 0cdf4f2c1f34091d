package ui

import (
	"strings"

	"github.com/charmbracelet/x/ansi"
)

// Final answers are markdown. Rendering costs a parse and a layout, so it happens once per
// answer, text and width: when the answer is complete, and again only when the pane's width
// or background changes. The renderer is our own (markdown_render.go) on goldmark's parser:
// glamour's syntax highlighter alone took most of every command's start-up.

// markdownKey is everything an answer's rows are drawn from.
type markdownKey struct {
	text  string
	width int
	dark  bool
}

// markdownCache keeps rendered answers by markdownKey and the styles by background. Like
// paneCache it is shared by copies of a model and used from Bubble Tea's event loop only.
type markdownCache struct {
	themes [2]*mdTheme // light (0) and dark (1), built when first used
	rows   map[markdownKey][]string
}

// maxMarkdownEntries bounds the rendered answers kept; a run has a handful of answers, and a
// resize renders each again at the new width.
const maxMarkdownEntries = 64

func newMarkdownCache() *markdownCache {
	return &markdownCache{rows: map[markdownKey][]string{}}
}

// render returns text rendered as markdown in rows exactly width cells wide, styled for a
// dark or light background. The text is data: escape sequences and control characters in
// it never reach the rows, however they are written (raw, or as character references).
func (c *markdownCache) render(text string, width int, dark bool) []string {
	width = max(width, 1)
	k := markdownKey{text: text, width: width, dark: dark}
	if rows, ok := c.rows[k]; ok {
		return rows
	}
	rows := renderMarkdown(text, width, c.theme(dark))
	for len(rows) > 0 && strings.TrimSpace(ansi.Strip(rows[0])) == "" {
		rows = rows[1:]
	}
	for len(rows) > 0 && strings.TrimSpace(ansi.Strip(rows[len(rows)-1])) == "" {
		rows = rows[:len(rows)-1]
	}
	// Every row is exactly width cells: the renderer keeps within it, truncating is a guard.
	for i, r := range rows {
		n := ansi.StringWidth(r)
		if n > width {
			r = ansi.Truncate(r, width, "")
			n = ansi.StringWidth(r) // a wide character that does not fit is dropped whole
		}
		rows[i] = r + strings.Repeat(" ", width-n)
	}
	if len(c.rows) >= maxMarkdownEntries {
		clear(c.rows)
	}
	c.rows[k] = rows
	return rows
}

func (c *markdownCache) theme(dark bool) *mdTheme {
	i := 0
	if dark {
		i = 1
	}
	if c.themes[i] == nil {
		c.themes[i] = newMDTheme(dark)
	}
	return c.themes[i]
}
