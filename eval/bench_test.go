package eval_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"tandem/agents"
	"tandem/agents/ollama"
	"tandem/engine"
	"tandem/engine/modelsteps"
	"tandem/eval"
	"tandem/flows"
	"tandem/store"
)

// BenchmarkEvalOverhead measures what an eval adds per case to the same runs made through
// `tandem ask`, in one process, on one real SQLite file (tandem's default, synchronous
// FULL; EVALBENCH_SYNC=NORMAL for the other), against one scripted Ollama server over HTTP
// (the real client): every case, both ways, is the reader agent calling read_file and then
// answering, two model calls.
//
// One round has three arms, in an order that rotates from round to round so load from other
// processes falls on all of them: a suite of 10 cases through the eval runner (parse the
// suite, start the eval run, each case a child run, scored, results recorded, the report);
// 10 asks (what askOnce does: load the agent, parse its flow, start, a bus subscription,
// execute, read the end reason back from the log); and 10 bare runs (the parsed flow
// started and executed, nothing else: the floor). Every round gives the ratio of the eval to
// each of the other two, in wall time and in process CPU time (getrusage: user+system, less
// sensitive to a busy machine than wall time). It reports the median over the rounds
// (%over-ask-cpu is the goal's number) and the 25th and 75th percentiles:
//
//	go test -run '^$' -bench EvalOverhead -benchtime 40x ./eval/
func BenchmarkEvalOverhead(b *testing.B) {
	const cases = 10
	ctx := context.Background()
	dir := b.TempDir()
	srv := httptest.NewServer(http.HandlerFunc(scriptedReader))
	defer srv.Close()
	sync := store.SyncFull
	if os.Getenv("EVALBENCH_SYNC") == "NORMAL" {
		sync = store.SyncNormal
	}
	db, err := store.Open(ctx, filepath.Join(dir, "tandem.db"), store.Options{Synchronous: sync})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	e, err := engine.New(engine.Options{Store: db})
	if err != nil {
		b.Fatal(err)
	}
	client, err := ollama.New(srv.URL)
	if err != nil {
		b.Fatal(err)
	}
	e.Register(flows.KindAgent, modelsteps.AgentExecutor{Engine: e,
		Runner: &agents.Runner{Model: client, Caps: client, Memory: db, DefaultModel: "scripted"}})
	// The agent's workspace holds only its own files; the database, the suite and the eval's
	// work directory are elsewhere (as .tandem/ and $TMPDIR are), so its tools see the same
	// small tree every round, both ways.
	h := &harness{t: &testing.T{}, dir: filepath.Join(dir, "ws")}
	agentPath := h.write("reader.yaml", "name: reader\nsystem: You read config files.\ntools: [read_file]\ntool_calling: fallback\nmax_turns: 4\n")
	h.write("config/app.toml", "port = 8421\n")
	var src strings.Builder
	src.WriteString("name: bench\ntarget: ws/reader.yaml\ncases:\n")
	for i := range cases {
		fmt.Fprintf(&src, "  - id: c%d\n    input: What port does config/app.toml set?\n    expect:\n"+
			"      - contains: \"8421\"\n      - tool_called: { name: read_file, args: { path: config/app.toml } }\n      - max_turns: 3\n", i)
	}
	suitePath := filepath.Join(dir, "suite.yaml")
	if err := os.WriteFile(suitePath, []byte(src.String()), 0o644); err != nil {
		b.Fatal(err)
	}

	ask := func() {
		a, err := flows.LoadAgent(agentPath)
		if err != nil {
			b.Fatal(err)
		}
		fsrc, fpath := flows.AgentFlow(agentPath, a.Name)
		f, err := flows.Parse(fpath, fsrc)
		if err != nil {
			b.Fatal(err)
		}
		id, err := e.Start(ctx, f, flows.AgentInputs("What port does config/app.toml set?", "", ""), engine.StartOptions{})
		if err != nil {
			b.Fatal(err)
		}
		sub := e.Bus().Subscribe("")
		done := make(chan struct{})
		drained := make(chan struct{})
		go func() {
			defer close(drained)
			for {
				select {
				case <-sub.Ready():
					sub.Next()
				case <-done:
					sub.Next()
					return
				}
			}
		}()
		st, err := e.Execute(ctx, id)
		close(done)
		<-drained
		sub.Close()
		if err != nil || st.Status != engine.RunStatusSucceeded || !strings.Contains(st.Steps["agent"].Output, "8421") {
			b.Fatalf("ask: %v %v", st, err)
		}
		if reason := askEndReason(ctx, e, id); reason != "answer" {
			b.Fatalf("ask ended with %q", reason)
		}
	}
	r := &eval.Runner{Engine: e, WorkDir: filepath.Join(dir, "work")}
	runEval := func() {
		s, err := eval.Load(suitePath)
		if err != nil {
			b.Fatal(err)
		}
		rep, err := r.Start(ctx, s, eval.Options{})
		if err != nil || len(rep.Cells) != cases || rep.Failed() {
			b.Fatalf("eval: %+v %v", rep, err)
		}
	}
	// A bare run: the agent's one-step flow parsed once, started and executed, nothing else.
	// It is the floor both others stand on.
	a, err := flows.LoadAgent(agentPath)
	if err != nil {
		b.Fatal(err)
	}
	bareSrc, barePath := flows.AgentFlow(agentPath, a.Name)
	bareFlow, err := flows.Parse(barePath, bareSrc)
	if err != nil {
		b.Fatal(err)
	}
	bare := func() {
		id, err := e.Start(ctx, bareFlow, flows.AgentInputs("What port does config/app.toml set?", "", ""), engine.StartOptions{})
		if err != nil {
			b.Fatal(err)
		}
		if st, err := e.Execute(ctx, id); err != nil || st.Status != engine.RunStatusSucceeded {
			b.Fatalf("bare run: %v %v", st, err)
		}
	}
	// One of each first: the model client's connection, the store's caches.
	ask()
	bare()
	runEval()

	// Each arm of a round ends with a garbage collection, timed, so each pays for its own
	// garbage instead of leaving it to whichever arm runs next.
	arms := []struct {
		name      string
		run       func()
		wall, cpu time.Duration    // totals
		ratios    [2][]float64     // eval / this arm per round: wall, cpu
		last      [2]time.Duration // this round: wall, cpu
	}{
		{name: "eval", run: runEval},
		{name: "ask", run: func() {
			for range cases {
				ask()
			}
		}},
		{name: "bare", run: func() {
			for range cases {
				bare()
			}
		}},
	}
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		for k := range arms {
			arm := &arms[(i+k)%len(arms)] // rotate which arm goes first
			w0, c0 := time.Now(), processCPU()
			// The label follows the arm into the goroutines it starts: -cpuprofile, then
			// go tool pprof -tagfocus arm=eval, shows one arm's cost.
			pprof.Do(ctx, pprof.Labels("arm", arm.name), func(context.Context) { arm.run() })
			runtime.GC()
			arm.last = [2]time.Duration{time.Since(w0), processCPU() - c0}
			arm.wall, arm.cpu = arm.wall+arm.last[0], arm.cpu+arm.last[1]
		}
		for k := 1; k < len(arms); k++ {
			for m := range 2 {
				arms[k].ratios[m] = append(arms[k].ratios[m], float64(arms[0].last[m])/float64(arms[k].last[m]))
			}
		}
	}
	b.StopTimer()
	n := float64(b.N * cases)
	for _, arm := range arms {
		b.ReportMetric(float64(arm.wall.Microseconds())/n, "µs/"+arm.name+"-case")
		b.ReportMetric(float64(arm.cpu.Microseconds())/n, "cpu-µs/"+arm.name+"-case")
	}
	for _, arm := range arms[1:] {
		for m, kind := range []string{"wall", "cpu"} {
			r := arm.ratios[m]
			slices.Sort(r)
			unit := "%over-" + arm.name + "-" + kind
			b.ReportMetric(100*(quantile(r, 0.5)-1), unit)
			b.ReportMetric(100*(quantile(r, 0.25)-1), unit+"-p25")
			b.ReportMetric(100*(quantile(r, 0.75)-1), unit+"-p75")
		}
	}
}

// quantile is the q-quantile of sorted values (nearest rank).
func quantile(sorted []float64, q float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(int(q*float64(len(sorted))), len(sorted)-1)]
}

// processCPU is the user and system CPU time the process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// askEndReason reads a run's end reason back from its log, as `tandem ask` does.
func askEndReason(ctx context.Context, e *engine.Engine, runID string) string {
	events, err := e.Store().Events(ctx, runID, 0)
	if err != nil {
		return ""
	}
	reason := ""
	for _, ev := range events {
		var d engine.TraceData
		if ev.Type == engine.StepTrace && ev.Decode(&d) == nil && d.Kind == string(agents.KindEnd) {
			if rec, err := agents.Decode(d.Kind, d.Data); err == nil {
				reason = rec.(agents.End).EndReason
			}
		}
	}
	return reason
}

// scriptedReader plays a model without native tools on Ollama's API: the first reply of a
// conversation calls read_file on config/app.toml, the next one answers.
func scriptedReader(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/api/version":
		w.Write([]byte(`{"version":"0.17.4"}`))
	case "/api/show":
		w.Write([]byte(`{"capabilities":["completion"]}`))
	case "/api/tags":
		w.Write([]byte(`{"models":[{"name":"scripted"}]}`))
	case "/api/chat":
		var req struct{ Messages []struct{ Role string } }
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		content := `{"tool": "read_file", "arguments": {"path": "config/app.toml"}}`
		for _, m := range req.Messages {
			if m.Role == "assistant" {
				content = `{"answer": "The port is 8421."}`
			}
		}
		enc := json.NewEncoder(w)
		enc.Encode(map[string]any{"model": "scripted", "created_at": "2025-01-02T03:04:05Z",
			"message": map[string]any{"role": "assistant", "content": content}, "done": false})
		enc.Encode(map[string]any{"model": "scripted", "created_at": "2025-01-02T03:04:05Z",
			"message": map[string]any{"role": "assistant", "content": ""}, "done": true,
			"done_reason": "stop", "prompt_eval_count": 10, "eval_count": 5})
	default:
		http.NotFound(w, r)
	}
}
