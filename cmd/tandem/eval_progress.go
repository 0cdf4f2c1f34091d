package main

import (
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/term"

	"tandem/eval"
)

// evalProgress shows an eval as it runs. On a terminal it keeps a bar on the last line
// (cells done of all, failures, elapsed time, what runs now), redrawn every second and as
// cells start and finish, with a line per finished cell printed above it. Anywhere else it
// prints only the finished cells' lines.
type evalProgress struct {
	w     io.Writer // the lines and the bar's text, through the terminal filter
	raw   io.Writer // the cursor controls that redraw the bar
	tty   bool
	width int
	size  func() (int, bool) // the terminal's width now, when it can be read
	now   func() time.Time

	mu                  sync.Mutex
	start               time.Time
	total, done, failed int
	running             map[string]string // cell id -> "case on model"
	stop                chan struct{}
	stopped             sync.WaitGroup
	drawn               bool // the bar is on the screen
}

// newEvalProgress writes text to w and draws a bar only when f, the file under w, is a
// terminal.
func newEvalProgress(f *os.File, w io.Writer) *evalProgress {
	p := &evalProgress{w: w, raw: f, now: time.Now, running: map[string]string{}, width: 80}
	if term.IsTerminal(f.Fd()) {
		p.tty = true
		p.size = func() (int, bool) {
			w, _, err := term.GetSize(f.Fd())
			return w, err == nil && w > 20
		}
		p.resized()
	}
	return p
}

// resized reads the terminal's width again, so a resize mid-eval is followed.
func (p *evalProgress) resized() {
	if p.size != nil {
		if w, ok := p.size(); ok {
			p.width = w
		}
	}
}

// planned starts the bar (the Runner's Planned hook).
func (p *evalProgress) planned(total, recorded int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.start, p.total, p.done = p.now(), total, recorded
	if !p.tty {
		return
	}
	p.draw()
	stop := make(chan struct{})
	p.stop = stop
	p.stopped.Add(1)
	go func() {
		defer p.stopped.Done()
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				p.mu.Lock()
				p.draw()
				p.mu.Unlock()
			}
		}
	}()
}

// started notes a running cell (the Runner's Started hook).
func (p *evalProgress) started(c eval.Cell) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.running[c.ID] = c.Case.ID + onModel(c.Model)
	if p.tty {
		p.draw()
	}
}

// finished prints a cell's line (the Runner's Progress hook).
func (p *evalProgress) finished(res eval.CellResult) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.running, res.Cell)
	p.done++
	mark := "✓"
	if !res.Pass {
		mark = "✗"
		p.failed++
	}
	p.clear()
	p.resized()
	fmt.Fprintln(p.w, p.cellLine(mark, res))
	if p.tty {
		p.draw()
	}
}

// cellLine is a finished cell's line: "✓ port on m, repeat 1: 2 turns, 1.5s (run ID)". On a
// terminal it fits the width (a wrapped line breaks the bar's redraw): the case and model
// give way first, the run id, which is there to be copied, last.
func (p *evalProgress) cellLine(mark string, res eval.CellResult) string {
	did := "" // what the case did: an agent's turns, a flow's steps
	switch {
	case res.Flow && res.Steps == 1:
		did = "1 step, "
	case res.Flow:
		did = fmt.Sprintf("%d steps, ", res.Steps)
	case res.Turns == 1:
		did = "1 turn, "
	case res.Turns > 1 || res.EndReason != "":
		did = fmt.Sprintf("%d turns, ", res.Turns)
	}
	name := res.Case + onModel(res.Model)
	rest := fmt.Sprintf(", repeat %d: %s%.1fs", res.Repeat, did, res.Seconds)
	run := fmt.Sprintf(" (run %s)", res.RunID)
	line := mark + " " + name + rest + run
	if !p.tty || ansi.StringWidth(line) < p.width {
		return line
	}
	fixed := ansi.StringWidth(mark+" "+rest+run) + 1 // and the last column, kept free
	if room := p.width - fixed; room >= 8 {
		return mark + " " + fitName(res.Case, res.Model, room) + rest + run
	}
	fixed = ansi.StringWidth(mark+" "+run) + 1
	if room := p.width - fixed; room >= 8 {
		return mark + " " + ansi.Truncate(name+rest, room, "…") + run
	}
	return ansi.Truncate(line, p.width-1, "…")
}

// fitName is "case on model" in at most w cells: the model cut first, left out when not
// even a few of its letters fit, then the case cut.
func fitName(c, model string, w int) string {
	if name := c + onModel(model); ansi.StringWidth(name) <= w {
		return name
	}
	if room := w - ansi.StringWidth(c+" on "); model != "" && room >= 4 {
		return c + " on " + ansi.Truncate(model, room, "…")
	}
	return ansi.Truncate(c, w, "…")
}

// close stops the bar and takes it off the screen, before the report is printed.
func (p *evalProgress) close() {
	p.mu.Lock()
	if p.stop != nil {
		close(p.stop)
		p.stop = nil
	}
	p.mu.Unlock()
	p.stopped.Wait()
	p.mu.Lock()
	p.clear()
	p.mu.Unlock()
}

func (p *evalProgress) clear() {
	if p.drawn {
		fmt.Fprint(p.raw, "\r\x1b[2K")
		p.drawn = false
	}
}

// draw writes the bar over the last line.
func (p *evalProgress) draw() {
	p.resized()
	p.clear()
	fmt.Fprint(p.w, p.bar())
	p.drawn = true
}

// bar is the progress line, at most p.width columns: "[####------] 4/10 · 1 failed ·
// 1m05s · port on qwen2.5-coder:0.5b".
func (p *evalProgress) bar() string {
	const cells = 20
	filled := 0
	if p.total > 0 {
		filled = cells * p.done / p.total
	}
	var b strings.Builder
	b.WriteString("[" + strings.Repeat("#", filled) + strings.Repeat("-", cells-filled) + "] ")
	fmt.Fprintf(&b, "%d/%d", p.done, p.total)
	if p.failed > 0 {
		fmt.Fprintf(&b, " · %d failed", p.failed)
	}
	fmt.Fprintf(&b, " · %s", p.now().Sub(p.start).Round(time.Second))
	if len(p.running) > 0 {
		names := make([]string, 0, len(p.running))
		for _, n := range p.running {
			names = append(names, n)
		}
		sort.Strings(names)
		b.WriteString(" · " + strings.Join(names, ", "))
	}
	line := []rune(b.String())
	if len(line) > p.width-1 {
		line = append(line[:p.width-2], '…')
	}
	return string(line)
}
