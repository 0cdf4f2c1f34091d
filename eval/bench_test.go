package eval_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"tandem/agents"
	"tandem/agents/model"
	"tandem/engine"
	"tandem/engine/modelsteps"
	"tandem/eval"
	"tandem/flows"
	"tandem/store"
)

// BenchmarkEvalOverheadPerCase runs the same agent case both ways on a real SQLite file: as
// `tandem ask` does (AgentFlow, Start, Execute), and as one cell of an eval suite (a child
// run of the eval run, scored and recorded). The model is scripted and answers at once, so
// the numbers are the durable-run cost alone; with a real model every run takes seconds and
// the eval's extra milliseconds are a smaller share. It reports both per-case times and the
// overhead in percent.
func BenchmarkEvalOverheadPerCase(b *testing.B) {
	const cases = 10
	ctx := context.Background()
	dir := b.TempDir()
	db, err := store.Open(ctx, filepath.Join(dir, "tandem.db"), store.Options{Synchronous: store.SyncNormal})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	e, err := engine.New(engine.Options{Store: db})
	if err != nil {
		b.Fatal(err)
	}
	fake := &model.Fake{Respond: func(model.Request) (model.FakeReply, error) { return reply(`{"answer": "8421"}`), nil }}
	e.Register(flows.KindAgent, modelsteps.AgentExecutor{Engine: e, Runner: &agents.Runner{Model: fake, DefaultModel: "fake"}})
	agentPath := filepath.Join(dir, "agent.yaml")
	h := &harness{t: &testing.T{}, dir: dir}
	h.write("agent.yaml", "name: a\nsystem: s\ntool_calling: fallback\n")
	var src strings.Builder
	src.WriteString("name: bench\ntarget: agent.yaml\ncases:\n")
	for i := range cases {
		fmt.Fprintf(&src, "  - id: c%d\n    input: What port?\n    expect: [{ contains: \"8421\" }, { max_turns: 2 }]\n", i)
	}
	s, err := eval.Parse(h.write("suite.yaml", src.String()), []byte(src.String()))
	if err != nil {
		b.Fatal(err)
	}
	a, err := flows.LoadAgent(agentPath)
	if err != nil {
		b.Fatal(err)
	}
	fsrc, fpath := flows.AgentFlow(agentPath, a.Name)
	f, err := flows.Parse(fpath, fsrc)
	if err != nil {
		b.Fatal(err)
	}
	ask := func() {
		id, err := e.Start(ctx, f, flows.AgentInputs("What port?", "", ""), engine.StartOptions{})
		if err != nil {
			b.Fatal(err)
		}
		if st, err := e.Execute(ctx, id); err != nil || st.Status != engine.RunStatusSucceeded {
			b.Fatalf("%v %v", st, err)
		}
	}
	r := &eval.Runner{Engine: e, WorkDir: filepath.Join(dir, "work")}
	var askTime, evalTime time.Duration
	b.ResetTimer()
	for b.Loop() {
		t0 := time.Now()
		for range cases {
			ask()
		}
		t1 := time.Now()
		rep, err := r.Start(ctx, s, eval.Options{})
		if err != nil || len(rep.Cells) != cases || rep.Failed() {
			b.Fatalf("%+v %v", rep, err)
		}
		askTime += t1.Sub(t0)
		evalTime += time.Since(t1)
	}
	n := float64(b.N * cases)
	b.ReportMetric(float64(askTime.Microseconds())/n, "µs/ask-case")
	b.ReportMetric(float64(evalTime.Microseconds())/n, "µs/eval-case")
	b.ReportMetric(100*(float64(evalTime)-float64(askTime))/float64(askTime), "%overhead")
}
