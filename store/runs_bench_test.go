package store

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"tandem/engine"
	"tandem/flows"
)

// BenchmarkRunIndex measures what a command does against a database holding 100,000 runs
// (SeedRuns, plus a child under every tenth) and against a nearly empty one holding a single
// page of 50 (so both listings return as many rows), in the same run and interleaved: the first page of `tandem runs`, `tandem show` of a run by an id prefix
// (find, read its log, fold it), and starting and executing a one-step run. It reports each
// figure and its ratio to the empty database, which should stay near 1.
//
//	go test -run '^$' -bench RunIndex -benchtime 3x ./store/
func BenchmarkRunIndex(b *testing.B) {
	const seeded, page, rounds = 100_000, 50, 50
	ctx := context.Background()
	empty, full := newIndexBench(b, page), newIndexBench(b, seeded)
	var times [2][3]time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for r := 0; r < rounds; r++ {
			for k, x := range []*indexBench{empty, full} {
				times[k][0] += x.timeList(ctx, b)
				times[k][1] += x.timeShow(ctx, b)
				times[k][2] += x.timeStart(ctx, b)
			}
		}
	}
	n := float64(b.N * rounds)
	for j, name := range []string{"list", "show", "start"} {
		e, f := float64(times[0][j].Microseconds())/n, float64(times[1][j].Microseconds())/n
		b.ReportMetric(f/1e3, name+"_ms")
		b.ReportMetric(f/max(e, 1), name+"_100k/empty")
		b.Logf("%-5s 100,000 runs %.3f ms, empty %.3f ms: %.2fx", name, f/1e3, e/1e3, f/max(e, 1))
	}
}

// indexBench is a database, an engine over it with a no-op shell, a flow to start and a run
// to show.
type indexBench struct {
	db   *DB
	eng  *engine.Engine
	flow *flows.Flow
	show string // an id prefix of a run started by the benchmark
}

func newIndexBench(b *testing.B, runs int) *indexBench {
	b.Helper()
	ctx := context.Background()
	x := &indexBench{db: openBench(b, SyncNormal)}
	if err := x.db.SeedRuns(ctx, runs, time.Now()); err != nil {
		b.Fatal(err)
	}
	path := filepath.Join(b.TempDir(), "one.yaml")
	if err := os.WriteFile(path, []byte("name: one\nsteps:\n  - id: a\n    shell: noop\n  - id: b\n    needs: [a]\n    shell: noop\n"), 0o644); err != nil {
		b.Fatal(err)
	}
	var err error
	if x.flow, err = flows.Load(path); err != nil {
		b.Fatal(err)
	}
	if x.eng, err = engine.New(engine.Options{Store: x.db, Parallel: 2}); err != nil {
		b.Fatal(err)
	}
	x.eng.Register(flows.KindShell, noopExecutor{})
	id := x.start(ctx, b)
	x.show = id[:10]
	return x
}

func (x *indexBench) start(ctx context.Context, b *testing.B) string {
	id, err := x.eng.Start(ctx, x.flow, map[string]any{}, engine.StartOptions{})
	if err != nil {
		b.Fatal(err)
	}
	if st, err := x.eng.Execute(ctx, id); err != nil || st.Status != engine.RunStatusSucceeded {
		b.Fatalf("run %s: %v", id, err)
	}
	return id
}

func (x *indexBench) timeStart(ctx context.Context, b *testing.B) time.Duration {
	t := time.Now()
	x.start(ctx, b)
	return time.Since(t)
}

func (x *indexBench) timeList(ctx context.Context, b *testing.B) time.Duration {
	t := time.Now()
	runs, err := x.db.Runs(ctx, engine.RunQuery{TopLevel: true, Limit: 50})
	if err != nil || len(runs) != 50 {
		b.Fatalf("list: %d runs, %v", len(runs), err)
	}
	return time.Since(t)
}

func (x *indexBench) timeShow(ctx context.Context, b *testing.B) time.Duration {
	t := time.Now()
	info, err := x.db.Run(ctx, x.show)
	if err != nil {
		b.Fatal(err)
	}
	evs, err := x.db.Events(ctx, info.ID, 0)
	if err != nil {
		b.Fatal(err)
	}
	if st := engine.Fold(evs); st.Status != engine.RunStatusSucceeded {
		b.Fatalf("show %s: %s", info.ID, st.Status)
	}
	return time.Since(t)
}
