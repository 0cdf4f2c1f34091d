package main

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"

	"tandem/eval"
)

func TestEvalProgressDrawsABarOnATerminalAndPlainLinesElsewhere(t *testing.T) {
	clock := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	now := func() time.Time { return clock }
	cell := eval.Cell{ID: "port-m-1", Case: &eval.Case{ID: "port"}, Model: "m", Repeat: 1}
	result := eval.CellResult{Cell: "port-m-1", Case: "port", Model: "m", Repeat: 1, Turns: 2, Seconds: 1.5, RunID: "r1"}

	t.Run("on a terminal the bar counts cells and failures and is gone at the end", func(t *testing.T) {
		var out bytes.Buffer
		p := &evalProgress{w: &out, raw: &out, tty: true, width: 80, now: now, running: map[string]string{}}
		p.planned(4, 1)
		if got := p.bar(); !strings.HasPrefix(got, "[#####---------------] 1/4 · 0s") {
			t.Fatalf("bar after planning: %q", got)
		}
		p.started(cell)
		clock = clock.Add(65 * time.Second)
		if got := p.bar(); !strings.Contains(got, "1/4 · 1m5s · port on m") {
			t.Fatalf("bar while port runs: %q", got)
		}
		p.finished(result) // a failure: Pass is false
		if got := p.bar(); !strings.HasPrefix(got, "[##########----------] 2/4 · 1 failed · 1m5s") || strings.Contains(got, "port on m") {
			t.Fatalf("bar after port failed: %q", got)
		}
		p.close()
		s := out.String()
		if !strings.Contains(s, "\r\x1b[2K✗ port on m, repeat 1: 2 turns, 1.5s (run r1)\n") {
			t.Fatalf("the cell's line is not printed over the cleared bar: %q", s)
		}
		if !strings.HasSuffix(s, "\r\x1b[2K") {
			t.Fatalf("the bar is left on the screen: %q", s)
		}
	})

	t.Run("elsewhere only the finished cells are printed", func(t *testing.T) {
		var out bytes.Buffer
		p := &evalProgress{w: &out, raw: &out, width: 80, now: now, running: map[string]string{}}
		p.planned(2, 0)
		p.started(cell)
		result.Pass = true
		p.finished(result)
		p.close()
		if got := out.String(); got != "✓ port on m, repeat 1: 2 turns, 1.5s (run r1)\n" {
			t.Fatalf("output %q", got)
		}
	})

	t.Run("a flow's case has no model and no turns", func(t *testing.T) {
		var out bytes.Buffer
		p := &evalProgress{w: &out, raw: &out, width: 80, now: now, running: map[string]string{}}
		p.planned(1, 0)
		p.finished(eval.CellResult{Cell: "refund--default--r1", Case: "refund", Repeat: 1, Pass: true, Seconds: 7.4, RunID: "r2"})
		p.close()
		if got := out.String(); got != "✓ refund, repeat 1: 7.4s (run r2)\n" {
			t.Fatalf("output %q", got)
		}
	})

	t.Run("a flow's case says how many steps it ran", func(t *testing.T) {
		var out bytes.Buffer
		p := &evalProgress{w: &out, raw: &out, width: 80, now: now, running: map[string]string{}}
		p.finished(eval.CellResult{Case: "refund", Repeat: 1, Pass: true, Flow: true, Steps: 3, Seconds: 7.4, RunID: "r2"})
		if got := out.String(); got != "✓ refund, repeat 1: 3 steps, 7.4s (run r2)\n" {
			t.Fatalf("output %q", got)
		}
	})

	long := eval.CellResult{Case: "summarise-notes", Model: "qwen2.5-coder:0.5b", Repeat: 1,
		Pass: true, Turns: 3, Seconds: 12.3, RunID: "06h399s224nhwj0.summarise-notes--qwen2-5-coder-0-5b--r1.1"}
	for _, width := range []int{80, 60, 40} {
		t.Run(fmt.Sprintf("on a %d-column terminal a long line fits and keeps what it can", width), func(t *testing.T) {
			var out bytes.Buffer
			p := &evalProgress{w: &out, raw: &out, tty: true, width: width, now: now, running: map[string]string{}}
			p.finished(long)
			line := strings.TrimPrefix(strings.SplitN(out.String(), "\n", 2)[0], "\r\x1b[2K")
			if w := ansi.StringWidth(line); w >= width {
				t.Fatalf("the line takes %d columns of %d: %q", w, width, line)
			}
			if width >= 80 && !strings.Contains(line, "(run "+long.RunID+")") {
				t.Errorf("the run id was cut although it fits: %q", line)
			}
			if !strings.HasPrefix(line, "✓ summ") {
				t.Errorf("the line lost its start: %q", line)
			}
		})
	}
	t.Run("elsewhere a long line is whole", func(t *testing.T) {
		var out bytes.Buffer
		p := &evalProgress{w: &out, raw: &out, width: 80, now: now, running: map[string]string{}}
		p.finished(long)
		if !strings.Contains(out.String(), "on qwen2.5-coder:0.5b, repeat 1: 3 turns, 12.3s (run "+long.RunID+")\n") {
			t.Fatalf("output %q", out.String())
		}
	})

	t.Run("a long bar is cut to the terminal's width", func(t *testing.T) {
		p := &evalProgress{tty: true, width: 30, now: now, start: clock, total: 3, running: map[string]string{"a": strings.Repeat("x", 50)}}
		if got := []rune(p.bar()); len(got) != 29 || got[28] != '…' {
			t.Fatalf("bar %q (%d runes)", string(got), len(got))
		}
	})
}
