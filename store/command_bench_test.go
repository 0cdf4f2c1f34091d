package store

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"tandem/engine"
	"tandem/flows"
)

// BenchmarkCommandSteps measures what tandem adds to a sequential `run: ["true"]` step beyond
// spawning the process from Go, per synchronous mode. The baseline spawns `true` with
// os/exec and captures its stdout and stderr through pipes, as the step does; the engine runs
// sequential steps with its real command executor on a real SQLite file, from Start to the
// end of the run. The two alternate in batches (spawns, a run, a run, spawns, ...), so a
// change in the machine's load falls on both. It reports the spawn and the step in ms, the
// overhead (their difference per step; also the median over the batches, which a burst of
// load in one batch moves less), the same against a spawn that captures nothing
// (bare_spawn_ms), the difference in the process's CPU per step (the steadier figure on a
// shared machine; the children's CPU is not in it), and what is left of the overhead beyond
// one raw durable commit (DurableSteps' floor, one INSERT and COMMIT, measured in each batch):
// at FULL that commit's fsync is most of the overhead.
//
//	go test -run '^$' -bench CommandSteps -benchtime 3x ./store/
func BenchmarkCommandSteps(b *testing.B) {
	const (
		// Per iteration, 4 batches of 100: a run's fixed costs (its start, lease and end) stay
		// small per step, and the spawns and the runs still alternate within a second.
		batches = 4
		n       = 100 // spawns of each kind, and steps in a run, per batch
	)
	truePath, err := exec.LookPath("true")
	if err != nil {
		b.Skip("no true on PATH")
	}
	for _, mode := range []string{SyncFull, SyncNormal} {
		b.Run(mode, func(b *testing.B) {
			var spawn, bare, step, floor, spawnCPU, stepCPU time.Duration
			var pairs []float64 // step minus spawn per batch, ms per step
			spawns := func() time.Duration {
				c, start := cpuTime(), time.Now()
				for range n {
					var out, errb bytes.Buffer
					cmd := exec.Command(truePath)
					cmd.Stdout, cmd.Stderr = &out, &errb
					if err := cmd.Run(); err != nil {
						b.Fatal(err)
					}
				}
				d := time.Since(start)
				spawn += d
				spawnCPU += cpuTime() - c
				start = time.Now()
				for range n {
					if err := exec.Command(truePath).Run(); err != nil {
						b.Fatal(err)
					}
				}
				bare += time.Since(start)
				floor += time.Duration(float64(n) / floorStepsPerSec(b, mode, n) * float64(time.Second))
				return d
			}
			for i := 0; i < b.N; i++ {
				for j := range batches {
					run := newCommandRun(b, mode, n)
					var s time.Duration
					if j%2 == 0 {
						s = spawns()
					}
					c := cpuTime()
					d := run()
					step += d
					stepCPU += cpuTime() - c
					if j%2 == 1 {
						s = spawns()
					}
					pairs = append(pairs, msOf(d-s)/n)
				}
			}
			per := func(d time.Duration) float64 { return msOf(d) / float64(b.N*batches*n) }
			slices.Sort(pairs)
			median := (pairs[(len(pairs)-1)/2] + pairs[len(pairs)/2]) / 2
			b.ReportMetric(per(spawn), "spawn_ms")
			b.ReportMetric(per(bare), "bare_spawn_ms")
			b.ReportMetric(per(step), "step_ms")
			b.ReportMetric(per(step)-per(spawn), "overhead_ms/step")
			b.ReportMetric(median, "overhead_median_ms/step")
			b.ReportMetric(per(step)-per(bare), "overhead_vs_bare_ms/step")
			b.ReportMetric(per(stepCPU)-per(spawnCPU), "overhead_cpu_ms/step")
			b.ReportMetric(per(floor), "floor_commit_ms")
			b.ReportMetric(per(step)-per(spawn)-per(floor), "overhead_beyond_commit_ms/step")
			b.Logf("synchronous=%s: spawn %.3f ms (bare %.3f), step %.3f ms: tandem's overhead %.3f ms per step (median of %d batches %.3f; %.3f over the bare spawn; %.3f beyond the floor's commit of %.3f ms); CPU spawn %.3f ms, step %.3f ms",
				mode, per(spawn), per(bare), per(step), per(step)-per(spawn), len(pairs), median, per(step)-per(bare),
				per(step)-per(spawn)-per(floor), per(floor), per(spawnCPU), per(stepCPU))
		})
	}
}

// msOf is d in milliseconds.
func msOf(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e6 }

// newCommandRun prepares a run of n sequential run: ["true"] steps on a fresh database (a file
// written and loaded, an engine) and returns what starts and executes it, timed.
func newCommandRun(b *testing.B, mode string, n int) func() time.Duration {
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
	return func() time.Duration {
		ctx := context.Background()
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
}
