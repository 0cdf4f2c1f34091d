package ui

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"
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
	return engine.Delta{RunID: "r1", StepID: "ask", Attempt: 1, Stream: stream, Text: text}
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

// agentTrace is an agent step that thinks, calls a tool whose result is long, and answers in
// markdown, as the log records it.
func agentTrace(w, h int) TraceModel {
	m := traceWith(w, h)
	m.AppendEvent(logEvent(engine.StepStarted, `{"input":"summarise the repo"}`))
	m.AppendEvent(logEvent(engine.StepTrace, `{"kind":"turn","data":{"turn":1,"mode":"native","messages":2}}`))
	m.AppendEvent(logEvent(engine.StepOutput, `{"stream":"thinking","text":"I should list the files.\n"}`))
	m.AppendEvent(logEvent(engine.StepTrace, `{"kind":"tool_call","data":{"turn":1,"id":"c1","name":"list_files","arguments":{"dir":"."}}}`))
	var files strings.Builder
	for i := range 20 {
		fmt.Fprintf(&files, "file_%02d.go\n", i)
	}
	result, _ := json.Marshal(files.String())
	m.AppendEvent(logEvent(engine.StepTrace, fmt.Sprintf(`{"kind":"tool_result","data":{"turn":1,"id":"c1","name":"list_files","result":%s,"size":%d}}`, result, files.Len())))
	m.AppendEvent(logEvent(engine.StepTrace, `{"kind":"turn","data":{"turn":2,"mode":"native","messages":4}}`))
	answer, _ := json.Marshal(agentAnswer)
	m.AppendEvent(logEvent(engine.StepOutput, fmt.Sprintf(`{"stream":"content","text":%s}`, answer)))
	m.AppendEvent(logEvent(engine.StepTrace, fmt.Sprintf(`{"kind":"end","data":{"answer":%s,"end_reason":"answer","turns":2,"tool_calls":1,"invalid_actions":0,"prompt_tokens":120,"output_tokens":30}}`, answer)))
	m.AppendEvent(logEvent(engine.StepSucceeded, fmt.Sprintf(`{"output":%s,"duration_ms":2500}`, answer)))
	return m
}

const agentAnswer = "# Summary\n\nThe repo holds:\n\n- **20** Go files\n- one `main` package\n"

func TestTraceBlocks(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		keys []string
		want []string // lines the view shows
		not  []string // and text it must not show
	}{
		{"tool_result_collapsed", nil,
			[]string{"▾ call list_files · 16 B", "▸ result of list_files · 220 B, 20 lines", "▾ answer · 67 B"},
			[]string{"file_00.go"}},
		{"tool_result_expanded", []string{"]", "]", "]", "enter"},
			[]string{"▾ result of list_files · 220 B, 20 lines", "  file_00.go"}, nil},
		{"thinking_folded", []string{"]", "o"},
			[]string{"▸ thinking · 1 line"}, []string{"I should list the files."}},
		{"block_cursor_back_and_forth", []string{"]", "]", "]", "enter", "[", "[", "o"},
			[]string{"▸ thinking · 1 line", "▾ result of list_files", "  file_16.go"}, nil},
		{"search_unfolds_a_result", []string{"/", "f", "i", "l", "e", "_", "0", "7", "enter"},
			[]string{"▾ result of list_files", "  file_07.go"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m := agentTrace(60, 24)
			for _, k := range tt.keys {
				m, _ = m.Update(keyPress(k))
			}
			got := m.View()
			if n := strings.Count(got, "\n") + 1; n != m.h {
				t.Errorf("view has %d lines, want %d", n, m.h)
			}
			plain := ansi.Strip(got)
			for _, w := range tt.want {
				if !strings.Contains(plain, w) {
					t.Errorf("the view does not show %q", w)
				}
			}
			for _, w := range tt.not {
				if strings.Contains(plain, w) {
					t.Errorf("the view shows %q", w)
				}
			}
			golden(t, "trace_"+tt.name, got+"\n")
		})
	}
}

func TestTraceAnswerIsMarkdown(t *testing.T) {
	t.Parallel()
	m := agentTrace(60, 24)
	got := m.View()
	golden(t, "trace_answer_markdown", got+"\n")
	plain := ansi.Strip(got)
	for _, w := range []string{"Summary", "The repo holds:", "• 20 Go files", "• one", "main", "package"} {
		if !strings.Contains(plain, w) {
			t.Errorf("the answer does not show %q", w)
		}
	}
	if strings.Contains(plain, "# Summary") || strings.Contains(plain, "**20**") || strings.Contains(plain, "- one") {
		t.Error("the answer shows its markdown source, not the rendered text")
	}
	for _, l := range strings.Split(got, "\n") {
		if strings.Contains(ansi.Strip(l), "Summary") && !strings.Contains(l, "\x1b[") {
			t.Errorf("the heading is not styled: %q", l)
		}
	}
	// A narrower pane renders the answer again, at its width.
	m.SetSize(30, 24)
	for i, l := range strings.Split(m.View(), "\n") {
		if w := ansi.StringWidth(l); w != 30 {
			t.Fatalf("line %d is %d cells wide after a resize, want 30", i, w)
		}
	}
}

func TestTraceStreamedReplyBecomesMarkdownWhenDone(t *testing.T) {
	t.Parallel()
	m := traceWith(40, 10)
	m.AppendEvent(logEvent(engine.StepStarted, `{"input":"list"}`))
	for _, tok := range []string{"## Li", "st\n\n- a", "\n- b\n"} {
		m.AppendDelta(delta("content", tok))
	}
	if v := ansi.Strip(m.View()); !strings.Contains(v, "## List") || !strings.Contains(v, "- a") {
		t.Fatalf("a streaming reply is not shown as it came:\n%s", v)
	}
	m.AppendEvent(logEvent(engine.StepSucceeded, `{"output":"## List\n\n- a\n- b","duration_ms":10}`))
	if v := ansi.Strip(m.View()); !strings.Contains(v, "• a") || strings.Contains(v, "- a") {
		t.Fatalf("the finished reply is not rendered as markdown:\n%s", v)
	}
}

// runCmd runs cmd and the commands of the batches it returns, collecting their messages.
func runCmd(cmd tea.Cmd) []tea.Msg {
	if cmd == nil {
		return nil
	}
	msg := cmd()
	if batch, ok := msg.(tea.BatchMsg); ok {
		var out []tea.Msg
		for _, c := range batch {
			out = append(out, runCmd(c)...)
		}
		return out
	}
	return []tea.Msg{msg}
}

func TestTraceCopy(t *testing.T) {
	t.Parallel()
	var files strings.Builder
	for i := range 20 {
		fmt.Fprintf(&files, "file_%02d.go\n", i)
	}
	tests := []struct {
		name string
		keys []string
		want string
	}{
		{"the thinking block under the cursor", []string{"]"}, "I should list the files."},
		{"a tool call's arguments", []string{"]", "]"}, "{\n  \"dir\": \".\"\n}"},
		{"a folded tool result, whole", []string{"]", "]", "]"}, files.String()},
		{"the answer as markdown", []string{"]", "]", "]", "]"}, agentAnswer},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m := agentTrace(60, 24)
			for _, k := range tt.keys {
				m, _ = m.Update(keyPress(k))
			}
			_, cmd := m.Update(keyPress("y"))
			var clip, copied string
			var gotClip, gotCopied bool
			for _, msg := range runCmd(cmd) {
				switch msg := msg.(type) {
				case copiedMsg:
					copied, gotCopied = msg.text, true
				default:
					// tea.SetClipboard's message is unexported: an OSC 52 string.
					if v := reflect.ValueOf(msg); v.Kind() == reflect.String && strings.Contains(v.Type().Name(), "Clipboard") {
						clip, gotClip = v.String(), true
					}
				}
			}
			if !gotClip || !gotCopied {
				t.Fatalf("y gave clipboard %v, copied message %v; want both", gotClip, gotCopied)
			}
			if clip != tt.want || copied != tt.want {
				t.Errorf("copied %q (reported %q), want %q", clip, copied, tt.want)
			}
		})
	}
	t.Run("the whole step without a block selected", func(t *testing.T) {
		t.Parallel()
		m := agentTrace(60, 24)
		_, cmd := m.Update(keyPress("y"))
		for _, msg := range runCmd(cmd) {
			if c, ok := msg.(copiedMsg); ok {
				for _, w := range []string{"$ summarise the repo", "call list_files", "file_19.go", "- **20** Go files", "succeeded in 2.5s"} {
					if !strings.Contains(c.text, w) {
						t.Errorf("the step's text lacks %q:\n%s", w, c.text)
					}
				}
				return
			}
		}
		t.Fatal("y sent no copied message")
	})
}

func TestTraceLiveAnswerBecomesMarkdownBeforeLaterRecords(t *testing.T) {
	t.Parallel()
	// Live, the reply and the turn's records stream through the bus; the answer is rendered
	// when the end record comes, and the log's later copies of the records are not shown again.
	m := traceWith(60, 16)
	m.AppendEvent(logEvent(engine.StepStarted, `{"input":"hi"}`))
	m.AppendDelta(delta("thinking", "Greet back."))
	for _, tok := range []string{"**Hello**", " there.\n\n", "- one\n- two"} {
		m.AppendDelta(delta("content", tok))
	}
	usage := `{"kind":"usage","data":{"turn":1,"prompt_tokens":5,"output_tokens":7}}`
	end := `{"kind":"end","data":{"answer":"**Hello** there.\n\n- one\n- two","end_reason":"answer","turns":1,"tool_calls":0,"prompt_tokens":5,"output_tokens":7}}`
	for _, rec := range []string{usage, end} {
		var d engine.TraceData
		if err := json.Unmarshal([]byte(rec), &d); err != nil {
			t.Fatal(err)
		}
		m.AppendDelta(engine.Delta{RunID: "r1", StepID: "ask", Attempt: 1, Stream: "trace", Trace: &d})
	}
	m.AppendEvent(logEvent(engine.StepTrace, usage))
	m.AppendEvent(logEvent(engine.StepTrace, end))
	m.AppendEvent(logEvent(engine.StepSucceeded, `{"output":"**Hello** there.\n\n- one\n- two","duration_ms":100}`))
	v := ansi.Strip(m.View())
	order := []string{"▾ thinking", "Greet back.", "▾ answer", "Hello there.", "• one", "• two", "turn 1 · 5 → 7 tokens", "■ end", "── succeeded"}
	at := 0
	for _, w := range order {
		i := strings.Index(v[at:], w)
		if i < 0 {
			t.Fatalf("%q missing or out of order in:\n%s", w, v)
		}
		at += i
	}
	if strings.Contains(v, "**") || strings.Count(v, "Hello") != 1 {
		t.Fatalf("the answer shows twice or unrendered:\n%s", v)
	}
	m, _ = m.Update(keyPress("]"))
	m, _ = m.Update(keyPress("]"))
	_, cmd := m.Update(keyPress("y"))
	for _, msg := range runCmd(cmd) {
		if c, ok := msg.(copiedMsg); ok && c.text != "**Hello** there.\n\n- one\n- two" {
			t.Fatalf("the second block copied %q, want the answer", c.text)
		}
	}
}

func TestTraceRecordsFromTheBusStayBetweenTheirTokens(t *testing.T) {
	t.Parallel()
	m := traceWith(60, 12)
	m.AppendEvent(logEvent(engine.StepStarted, `{"input":"a line about the sea"}`))
	m.AppendDelta(engine.Delta{RunID: "r1", StepID: "ask", Attempt: 1, Stream: "trace",
		Trace: &engine.TraceData{Kind: "llm_request", Data: map[string]any{"model": "smollm2:135m"}}})
	m.AppendDelta(delta("content", "The ocean "))
	m.AppendDelta(delta("content", "is vast."))
	// The record's committed copy arrives after the tokens; it is not shown again.
	m.AppendEvent(logEvent(engine.StepTrace, `{"kind":"llm_request","data":{"model":"smollm2:135m"}}`))
	m.AppendEvent(logEvent(engine.StepOutput, `{"stream":"content","text":"The ocean is vast."}`))
	view := ansi.Strip(m.View())
	req, reply := strings.Index(view, "request · model smollm2:135m"), strings.Index(view, "The ocean is vast.")
	if req < 0 || reply < 0 || req > reply || strings.Count(view, "request · model") != 1 {
		t.Fatalf("want the request once, before the whole reply:\n%s", view)
	}
}

func TestTraceFollowKeepsTheLastWrappedLineInView(t *testing.T) {
	t.Parallel()
	// The body is 4 rows; a 1-row line at the end under two 2-row lines must stay visible
	// rather than be pushed out by the line above that does not fit whole.
	m := traceWith(20, 5)
	m.AppendDelta(delta("stdout", strings.Repeat("a", 30)+"\n"))
	m.AppendDelta(delta("stdout", strings.Repeat("b", 30)+"\n"))
	m.AppendDelta(delta("stdout", "the end\n"))
	view := ansi.Strip(m.View())
	if !strings.Contains(view, "the end") {
		t.Fatalf("the last line is not in view:\n%s", view)
	}
	if got := strings.Count(view, "\n") + 1; got != 5 {
		t.Fatalf("view has %d rows, want 5:\n%s", got, view)
	}
}

func TestTraceDrawsNoControlCharactersFromOutput(t *testing.T) {
	t.Parallel()
	m := traceWith(40, 8)
	m.AppendDelta(delta("stdout", "10%\r20%\r100%\x07 done\x1b[2J\n"))
	view := m.View()
	for _, c := range []string{"\r", "\x07", "\x1b[2J"} {
		if strings.Contains(view, c) {
			t.Fatalf("the view carries %q from the output:\n%q", c, view)
		}
	}
	if !strings.Contains(ansi.Strip(view), "100% done") {
		t.Fatalf("the output's last state is missing:\n%s", ansi.Strip(view))
	}
}

func TestTraceShowsOutputOnceWhenTheLogLoadsBeforeTheBusCatchesUp(t *testing.T) {
	t.Parallel()
	m := NewTrace(NewTheme(true))
	m.SetSize(60, 12)
	m.Watch("r1") // started here: its deltas count from the start
	m.Show("ask")
	// The run finished before its log was read: the log is replayed first...
	m.Reset()
	m.AppendEvent(logEvent(engine.StepStarted, `{"input":"make"}`))
	m.AppendEvent(logEvent(engine.StepOutput, `{"stream":"stdout","text":"line-one\nline-two\n"}`))
	m.AppendEvent(logEvent(engine.StepFailed, `{"output":"line-one\nline-two\nline-three","duration_ms":20,"error":"exit status 2"}`))
	m.AlignDeltas()
	// ...then the bus's deltas of the same attempt, still queued, arrive.
	m.AppendDelta(delta("stdout", "line-one\nline-two\n"))
	m.AppendDelta(delta("stdout", "line-three\n"))
	got := ansi.Strip(m.View())
	for _, l := range []string{"line-one", "line-two", "line-three"} {
		if n := strings.Count(got, l); n != 1 {
			t.Errorf("%s shows %d times:\n%s", l, n, got)
		}
	}
	if strings.Index(got, "line-three") > strings.Index(got, "── failed") {
		t.Errorf("output after the failed line:\n%s", got)
	}
}

func TestTraceOfARunOpenedMidwayShowsTheDeltasAfterTheLog(t *testing.T) {
	t.Parallel()
	m := NewTrace(NewTheme(true))
	m.SetSize(60, 12)
	m.SetRun("r1") // opened from the sidebar while it runs: earlier deltas went uncounted
	m.Show("ask")
	m.Reset()
	m.AppendEvent(logEvent(engine.StepStarted, `{"input":"make"}`))
	m.AppendEvent(logEvent(engine.StepOutput, `{"stream":"stdout","text":"early\n"}`))
	m.AlignDeltas()
	m.AppendDelta(delta("stdout", "later\n"))
	m.AppendEvent(logEvent(engine.StepOutput, `{"stream":"stdout","text":"later\n"}`))
	got := ansi.Strip(m.View())
	if strings.Count(got, "early") != 1 || strings.Count(got, "later") != 1 {
		t.Errorf("want early and later once each:\n%s", got)
	}
}

func TestTraceSearchHighlightsEveryMatchAndIsPerRun(t *testing.T) {
	t.Parallel()
	m := traceWith(60, 12)
	for i := range 7 {
		m.AppendDelta(delta("stdout", fmt.Sprintf("cat %d and another cat\n", i)))
	}
	for _, k := range []string{"/", "c", "a", "t", "enter", "n", "n"} {
		m, _ = m.Update(keyPress(k))
	}
	view := m.View()
	mark := m.styles[lineMatch].pre + "cat" + m.styles[lineMatch].post
	cur := m.styles[lineCurrent].pre + "cat" + m.styles[lineCurrent].post
	if n := strings.Count(view, mark) + strings.Count(view, cur); n != 14 {
		t.Errorf("%d matches highlighted, want all 14 of the 7 lines:\n%s", n, ansi.Strip(view))
	}
	if !strings.Contains(ansi.Strip(view), "/cat 2/7") {
		t.Errorf("the header does not count the matches:\n%s", ansi.Strip(view))
	}
	m.Show("other") // another step of the run keeps the search
	if m.query != "cat" {
		t.Errorf("the query did not stay with the run: %q", m.query)
	}
	m.SetRun("r2")
	if m.query != "" {
		t.Errorf("another run kept the query %q", m.query)
	}
}

func TestTraceFoldAllProblemsAndHangingWraps(t *testing.T) {
	t.Parallel()
	m := traceWith(30, 20)
	m.AppendDelta(engine.Delta{RunID: "r1", StepID: "ask", Attempt: 1, Stream: "trace",
		Trace: &engine.TraceData{Kind: "tool_call", Data: map[string]any{"name": "read_file", "arguments": map[string]any{"path": "a.txt"}}}})
	m.AppendDelta(engine.Delta{RunID: "r1", StepID: "ask", Attempt: 1, Stream: "trace",
		Trace: &engine.TraceData{Kind: "tool_result", Data: map[string]any{"name": "read_file", "result": "no such file", "error": true}}})
	m.AppendDelta(delta("stdout", "    an indented line long enough to wrap twice in thirty cells\n"))
	m, _ = m.Update(keyPress("O"))
	b := m.buffers["ask"]
	for _, blk := range b.blocks {
		if !blk.collapsed {
			t.Errorf("O left block %q open", blk.title())
		}
	}
	m, _ = m.Update(keyPress("O"))
	for _, blk := range b.blocks {
		if blk.collapsed {
			t.Errorf("O again left block %q folded", blk.title())
		}
	}
	m, _ = m.Update(keyPress("!"))
	if m.problem < 0 || b.lines[m.problem].kind != lineProblem {
		t.Fatalf("! did not go to the tool error: line %d", m.problem)
	}
	view := ansi.Strip(m.View())
	if !strings.Contains(view, "\n    wrap twice in thirty cells") && !strings.Contains(view, "\n    ") {
		t.Errorf("wrapped rows do not keep the line's indentation:\n%s", view)
	}
	for _, r := range wrapHanging("    an indented line long enough to wrap twice in thirty cells", 30)[1:] {
		if !strings.HasPrefix(r, "    ") || len(r) > 30 {
			t.Errorf("wrapped row %q does not hang under the indent within 30 cells", r)
		}
	}
}

func TestTraceEnterOnAChildRunOpensIt(t *testing.T) {
	t.Parallel()
	m := traceWith(60, 12)
	m.AppendEvent(logEvent(engine.StepStarted, `{"input":"","child_run_id":"child7"}`))
	m, _ = m.Update(keyPress("]"))
	_, cmd := m.Update(keyPress("enter"))
	if cmd == nil {
		t.Fatalf("enter on the child run's block did nothing:\n%s", ansi.Strip(m.View()))
	}
	if got := cmd(); got != (TraceOpenRunMsg{RunID: "child7"}) {
		t.Fatalf("enter sent %#v", got)
	}
}

func TestTraceFromTheLogLeavesAFallbackAnswersStreamToItsEndRecord(t *testing.T) {
	t.Parallel()
	m := traceWith(60, 12)
	m.AppendEvent(logEvent(engine.StepStarted, `{"input":"tides?"}`))
	m.AppendEvent(logEvent(engine.StepOutput, `{"stream":"content","text":"{\"action\":\"answer\",\"answer\":\"Tides rise\"}"}`))
	m.AppendEvent(logEvent(engine.StepOutput, `{"stream":"answer","text":"Tides rise"}`))
	got := ansi.Strip(m.View())
	if n := strings.Count(got, "Tides rise"); n != 1 {
		t.Errorf("the answer shows %d times, want once (in the reply as it streamed):\n%s", n, got)
	}
}

func TestAnEventTheTraceCannotReadIsShownAsAProblem(t *testing.T) {
	t.Parallel()
	m := traceWith(80, 8)
	m.AppendEvent(logEvent(engine.StepStarted, `{"input":"hi"}`))
	bad := logEvent(engine.StepOutput, `{"stream": 7}`)
	bad.Seq = 42
	m.AppendEvent(bad)
	if v := ansi.Strip(m.View()); !strings.Contains(v, "◆ event 42 (step_output) cannot be read") {
		t.Fatalf("the unreadable event is not shown:\n%s", v)
	}
	if got := clip(strings.Repeat("é", 10), 5); got != "éé…" {
		t.Fatalf("clip cut inside a character: %q", got)
	}
}

func TestEachTurnsRequestIsAFoldedBlockOfEverythingTheModelSaw(t *testing.T) {
	t.Parallel()
	m := traceWith(70, 20)
	m.AppendEvent(logEvent(engine.StepStarted, `{"input":"hi"}`))
	m.AppendEvent(logEvent(engine.StepTrace, `{"kind":"request","data":{"turn":1,"base":0,"messages":[{"role":"system","content":"You help."},{"role":"user","content":"hi"}],"total":2}}`))
	m.AppendEvent(logEvent(engine.StepTrace, `{"kind":"request","data":{"turn":2,"base":2,"messages":[{"role":"assistant","content":"reading"},{"role":"tool","tool_name":"read_file","content":"A"}],"total":4,"same_tools":true,"same_format":true}}`))
	v := ansi.Strip(m.View())
	if !strings.Contains(v, "▸ request · turn 2 · 4 messages (2 new)") || strings.Contains(v, "You help.") {
		t.Fatalf("want two folded request blocks:\n%s", v)
	}
	m, _ = m.Update(keyPress("["))
	m, _ = m.Update(keyPress("enter"))
	v = ansi.Strip(m.View())
	at := strings.Index(v, "▾ request · turn 2")
	if at < 0 || !strings.Contains(v[at:], "system: You help.") || !strings.Contains(v[at:], "tool read_file: A") {
		t.Fatalf("the second request unfolded does not show the whole conversation:\n%s", v)
	}
}

func TestAnAttemptsLiveOutputIsNotRepeatedByItsResult(t *testing.T) {
	t.Parallel()
	m := traceWith(60, 14)
	at := func(n int, typ engine.EventType, data string) engine.Event {
		e := logEvent(typ, data)
		e.Attempt = n
		return e
	}
	out := func(n int, text string) engine.Delta {
		d := delta("stdout", text)
		d.Attempt = n
		return d
	}
	m.AppendEvent(at(1, engine.StepStarted, `{"input":"run"}`))
	m.AppendDelta(out(1, "first try\n"))
	m.AppendEvent(at(1, engine.StepFailed, `{"output":"first try","error":"exit status 1","duration_ms":5}`))
	// The second attempt's output arrives before the log says it started.
	m.AppendDelta(out(2, "second try\n"))
	m.AppendEvent(at(2, engine.StepStarted, `{"input":"run"}`))
	m.AppendEvent(at(2, engine.StepSucceeded, `{"output":"second try","duration_ms":5}`))
	v := ansi.Strip(m.View())
	if strings.Count(v, "first try") != 1 || strings.Count(v, "second try") != 1 {
		t.Fatalf("an attempt's output shows more than once:\n%s", v)
	}
}

func TestTraceSearchCountsMatchesBeforeOneIsCurrent(t *testing.T) {
	t.Parallel()
	m := traceWith(60, 12)
	m.AppendDelta(delta("stdout", "cat one\ndog\ncat two\n"))
	m.query, m.match = "cat", -1 // a query kept from another step: nothing jumped to yet
	if h := ansi.Strip(m.header()); !strings.Contains(h, "/cat 2 matches · n next") {
		t.Fatalf("header = %q, want the count of matches", h)
	}
	m, _ = m.Update(keyPress("n"))
	if h := ansi.Strip(m.header()); !strings.Contains(h, "/cat 1/2") && !strings.Contains(h, "/cat 2/2") {
		t.Fatalf("after n the header = %q, want the current match of 2", h)
	}
}

func TestTraceSaysWhatAParkedStepWaitsFor(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ data, want string }{
		{`{"kind":"approval","prompt":"Start cooking?","events":["approval:ok"]}`, `── waiting for approval: "Start cooking?"`},
		{`{"kind":"wait","events":["paid","cancelled"]}`, `── waiting for event paid or cancelled`},
	} {
		m := traceWith(80, 6)
		m.AppendEvent(logEvent(engine.StepStarted, `{"input":"x"}`))
		m.AppendEvent(logEvent(engine.StepWaiting, tt.data))
		if s := ansi.Strip(m.View()); !strings.Contains(s, tt.want) || strings.Contains(s, "approval:ok") {
			t.Errorf("the trace of a step parked on %s does not say %q:\n%s", tt.data, tt.want, s)
		}
	}
}

// An approval's input is its prompt, which the waiting line says: it is not drawn as a command
// ("$ Ship it?"). A skipped step that runs after all (its failed need was retried) says it is
// no longer skipped, so the skip at the top does not read as what happened last.
func TestTraceOfAnApprovalRunAfterASkipReadsInOrder(t *testing.T) {
	t.Parallel()
	m := traceWith(80, 8)
	m.AppendEvent(logEvent(engine.StepSkipped, `{"reason":"needs flaky, which failed","cause":"need"}`))
	m.AppendEvent(logEvent(engine.StepStarted, `{"input":"Ship it?","kind":"approval"}`))
	m.AppendEvent(logEvent(engine.StepWaiting, `{"kind":"approval","prompt":"Ship it?","events":["approval:review"]}`))
	got := strings.Join(trimLines(ansi.Strip(m.View())), "\n")
	want := "── skipped: needs flaky, which failed\n── no longer skipped: a step it needs ran again or was set by hand\n── attempt 1 ──\n── waiting for approval: \"Ship it?\""
	if !strings.Contains(got, want) || strings.Contains(got, "$ Ship it?") {
		t.Errorf("trace:\n%s\nwant it to contain:\n%s", got, want)
	}
}
