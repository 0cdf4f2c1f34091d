package ui

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"

	"tandem/agents/model"
	"tandem/engine"
	"tandem/engine/memstore"
	"tandem/engine/modelsteps"
	"tandem/flows"
)

// The rendering benchmarks of issue 6. Each reports its cost next to a baseline measured in
// the same run, so the figures read as ratios rather than machine-dependent times:
//
//	go test -run '^$' -bench 'DAGFrame|TraceLongAppend|StreamingCPU' ./ui/
//
// Targets: under 2 ms per frame for a 200-node DAG, under 1 ms per appended token on a
// 100,000-line trace, under 25% of one core while a reply streams at 100 tokens/s.

// BenchmarkDAGFrame measures one DAG frame for 10, 200 and 1,000 nodes: a spinner tick, one
// more step starting (relabel, repaint, render the visible window), against writing the same
// node labels into a strings.Builder. Steps are never finished, so after n frames every box
// animates: the worst case.
func BenchmarkDAGFrame(b *testing.B) {
	for _, n := range []int{10, 200, 1000} {
		b.Run(fmt.Sprintf("nodes=%d", n), func(b *testing.B) {
			f := bigFlow(n, max(n/10, 2))
			m := NewDAG(NewTheme(true))
			m.SetSize(120, 40)
			st := runState()
			m.SetRun("r1", f, st, t0)
			change := func(i int) {
				st.Steps[f.Steps[i%n].ID] = &engine.StepState{Status: engine.StatusRunning,
					Attempts: []engine.Attempt{{N: 1, Status: engine.StatusRunning, StartedAt: t0}}}
			}
			b.ReportAllocs()
			b.ResetTimer()
			start := time.Now()
			for i := 0; i < b.N; i++ {
				m, _ = m.Update(FrameMsg{Now: t0.Add(time.Duration(i) * time.Millisecond)})
				change(i)
				m.SetState(st, t0)
				if m.View() == "" {
					b.Fatal("empty frame")
				}
			}
			frame := time.Since(start)
			b.StopTimer()

			base := timeN(b.N, func(i int) {
				change(i)
				if plainDAG(f, st) == "" {
					b.Fatal("empty baseline")
				}
			})
			reportRatio(b, frame, base, "frame")
		})
	}
}

// plainDAG is the baseline: every node's label on a line of its own, no layout or styles.
func plainDAG(f *flows.Flow, st *engine.State) string {
	var b strings.Builder
	for _, s := range f.Steps {
		status := string(engine.StatusPending)
		attempts := 0
		if ss := st.Steps[s.ID]; ss != nil {
			status, attempts = string(ss.Status), len(ss.Attempts)
		}
		b.WriteString(statusIcon(status, 0))
		b.WriteByte(' ')
		b.WriteString(s.ID)
		b.WriteByte(' ')
		b.WriteString(string(s.Kind))
		if attempts > 0 {
			fmt.Fprintf(&b, " · %d", attempts)
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// BenchmarkTraceLongAppend measures appending one streamed token to a 100,000-line trace
// together with the View it triggers: the trace pane's alone, and the whole screen's (the
// app's Update of a bus notice and its View, which is what a live token costs). The baseline
// appends the token to a plain slice of lines and joins the visible lines.
func BenchmarkTraceLongAppend(b *testing.B) {
	const lines = 100000
	longLine := func(i int) string { return fmt.Sprintf("line %d of a long trace with some words in it\n", i) }
	token := func(i int) string {
		if i%50 == 49 {
			return "token\n"
		}
		return "token "
	}

	b.Run("pane", func(b *testing.B) {
		m := traceWith(100, 40)
		for i := range lines {
			m.AppendDelta(delta("content", longLine(i)))
		}
		b.ReportAllocs()
		b.ResetTimer()
		start := time.Now()
		for i := 0; i < b.N; i++ {
			m.AppendDelta(delta("content", token(i)))
			if m.View() == "" {
				b.Fatal("empty view")
			}
		}
		el := time.Since(start)
		b.StopTimer()
		reportRatio(b, el, plainTraceAppend(b.N, lines, 40, longLine, token), "token")
	})

	b.Run("screen", func(b *testing.B) {
		m := streamingApp(b, 160, 45)
		for i := range lines {
			m.trace.AppendDelta(engine.Delta{RunID: "r1", StepID: "ask", Stream: "content", Text: longLine(i)})
		}
		b.ReportAllocs()
		b.ResetTimer()
		start := time.Now()
		for i := 0; i < b.N; i++ {
			d := engine.Delta{RunID: "r1", StepID: "ask", Stream: "content", Text: token(i)}
			next, _ := m.Update(noticesMsg{notices: []engine.Notice{{Delta: &d}}})
			m = next.(Model)
			if m.View().Content == "" {
				b.Fatal("empty screen")
			}
		}
		el := time.Since(start)
		b.StopTimer()
		reportRatio(b, el, plainTraceAppend(b.N, lines, 40, longLine, token), "token")
	})
}

// plainTraceAppend is the baseline: a plain slice of n lines, each token appended to the
// last line (or starting a new one), and the last h lines joined as the "view".
func plainTraceAppend(iters, n, h int, line, token func(int) string) time.Duration {
	ls := make([]string, 0, n+iters)
	for i := range n {
		ls = append(ls, strings.TrimSuffix(line(i), "\n"))
	}
	ls = append(ls, "")
	var sink int
	d := timeN(iters, func(i int) {
		t := token(i)
		if strings.HasSuffix(t, "\n") {
			ls[len(ls)-1] += strings.TrimSuffix(t, "\n")
			ls = append(ls, "")
		} else {
			ls[len(ls)-1] += t
		}
		var b strings.Builder
		for _, l := range ls[len(ls)-h:] {
			b.WriteString(l)
			b.WriteByte('\n')
		}
		sink += b.Len()
	})
	if sink == 0 {
		panic("baseline rendered nothing")
	}
	return d
}

// streamingApp is a read-only workbench at w x h with run r1 open on its llm step "ask".
func streamingApp(b *testing.B, w, h int) Model {
	b.Helper()
	f := &flows.Flow{Name: "chat", Steps: []*flows.Step{{ID: "ask", Kind: flows.KindLLM}, step("after", flows.KindShell, "ask")}}
	evs := []engine.Event{
		{Seq: 1, RunID: "r1", Type: engine.RunStarted, Time: t0, Data: []byte(`{"flow_name":"chat"}`)},
		{Seq: 2, RunID: "r1", StepID: "ask", Attempt: 1, Type: engine.StepStarted, Time: t0, Data: []byte(`{"input":"tell me a long story"}`)},
	}
	m := New(Options{Now: func() time.Time { return t0 }})
	for _, msg := range []tea.Msg{tea.WindowSizeMsg{Width: w, Height: h},
		runLoadedMsg{runID: "r1", flow: f, events: evs}} {
		next, _ := m.Update(msg)
		m = next.(Model)
	}
	if m.trace.Step() != "ask" {
		b.Fatalf("the trace shows %q, want ask", m.trace.Step())
	}
	return m
}

// BenchmarkStreamingCPU runs the workbench in a real Bubble Tea program (rendering true
// colour to a discarded output at 160x45) while an llm step streams a reply at 100 tokens/s
// through the engine: executor, bus, waitNotices, Update, View and the renderer. It reports
// the process's CPU time over wall time as a percentage of one core, next to the same
// program idling for the same time before the run starts.
func BenchmarkStreamingCPU(b *testing.B) {
	const (
		rate   = 100 // tokens per second
		tokens = 300 // three seconds of streaming
	)
	for i := 0; i < b.N; i++ {
		idle, busy, frames := streamingCPU(b, rate, tokens)
		b.ReportMetric(busy, "%core_streaming")
		b.ReportMetric(idle, "%core_idle")
		b.ReportMetric(busy/max(idle, 0.01), "x_idle")
		b.ReportMetric(float64(frames)/(float64(tokens)/rate), "renders/s")
		if busy > 25 {
			b.Logf("over target: %.1f%% of one core while streaming (target 25%%)", busy)
		}
	}
}

// pacedModel streams n tokens at rate per second, like a model server would.
type pacedModel struct {
	rate, n int
	sent    atomic.Int64
	started chan struct{}
	done    chan struct{}
}

var _ model.Model = (*pacedModel)(nil)

func (p *pacedModel) Chat(ctx context.Context, _ model.Request, onDelta func(model.Delta)) (model.Response, error) {
	close(p.started)
	defer close(p.done)
	tick := time.NewTicker(time.Second / time.Duration(p.rate))
	defer tick.Stop()
	var resp model.Response
	resp.Message.Role = "assistant"
	for i := 0; i < p.n; i++ {
		select {
		case <-ctx.Done():
			resp.Incomplete = true
			return resp, ctx.Err()
		case <-tick.C:
		}
		t := " word"
		if i%12 == 11 {
			t = " word.\n"
		}
		resp.Message.Content += t
		onDelta(model.Delta{Content: t})
		p.sent.Add(1)
	}
	resp.DoneReason = "stop"
	resp.Usage = model.Usage{OutputTokens: p.n}
	return resp, nil
}

// countingDiscard counts the renderer's writes (frames flushed) and drops them.
type countingDiscard struct{ writes atomic.Int64 }

func (c *countingDiscard) Write(p []byte) (int, error) { c.writes.Add(1); return len(p), nil }

func streamingCPU(b *testing.B, rate, tokens int) (idlePct, busyPct float64, frames int64) {
	b.Helper()
	dir := b.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "story.yaml"),
		[]byte("name: story\nsteps:\n  - id: ask\n    llm: tell me a long story\n  - id: after\n    needs: [ask]\n    shell: 'true'\n"), 0o644); err != nil {
		b.Fatal(err)
	}
	st := memstore.New()
	eng, err := engine.New(engine.Options{Store: st, Parallel: 1})
	if err != nil {
		b.Fatal(err)
	}
	paced := &pacedModel{rate: rate, n: tokens, started: make(chan struct{}), done: make(chan struct{})}
	eng.Register(flows.KindLLM, modelsteps.LLMExecutor{Model: paced, DefaultModel: "m"})

	m := New(Options{Engine: eng, Store: st, Dir: dir})
	out := &countingDiscard{}
	p := tea.NewProgram(m, tea.WithInput(nil), tea.WithOutput(out), tea.WithWindowSize(160, 45),
		tea.WithColorProfile(colorprofile.TrueColor), tea.WithoutSignalHandler(),
		tea.WithEnvironment([]string{"TERM=xterm-256color"}))
	final := make(chan tea.Model, 1)
	go func() {
		fm, err := p.Run()
		if err != nil {
			b.Error(err)
		}
		final <- fm
	}()

	// Idle: once the first frame is out, the program is up (ticks, polling, rendering
	// nothing new) for a one-second measurement window.
	for deadline := time.Now().Add(30 * time.Second); out.writes.Load() == 0; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			b.Fatal("the program rendered nothing")
		}
	}
	idlePct = cpuPercent(func() { time.Sleep(time.Second) })

	// Streaming: r on the sidebar's only flow starts the run the same way a person does.
	p.Send(tea.KeyPressMsg{Code: 'r', Text: "r"})
	select {
	case <-paced.started:
	case <-time.After(30 * time.Second):
		b.Fatal("the llm step never started")
	}
	before := out.writes.Load()
	busyPct = cpuPercent(func() {
		select {
		case <-paced.done:
		case <-time.After(60 * time.Second):
			b.Fatal("the reply never finished")
		}
	})
	frames = out.writes.Load() - before
	if got := paced.sent.Load(); got != int64(tokens) {
		b.Fatalf("streamed %d tokens, want %d", got, tokens)
	}

	p.Send(tea.KeyPressMsg{Code: 'q', Text: "q"})
	select {
	case fm := <-final:
		if fm, ok := fm.(Model); ok {
			fm.Shutdown()
		}
	case <-time.After(30 * time.Second):
		p.Kill()
		b.Fatal("the program did not quit")
	}
	return idlePct, busyPct, frames
}

// cpuPercent runs fn and returns the process's CPU time (user + system) over the wall time
// it took, as a percentage of one core.
func cpuPercent(fn func()) float64 {
	cpu := func() time.Duration {
		var ru syscall.Rusage
		_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	c0, t0 := cpu(), time.Now()
	fn()
	return 100 * float64(cpu()-c0) / float64(time.Since(t0))
}

// timeN runs fn n times and returns the total time.
func timeN(n int, fn func(i int)) time.Duration {
	start := time.Now()
	for i := 0; i < n; i++ {
		fn(i)
	}
	return time.Since(start)
}

// reportRatio reports the measured cost per op in ms, the baseline's in ns and their ratio.
func reportRatio(b *testing.B, got, base time.Duration, unit string) {
	n := float64(b.N)
	b.ReportMetric(float64(got.Nanoseconds())/n/1e6, "ms/"+unit)
	b.ReportMetric(float64(base.Nanoseconds())/n, "baseline_ns/"+unit)
	b.ReportMetric(float64(got)/float64(max(base, 1)), "x_baseline")
}

// BenchmarkDAGLayoutChoice measures choosing and making the layout of a 1,000-node flow for
// a pane (ranking the boxes to see whether they fit, then the compact form they do not fit
// as), against the baseline of writing its labels (plainDAG). Goal: under 10 ms.
func BenchmarkDAGLayoutChoice(b *testing.B) {
	f := bigFlow(1000, 30)
	m := NewDAG(NewTheme(true))
	m.SetSize(68, 40)
	m.SetRun("r1", f, nil, t0)
	nodes := m.layout.nodes
	st := runState()
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		m.relayout(nodes)
	}
	got := time.Since(start)
	b.StopTimer()
	if !m.layout.compact {
		b.Fatal("1,000 nodes fit a 68x40 pane as boxes")
	}
	base := timeN(b.N, func(int) {
		if plainDAG(f, st) == "" {
			b.Fatal("empty baseline")
		}
	})
	reportRatio(b, got, base, "layout")
}
