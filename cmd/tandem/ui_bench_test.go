package main_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"tandem/engine"
	"tandem/flows"
	"tandem/store"
	"tandem/ui"
)

// BenchmarkUIStartupWith1000Runs measures the workbench's start-up to its first real frame
// on a database (a real SQLite file) holding 1,000 finished runs: open the store, build the
// engine and the UI model, run Init's commands and feed their messages back until the
// frame lists the runs. The baseline, measured in the same run, is opening the store alone.
// The target is under 200 ms.
//
//	go test -run '^$' -bench UIStartup ./cmd/tandem/
func BenchmarkUIStartupWith1000Runs(b *testing.B) {
	const runs = 1000
	dir := b.TempDir()
	path := filepath.Join(dir, ".tandem", "tandem.db")
	src := "name: bench\nsteps:\n  - id: a\n    shell: 'true'\n  - id: b\n    needs: [a]\n    shell: 'true'\n"
	if err := os.WriteFile(filepath.Join(dir, "bench.yaml"), []byte(src), 0o644); err != nil {
		b.Fatal(err)
	}
	seedRuns(b, path, filepath.Join(dir, "bench.yaml"), runs)
	b.ResetTimer()

	var open, first time.Duration
	for i := 0; i < b.N; i++ {
		o, f := startupOnce(b, path, dir)
		open += o
		first += f
	}
	n := float64(b.N)
	b.ReportMetric(float64(first.Microseconds())/n/1e3, "ms/first_frame")
	b.ReportMetric(float64(open.Microseconds())/n/1e3, "baseline_ms/open_store")
	b.ReportMetric(float64(first)/float64(max(open, 1)), "x_baseline")
}

// seedRuns records n finished runs of the flow at flowPath, each executed by the engine
// (with no-op shell steps, so seeding is quick) into the database at path.
func seedRuns(b *testing.B, path, flowPath string, n int) {
	b.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, path, store.Options{Synchronous: store.SyncNormal})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	eng, err := engine.New(engine.Options{Store: db, Parallel: 1})
	if err != nil {
		b.Fatal(err)
	}
	eng.Register(flows.KindShell, noopShell{})
	f, err := flows.Load(flowPath)
	if err != nil {
		b.Fatal(err)
	}
	for i := 0; i < n; i++ {
		id, err := eng.Start(ctx, f, map[string]any{}, engine.StartOptions{})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := eng.Execute(ctx, id); err != nil {
			b.Fatal(err)
		}
	}
}

type noopShell struct{}

func (noopShell) Prepare(s *flows.Step, _ map[string]any) (string, error) { return s.Shell, nil }
func (noopShell) Execute(context.Context, *engine.StepRun) (engine.Result, error) {
	return engine.Result{Output: "ok"}, nil
}

// startupOnce returns how long opening the store took (the baseline, measured on its own)
// and how long the whole start-up to the first frame with the runs listed took.
func startupOnce(b *testing.B, path, dir string) (open, first time.Duration) {
	b.Helper()
	ctx := context.Background()
	start := time.Now()
	db, err := store.Open(ctx, path, store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	open = time.Since(start)
	if err := db.Close(); err != nil {
		b.Fatal(err)
	}

	start = time.Now()
	db, err = store.Open(ctx, path, store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	eng, err := engine.New(engine.Options{Store: db})
	if err != nil {
		b.Fatal(err)
	}
	m := ui.New(ui.Options{Engine: eng, Store: db, Dir: dir})
	defer func() { m.Shutdown() }()
	m = firstFrame(b, m, func(screen string) bool {
		return strings.Contains(screen, "▸ bench") && strings.Contains(screen, "✓ bench ")
	})
	first = time.Since(start)
	return open, first
}

// firstFrame plays a program's start-up without a terminal: the window size, then Init's
// commands, each in its own goroutine as Bubble Tea runs them, feeding their messages back
// through Update until the view satisfies ready. Commands still waiting (ticks, the bus)
// are abandoned when it returns.
func firstFrame(b *testing.B, m ui.Model, ready func(screen string) bool) ui.Model {
	b.Helper()
	msgs := make(chan tea.Msg, 64)
	done := make(chan struct{})
	defer close(done)
	spawn := func(c tea.Cmd) {
		if c == nil {
			return
		}
		go func() {
			select {
			case msgs <- c():
			case <-done:
			}
		}()
	}
	update := func(msg tea.Msg) {
		next, cmd := m.Update(msg)
		m = next.(ui.Model)
		spawn(cmd)
	}
	update(tea.WindowSizeMsg{Width: 160, Height: 45})
	spawn(m.Init())
	deadline := time.After(30 * time.Second)
	for !ready(ansi.Strip(m.View().Content)) {
		select {
		case msg := <-msgs:
			if batch, ok := msg.(tea.BatchMsg); ok {
				for _, c := range batch {
					spawn(c)
				}
				continue
			}
			if msg != nil {
				update(msg)
			}
		case <-deadline:
			b.Fatalf("no frame listed the runs within 30s:\n%s", m.View().Content)
		}
	}
	return m
}

// BenchmarkUIStartupWith100000Runs measures the workbench's first frame listing the runs on a
// database holding 100,000 runs (store.SeedRuns) and on an empty one, interleaved in the same
// run; each also has one real run of the workspace's flow, the newest, which the frame must
// show. It reports both and their ratio, which should stay near 1: the sidebar reads one
// page of runs through an index, whatever the database holds.
//
//	go test -run '^$' -bench UIStartupWith100000 -benchtime 10x ./cmd/tandem/
func BenchmarkUIStartupWith100000Runs(b *testing.B) {
	const seeded = 100_000
	src := "name: bench\nsteps:\n  - id: a\n    shell: 'true'\n  - id: b\n    needs: [a]\n    shell: 'true'\n"
	workspace := func(runs int) (dir, path string) {
		dir = b.TempDir()
		path = filepath.Join(dir, ".tandem", "tandem.db")
		if err := os.WriteFile(filepath.Join(dir, "bench.yaml"), []byte(src), 0o644); err != nil {
			b.Fatal(err)
		}
		db, err := store.Open(context.Background(), path, store.Options{Synchronous: store.SyncNormal})
		if err != nil {
			b.Fatal(err)
		}
		if err := db.SeedRuns(context.Background(), runs, time.Now().Add(-time.Hour)); err != nil {
			b.Fatal(err)
		}
		if err := db.Close(); err != nil {
			b.Fatal(err)
		}
		seedRuns(b, path, filepath.Join(dir, "bench.yaml"), 1)
		return dir, path
	}
	emptyDir, emptyPath := workspace(0)
	fullDir, fullPath := workspace(seeded)
	b.ResetTimer()

	var empty, full time.Duration
	for i := 0; i < b.N; i++ {
		_, e := startupOnce(b, emptyPath, emptyDir)
		_, f := startupOnce(b, fullPath, fullDir)
		empty += e
		full += f
	}
	n := float64(b.N)
	b.ReportMetric(float64(full.Microseconds())/n/1e3, "ms/first_frame_100k")
	b.ReportMetric(float64(empty.Microseconds())/n/1e3, "baseline_ms/first_frame_empty")
	b.ReportMetric(float64(full)/float64(max(empty, 1)), "x_baseline")
}
