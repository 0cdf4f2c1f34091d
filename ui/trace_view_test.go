package ui

import (
	"fmt"
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi"

	"tandem/engine"
)

func traceWith(w, h int) TraceModel {
	m := NewTrace(NewTheme(true))
	m.SetSize(w, h)
	m.SetRun("r1")
	m.Show("ask")
	return m
}

func delta(stream, text string) engine.Delta {
	return engine.Delta{RunID: "r1", StepID: "ask", Stream: stream, Text: text}
}

func logEvent(typ engine.EventType, data string) engine.Event {
	return engine.Event{RunID: "r1", StepID: "ask", Attempt: 1, Type: typ, Data: []byte(data)}
}

func TestTraceView(t *testing.T) {
	t.Parallel()
	llm := func() TraceModel {
		m := traceWith(50, 12)
		m.AppendEvent(logEvent(engine.StepStarted, `{"input":"why is the sky blue?"}`))
		m.AppendEvent(logEvent(engine.StepTrace, `{"kind":"llm_request","data":{"model":"smollm2:135m"}}`))
		for _, tok := range []string{"Let me ", "think about ", "scattering.\n"} {
			m.AppendDelta(delta("thinking", tok))
		}
		for _, tok := range []string{"Rayleigh ", "scattering: ", "short wavelengths scatter more, so the sky looks blue most of the day."} {
			m.AppendDelta(delta("content", tok))
		}
		// The log's batched copy of the same tokens is not shown twice.
		m.AppendEvent(logEvent(engine.StepOutput, `{"stream":"content","text":"Rayleigh scattering: "}`))
		m.AppendEvent(logEvent(engine.StepSucceeded, `{"output":"Rayleigh","duration_ms":1500}`))
		return m
	}
	shell := func() TraceModel {
		m := traceWith(50, 10)
		m.AppendEvent(logEvent(engine.StepStarted, `{"input":"make test"}`))
		m.AppendEvent(logEvent(engine.StepOutput, `{"stream":"stdout","text":"line 1\nline 2\n"}`))
		m.AppendEvent(logEvent(engine.StepOutput, `{"stream":"stderr","text":"warning: \u001b[31mred\u001b[0m\n"}`))
		// The final chunk never reached the log: the result carries the whole output.
		m.AppendEvent(logEvent(engine.StepFailed, `{"output":"line 1\nline 2\nline 3","duration_ms":20,"error":"exit status 2"}`))
		return m
	}
	long := func() TraceModel {
		m := traceWith(40, 8)
		for i := range 100 {
			m.AppendDelta(delta("stdout", fmt.Sprintf("row %d\n", i)))
		}
		return m
	}
	tests := []struct {
		name string
		m    TraceModel
		keys []string
	}{
		{"llm_streaming", llm(), nil},
		{"llm_thinking_hidden", llm(), []string{"t"}},
		{"shell_output_from_log", shell(), nil},
		{"follow_sticks_to_bottom", long(), nil},
		{"scrolled_up_stops_following", long(), []string{"k", "k", "k"}},
		{"search_finds_a_line", long(), []string{"/", "r", "o", "w", " ", "4", "2", "enter"}},
		{"search_next_match", long(), []string{"/", "w", " ", "5", "enter", "N"}},
		{"bottom_follows_again", long(), []string{"g", "G"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m := tt.m
			for _, k := range tt.keys {
				m, _ = m.Update(keyPress(k))
			}
			got := m.View()
			if n := strings.Count(got, "\n") + 1; n != m.h {
				t.Errorf("view has %d lines, want %d", n, m.h)
			}
			golden(t, "trace_"+tt.name, got+"\n")
		})
	}
}

func TestTraceFollowStopsWhenScrolledUpAndNewTextArrives(t *testing.T) {
	t.Parallel()
	m := traceWith(40, 8)
	for i := range 50 {
		m.AppendDelta(delta("stdout", fmt.Sprintf("row %d\n", i)))
	}
	m, _ = m.Update(keyPress("k"))
	before := ansi.Strip(m.View())
	m.AppendDelta(delta("stdout", "new text\n"))
	if after := ansi.Strip(m.View()); after[strings.IndexByte(after, '\n'):] != before[strings.IndexByte(before, '\n'):] {
		t.Fatalf("the view moved while scrolled up:\n%s\n---\n%s", before, after)
	}
	m, _ = m.Update(keyPress("G"))
	if !strings.Contains(ansi.Strip(m.View()), "new text") {
		t.Fatal("G did not return to the end")
	}
}

func TestTraceBurstOfDeltasKeepsViewBounded(t *testing.T) {
	t.Parallel()
	m := traceWith(60, 20)
	for i := range 20000 {
		m.AppendDelta(delta("content", "token "))
		if i%100 == 0 {
			m.AppendDelta(delta("content", "\n"))
		}
	}
	// One very long line (no newline) must wrap into the view, not widen it.
	m.AppendDelta(delta("content", strings.Repeat("x", 100000)))
	v := m.View()
	lines := strings.Split(v, "\n")
	if len(lines) != 20 {
		t.Fatalf("view has %d lines, want 20", len(lines))
	}
	for i, l := range lines {
		if w := ansi.StringWidth(l); w != 60 {
			t.Fatalf("line %d is %d cells wide, want 60", i, w)
		}
	}
	if len(v) > 20*60*40 {
		t.Fatalf("view is %d bytes for a 60x20 pane", len(v))
	}
}

func BenchmarkTraceAppend(b *testing.B) {
	m := traceWith(100, 40)
	for i := range 100000 {
		m.AppendDelta(delta("content", fmt.Sprintf("line %d of a long trace with some words in it\n", i)))
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		m.AppendDelta(delta("content", "token "))
		if i%50 == 49 {
			m.AppendDelta(delta("content", "\n"))
		}
		_ = m.View()
	}
}
