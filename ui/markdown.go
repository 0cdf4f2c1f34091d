package ui

import (
	"regexp"
	"strings"

	"charm.land/glamour/v2"
	"charm.land/glamour/v2/styles"
	"github.com/charmbracelet/x/ansi"
)

// Final answers are markdown. Rendering it with glamour costs milliseconds, so it happens once
// per answer, text and width: when the answer is complete, and again only when the pane's
// width or background changes.

// markdownKey is everything an answer's rows are drawn from.
type markdownKey struct {
	text  string
	width int
	dark  bool
}

// markdownCache keeps glamour renderers by width and background, and rendered answers by
// markdownKey. Like paneCache it is shared by copies of a model and used from Bubble Tea's
// event loop only.
type markdownCache struct {
	renderers map[[2]int]*glamour.TermRenderer // by width and dark (1) or light (0)
	rows      map[markdownKey][]string
}

// maxMarkdownEntries bounds the rendered answers kept; a run has a handful of answers, and a
// resize renders each again at the new width.
const maxMarkdownEntries = 64

// emptySGR is a style set and reset around nothing, which truncating glamour's padding leaves.
var emptySGR = regexp.MustCompile(`\x1b\[[0-9;]*m\x1b\[m`)

func newMarkdownCache() *markdownCache {
	return &markdownCache{renderers: map[[2]int]*glamour.TermRenderer{}, rows: map[markdownKey][]string{}}
}

// render returns text rendered as markdown in rows exactly width cells wide, styled for a
// dark or light background. If glamour fails, the rows are the text itself, wrapped.
func (c *markdownCache) render(text string, width int, dark bool) []string {
	width = max(width, 1)
	k := markdownKey{text: text, width: width, dark: dark}
	if rows, ok := c.rows[k]; ok {
		return rows
	}
	out, ok := "", false
	if r := c.renderer(width, dark); r != nil {
		s, err := r.Render(text)
		out, ok = s, err == nil
	}
	if !ok {
		out = ansi.Hardwrap(text, width, true)
	}
	rows := strings.Split(strings.TrimRight(out, "\n"), "\n")
	// glamour pads blocks with blank rows; the answer's header already separates it.
	for len(rows) > 0 && strings.TrimSpace(ansi.Strip(rows[0])) == "" {
		rows = rows[1:]
	}
	for len(rows) > 0 && strings.TrimSpace(ansi.Strip(rows[len(rows)-1])) == "" {
		rows = rows[:len(rows)-1]
	}
	// glamour pads rows with one styled space per cell; plain spaces draw the same for less.
	for i, r := range rows {
		n := min(ansi.StringWidth(strings.TrimRight(ansi.Strip(r), " ")), width)
		r = emptySGR.ReplaceAllString(ansi.Truncate(r, n, ""), "")
		rows[i] = r + strings.Repeat(" ", width-n)
	}
	if len(c.rows) >= maxMarkdownEntries {
		clear(c.rows)
	}
	c.rows[k] = rows
	return rows
}

func (c *markdownCache) renderer(width int, dark bool) *glamour.TermRenderer {
	k := [2]int{width, 0}
	if dark {
		k[1] = 1
	}
	if r, ok := c.renderers[k]; ok {
		return r
	}
	st := styles.LightStyleConfig
	if dark {
		st = styles.DarkStyleConfig
	}
	// The pane is the document: no margin and no blank rows around it.
	zero := uint(0)
	st.Document.Margin = &zero
	st.Document.BlockPrefix, st.Document.BlockSuffix = "", ""
	// Only a bad option fails, and these are fixed; a nil renderer leaves answers as text.
	r, err := glamour.NewTermRenderer(glamour.WithStyles(st), glamour.WithWordWrap(width))
	if err != nil {
		r = nil
	}
	if len(c.renderers) >= 8 {
		clear(c.renderers)
	}
	c.renderers[k] = r
	return r
}
