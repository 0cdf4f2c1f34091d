package ui

import (
	"strings"

	"github.com/charmbracelet/x/ansi"
)

// screen assembles a frame of at most w x h cells from the panes' boxes and the bars below
// them. Every line is padded with spaces to w cells and cut when wider, and lines past h
// are dropped, so the terminal never wraps or scrolls. Boxes come with their width known,
// so only the bars (a few lines) are measured.
type screen struct {
	b    strings.Builder
	w, h int
	n    int // lines written
}

func newScreen(w, h int) *screen {
	s := &screen{w: w, h: h}
	s.b.Grow((w + 1) * h * 2) // room for the escape codes of a coloured frame
	return s
}

// row adds the boxes side by side, top-aligned, blank where a box is shorter than the
// tallest.
func (s *screen) row(bs ...paneBox) {
	height, width := 0, 0
	for _, b := range bs {
		height = max(height, len(b.lines))
		width += b.width
	}
	for i := 0; i < height && s.n < s.h; i++ {
		if width > s.w { // a terminal narrower than the borders: join, then cut
			var l strings.Builder
			for _, b := range bs {
				writeBoxLine(&l, b, i)
			}
			s.line(l.String(), width)
			continue
		}
		s.newline()
		for _, b := range bs {
			writeBoxLine(&s.b, b, i)
		}
		s.pad(s.w - width)
	}
}

func writeBoxLine(sb *strings.Builder, b paneBox, i int) {
	if i < len(b.lines) {
		sb.WriteString(b.lines[i])
		return
	}
	for range b.width {
		sb.WriteByte(' ')
	}
}

// bar adds lines of unknown width, such as the status and help bars.
func (s *screen) bar(text string) {
	for l := range strings.SplitSeq(text, "\n") {
		if s.n >= s.h {
			return
		}
		s.line(l, ansi.StringWidth(l))
	}
}

// line adds l, which is width cells wide.
func (s *screen) line(l string, width int) {
	if s.n >= s.h {
		return
	}
	s.newline()
	if width > s.w {
		s.b.WriteString(ansi.Truncate(l, s.w, ""))
		return
	}
	s.b.WriteString(l)
	s.pad(s.w - width)
}

func (s *screen) newline() {
	if s.n > 0 {
		s.b.WriteByte('\n')
	}
	s.n++
}

func (s *screen) pad(n int) {
	for range n {
		s.b.WriteByte(' ')
	}
}

// String returns the frame.
func (s *screen) String() string { return s.b.String() }
