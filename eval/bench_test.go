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
// `tandem ask` does (AgentFlow, Start, Execute), and as cells of eval suites (child runs of
// the eval run, scored and recorded). The model is scripted and answers at once, so the
// numbers are the durable-run cost alone; with a real model every run takes seconds and the
// eval's extra milliseconds are a smaller share. Each iteration runs 10 asks, a suite of 10
// cases and one of 40, interleaved, so load on the machine falls on all of them. It reports
// the per-case times of the asks and of the 10-case suite, the overhead of that suite, the
// marginal overhead of one more case (from the two suites' difference: what a case costs
// beyond an ask) and the fixed cost of an eval run (what the 10-case suite costs beyond its
// cases at that marginal rate).
func BenchmarkEvalOverheadPerCase(b *testing.B) {
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
	suite := func(n int) *eval.Suite {
		var src strings.Builder
		src.WriteString("name: bench\ntarget: agent.yaml\ncases:\n")
		for i := range n {
			fmt.Fprintf(&src, "  - id: c%d\n    input: What port?\n    expect: [{ contains: \"8421\" }, { max_turns: 2 }]\n", i)
		}
		s, err := eval.Parse(h.write(fmt.Sprintf("suite%d.yaml", n), src.String()), []byte(src.String()))
		if err != nil {
			b.Fatal(err)
		}
		return s
	}
	small, large := suite(10), suite(40)
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
	run := func(s *eval.Suite, n int) time.Duration {
		t0 := time.Now()
		rep, err := r.Start(ctx, s, eval.Options{})
		if err != nil || len(rep.Cells) != n || rep.Failed() {
			b.Fatalf("%+v %v", rep, err)
		}
		return time.Since(t0)
	}
	var askTime, smallTime, largeTime time.Duration
	b.ResetTimer()
	for b.Loop() {
		t0 := time.Now()
		for range 10 {
			ask()
		}
		askTime += time.Since(t0)
		smallTime += run(small, 10)
		largeTime += run(large, 40)
	}
	n := float64(b.N)
	perAsk := float64(askTime.Microseconds()) / n / 10
	perSmall := float64(smallTime.Microseconds()) / n / 10
	marginal := float64((largeTime - smallTime).Microseconds()) / n / 30
	b.ReportMetric(perAsk, "µs/ask-case")
	b.ReportMetric(perSmall, "µs/eval-case")
	b.ReportMetric(100*(perSmall-perAsk)/perAsk, "%overhead")
	b.ReportMetric(100*(marginal-perAsk)/perAsk, "%overhead-per-more-case")
	b.ReportMetric(float64(smallTime.Microseconds())/n-10*marginal, "µs-fixed/eval")
}
