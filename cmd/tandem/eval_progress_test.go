package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

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

	t.Run("a long bar is cut to the terminal's width", func(t *testing.T) {
		p := &evalProgress{tty: true, width: 30, now: now, start: clock, total: 3, running: map[string]string{"a": strings.Repeat("x", 50)}}
		if got := []rune(p.bar()); len(got) != 29 || got[28] != '…' {
			t.Fatalf("bar %q (%d runes)", string(got), len(got))
		}
	})
}
