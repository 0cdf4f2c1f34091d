package store

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"tandem/engine"
	"tandem/flows"
)

// BenchmarkCommandSteps measures what tandem adds to a sequential `run: ["true"]` step beyond
// spawning the process: in one run, n spawns of `true` straight from Go (the baseline) and
// the engine running n such steps one after another with its real command executor on a real
// SQLite file, per synchronous mode. It reports the spawn and the step in ms and the
// overhead, the difference per step.
//
//	go test -run '^$' -bench CommandSteps -benchtime 3x ./store/
func BenchmarkCommandSteps(b *testing.B) {
	const n = 200
	truePath, err := exec.LookPath("true")
	if err != nil {
		b.Skip("no true on PATH")
	}
	for _, mode := range []string{SyncFull, SyncNormal} {
		b.Run(mode, func(b *testing.B) {
			var spawn, step time.Duration
			for i := 0; i < b.N; i++ {
				start := time.Now()
				for j := 0; j < n; j++ {
					if err := exec.Command(truePath).Run(); err != nil {
						b.Fatal(err)
					}
				}
				spawn += time.Since(start)
				step += commandRun(b, mode, n)
			}
			per := func(d time.Duration) float64 { return float64(d.Microseconds()) / float64(b.N*n) / 1e3 }
			b.ReportMetric(per(spawn), "spawn_ms")
			b.ReportMetric(per(step), "step_ms")
			b.ReportMetric(per(step)-per(spawn), "overhead_ms/step")
			b.Logf("synchronous=%s: spawn %.3f ms, step %.3f ms, tandem's overhead %.3f ms per step",
				mode, per(spawn), per(step), per(step)-per(spawn))
		})
	}
}

// commandRun starts and executes n sequential run: ["true"] steps and returns how long it took.
func commandRun(b *testing.B, mode string, n int) time.Duration {
	ctx := context.Background()
	db := openBench(b, mode)
	var sb strings.Builder
	sb.WriteString("name: commands\nsteps:\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&sb, "  - id: s%d\n    run: [\"true\"]\n", i)
		if i > 0 {
			fmt.Fprintf(&sb, "    needs: [s%d]\n", i-1)
		}
	}
	path := filepath.Join(b.TempDir(), "commands.yaml")
	if err := os.WriteFile(path, []byte(sb.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	f, err := flows.Load(path)
	if err != nil {
		b.Fatal(err)
	}
	eng, err := engine.New(engine.Options{Store: db})
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	id, err := eng.Start(ctx, f, map[string]any{}, engine.StartOptions{})
	if err != nil {
		b.Fatal(err)
	}
	if st, err := eng.Execute(ctx, id); err != nil || st.Status != engine.RunStatusSucceeded {
		b.Fatalf("run: %v %v", err, st.Error)
	}
	return time.Since(start)
}
