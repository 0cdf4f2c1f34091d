// Package ui is tandem's workbench: Bubble Tea models for the sidebar of flows and runs,
// the live DAG of a run, the trace of the selected step and the app shell that lays them out
// and feeds them engine events.
package ui

import (
	"image/color"
	"strings"

	"charm.land/lipgloss/v2"

	"tandem/engine"
)

// Theme holds every style the workbench uses, so colours live in one place. Build it with
// NewTheme for the terminal's background; the app rebuilds it when the background is reported.
type Theme struct {
	Dark bool

	Title    lipgloss.Style
	Dim      lipgloss.Style
	Text     lipgloss.Style
	Accent   lipgloss.Style
	Error    lipgloss.Style
	Selected lipgloss.Style
	Pane     lipgloss.Style // an unfocused pane's border
	Focused  lipgloss.Style // a focused pane's border
	Status   lipgloss.Style // the status bar
	Edge     lipgloss.Style // DAG edges
	Match    lipgloss.Style // search matches
	Stderr   lipgloss.Style
	Thinking lipgloss.Style
	Block    lipgloss.Style // trace blocks (tool calls, usage)
	// Breakpoint marks the DAG boxes of steps with a breakpoint.
	Breakpoint lipgloss.Style
	// Ask boxes a tool call waiting for a person's approval.
	Ask lipgloss.Style

	status map[string]lipgloss.Style // by step or run status
}

// NewTheme returns the styles for a dark (isDark) or light terminal background.
func NewTheme(isDark bool) Theme {
	ld := lipgloss.LightDark(isDark)
	c := func(light, dark string) color.Color { return ld(lipgloss.Color(light), lipgloss.Color(dark)) }
	var (
		fg     = c("#1f2328", "#e6edf3")
		dim    = c("#6e7781", "#7d8590")
		accent = c("#0969da", "#58a6ff")
		green  = c("#1a7f37", "#3fb950")
		red    = c("#cf222e", "#f85149")
		yellow = c("#9a6700", "#d29922")
		purple = c("#8250df", "#bc8cff")
		orange = c("#bc4c00", "#f0883e")
		selBg  = c("#ddf4ff", "#1f3a5f")
	)
	t := Theme{
		Dark:     isDark,
		Title:    lipgloss.NewStyle().Bold(true).Foreground(accent),
		Dim:      lipgloss.NewStyle().Foreground(dim),
		Text:     lipgloss.NewStyle().Foreground(fg),
		Accent:   lipgloss.NewStyle().Foreground(accent),
		Error:    lipgloss.NewStyle().Foreground(red),
		Selected: lipgloss.NewStyle().Bold(true).Foreground(fg).Background(selBg),
		Pane:     lipgloss.NewStyle().Border(lipgloss.RoundedBorder()).BorderForeground(dim),
		Focused:  lipgloss.NewStyle().Border(lipgloss.RoundedBorder()).BorderForeground(accent),
		Status:   lipgloss.NewStyle().Foreground(fg).Background(c("#eaeef2", "#161b22")),
		Edge:     lipgloss.NewStyle().Foreground(dim),
		Match:    lipgloss.NewStyle().Foreground(c("#ffffff", "#000000")).Background(yellow),
		Stderr:   lipgloss.NewStyle().Foreground(orange),
		Thinking: lipgloss.NewStyle().Foreground(dim).Italic(true),
		Block:    lipgloss.NewStyle().Foreground(purple),

		Breakpoint: lipgloss.NewStyle().Bold(true).Foreground(red),
		Ask:        lipgloss.NewStyle().Border(lipgloss.RoundedBorder()).BorderForeground(yellow),
	}
	t.status = map[string]lipgloss.Style{
		string(engine.StatusPending):      lipgloss.NewStyle().Foreground(dim),
		string(engine.RunStatusQueued):    lipgloss.NewStyle().Foreground(dim),
		string(engine.StatusRunning):      lipgloss.NewStyle().Foreground(accent),
		string(engine.StatusRetrying):     lipgloss.NewStyle().Foreground(yellow),
		string(engine.StatusWaiting):      lipgloss.NewStyle().Foreground(purple),
		string(engine.StatusSucceeded):    lipgloss.NewStyle().Foreground(green),
		string(engine.StatusFailed):       lipgloss.NewStyle().Foreground(red),
		string(engine.StatusSkipped):      lipgloss.NewStyle().Foreground(dim),
		string(engine.StatusInterrupted):  lipgloss.NewStyle().Foreground(orange),
		string(engine.RunStatusCancelled): lipgloss.NewStyle().Foreground(orange),
	}
	return t
}

// mdTheme holds the styles of rendered markdown (markdown_render.go): inline styles by the
// set of marks on a run of text, built when first asked for, and the block decorations.
type mdTheme struct {
	marks  [mdMarkCount]lipgloss.Style
	inline map[mdMark]inline
	code   inline // a code block's rows
	dim    inline // list markers, quote bars, rules, table lines
}

// newMDTheme returns markdown's styles for a dark or light background, in the workbench's
// palette.
func newMDTheme(isDark bool) *mdTheme {
	ld := lipgloss.LightDark(isDark)
	c := func(light, dark string) color.Color { return ld(lipgloss.Color(light), lipgloss.Color(dark)) }
	var (
		accent = c("#0969da", "#58a6ff")
		dim    = c("#6e7781", "#7d8590")
		code   = c("#0a3069", "#a5d6ff")
		codeBg = c("#eff1f3", "#262c36")
	)
	t := &mdTheme{inline: map[mdMark]inline{}}
	t.marks[mdStrongBit] = lipgloss.NewStyle().Bold(true)
	t.marks[mdEmphBit] = lipgloss.NewStyle().Italic(true)
	t.marks[mdCodeBit] = lipgloss.NewStyle().Foreground(code).Background(codeBg)
	t.marks[mdLinkBit] = lipgloss.NewStyle().Foreground(accent).Underline(true)
	t.marks[mdURLBit] = lipgloss.NewStyle().Foreground(dim)
	t.marks[mdHeadingBit] = lipgloss.NewStyle().Bold(true).Foreground(accent)
	t.marks[mdTitleBit] = lipgloss.NewStyle().Underline(true)
	t.code = inlineStyle(lipgloss.NewStyle().Foreground(code))
	t.dim = inlineStyle(lipgloss.NewStyle().Foreground(dim))
	return t
}

// style returns the inline style of text carrying the marks m.
func (t *mdTheme) style(m mdMark) inline {
	if m == 0 {
		return inline{}
	}
	if in, ok := t.inline[m]; ok {
		return in
	}
	s := lipgloss.NewStyle()
	for bit := range mdMarkCount {
		if m&(1<<bit) == 0 {
			continue
		}
		st := t.marks[bit]
		if st.GetBold() {
			s = s.Bold(true)
		}
		if st.GetItalic() {
			s = s.Italic(true)
		}
		if st.GetUnderline() {
			s = s.Underline(true)
		}
		if _, ok := st.GetForeground().(lipgloss.NoColor); !ok {
			s = s.Foreground(st.GetForeground())
		}
		if _, ok := st.GetBackground().(lipgloss.NoColor); !ok {
			s = s.Background(st.GetBackground())
		}
	}
	in := inlineStyle(s)
	t.inline[m] = in
	return in
}

// StatusStyle returns the style for a step or run status (they share names).
func (t Theme) StatusStyle(status string) lipgloss.Style {
	if s, ok := t.status[status]; ok {
		return s
	}
	return t.Text
}

// spinnerFrames animate running steps; the app advances the frame on its tick.
var spinnerFrames = []string{"⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"}

// statusIcon is the one-cell icon of a step or run status; frame animates running ones.
func statusIcon(status string, frame int) string {
	switch status {
	case string(engine.StatusRunning):
		return spinnerFrames[frame%len(spinnerFrames)]
	case string(engine.StatusSucceeded):
		return "✓"
	case string(engine.StatusFailed):
		return "✗"
	case string(engine.StatusSkipped):
		return "↷"
	case string(engine.StatusWaiting):
		return "⏸"
	case string(engine.StatusInterrupted), string(engine.RunStatusCancelled):
		return "■"
	case string(engine.StatusRetrying):
		return "↻"
	}
	return "·"
}

// inline is a style reduced to the escape codes around its text, so hot paths (every cell
// run of the DAG, every trace line) colour text with two string concatenations instead of a
// full lipgloss render. Only for styles without padding, borders or widths.
type inline struct{ pre, post string }

func inlineStyle(s lipgloss.Style) inline {
	const mark = "\x00"
	r := s.Render(mark)
	i := strings.Index(r, mark)
	if i < 0 {
		return inline{}
	}
	return inline{pre: r[:i], post: r[i+len(mark):]}
}

// render colours s.
func (in inline) render(s string) string {
	if s == "" {
		return ""
	}
	return in.pre + s + in.post
}
