package store

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"tandem/engine"
	"tandem/flows"
)

// BenchmarkDurableSteps measures, in one run and for each synchronous mode, the raw floor
// (one INSERT + commit per step into a database opened with the same pragmas, through
// database/sql's Tx) against the engine running 1,000 sequential no-op steps and a
// 1,000-wide fan-out, and reports steps/s and the engine/floor cost ratio. It also reports
// the sequential run against a stricter floor, the same INSERT + COMMIT on one held
// connection with BEGIN, INSERT and COMMIT prepared, which is how the store itself writes. No-op steps use an executor that returns at once, so the
// figures are the engine's own cost (scheduling, templating, the log), not fork/exec.
//
//	go test -run '^$' -bench DurableSteps -benchtime 3x ./store/
func BenchmarkDurableSteps(b *testing.B) {
	const n = 1000
	for _, mode := range []string{SyncFull, SyncNormal} {
		b.Run(mode, func(b *testing.B) {
			var floor, prepared, seq, fan float64
			var floorCPU, seqCPU time.Duration
			for i := 0; i < b.N; i++ {
				c := cpuTime()
				floor += floorStepsPerSec(b, mode, n)
				floorCPU += cpuTime() - c - lastSetupCPU
				prepared += preparedFloorStepsPerSec(b, mode, n)
				c = cpuTime()
				seq += engineStepsPerSec(b, mode, sequentialFlow(n), n)
				seqCPU += cpuTime() - c - lastSetupCPU
				fan += engineStepsPerSec(b, mode, fanOutFlow(n), n)
			}
			k := float64(b.N)
			floor, prepared, seq, fan = floor/k, prepared/k, seq/k, fan/k
			// CPU time (the process's, user and system) is the steadier figure on a shared
			// machine: other sessions' load stretches wall time, not the work done. Each
			// phase's set-up (opening the database, parsing the flow) is left out of both.
			b.ReportMetric(float64(seqCPU)/float64(floorCPU), "seq_cpu/floor_cpu")
			b.ReportMetric(floor, "floor_steps/s")
			b.ReportMetric(prepared/seq, "seq_cost/prepared_floor")
			b.ReportMetric(seq, "seq_steps/s")
			b.ReportMetric(fan, "fanout_steps/s")
			b.ReportMetric(floor/seq, "seq_cost/floor")
			b.ReportMetric(floor/fan, "fanout_cost/floor")
			b.Logf("synchronous=%s: floor %.0f steps/s, engine sequential %.0f steps/s (%.2fx floor cost, %.2fx its CPU; %.2fx the prepared floor's %.0f), fan-out %.0f steps/s (%.2fx)",
				mode, floor, seq, floor/seq, float64(seqCPU)/float64(floorCPU), prepared/seq, prepared, fan, floor/fan)
		})
	}
}

func openBench(b *testing.B, mode string) *DB {
	b.Helper()
	db, err := Open(context.Background(), filepath.Join(b.TempDir(), "bench.db"), Options{Synchronous: mode})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = db.Close() })
	return db
}

// floorStepsPerSec is the cheapest durable step: one INSERT and one COMMIT.
func floorStepsPerSec(b *testing.B, mode string, n int) float64 {
	setup := cpuTime()
	ctx := context.Background()
	db := openBench(b, mode)
	if _, err := db.db.ExecContext(ctx, `CREATE TABLE floor (id INTEGER PRIMARY KEY, run_id TEXT, step TEXT, data BLOB)`); err != nil {
		b.Fatal(err)
	}
	data := []byte(`{"output":""}`)
	settle()
	lastSetupCPU = cpuTime() - setup
	start := time.Now()
	for i := 0; i < n; i++ {
		tx, err := db.db.BeginTx(ctx, nil)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO floor (run_id, step, data) VALUES (?, ?, ?)`, "run", fmt.Sprint("s", i), data); err != nil {
			b.Fatal(err)
		}
		if err := tx.Commit(); err != nil {
			b.Fatal(err)
		}
	}
	return float64(n) / time.Since(start).Seconds()
}

// preparedFloorStepsPerSec is the floor written the way the store's writer writes: one
// connection held throughout, with BEGIN IMMEDIATE, the INSERT and COMMIT prepared on it once.
func preparedFloorStepsPerSec(b *testing.B, mode string, n int) float64 {
	ctx := context.Background()
	db := openBench(b, mode)
	if _, err := db.db.ExecContext(ctx, `CREATE TABLE floor (id INTEGER PRIMARY KEY, run_id TEXT, step TEXT, data BLOB)`); err != nil {
		b.Fatal(err)
	}
	conn, err := db.db.Conn(ctx)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	var stmts [3]*sql.Stmt
	for i, q := range []string{`BEGIN IMMEDIATE`, `INSERT INTO floor (run_id, step, data) VALUES (?, ?, ?)`, `COMMIT`} {
		if stmts[i], err = conn.PrepareContext(ctx, q); err != nil {
			b.Fatal(err)
		}
		defer stmts[i].Close()
	}
	data := []byte(`{"output":""}`)
	settle()
	start := time.Now()
	for i := 0; i < n; i++ {
		if _, err := stmts[0].ExecContext(ctx); err != nil {
			b.Fatal(err)
		}
		if _, err := stmts[1].ExecContext(ctx, "run", fmt.Sprint("s", i), data); err != nil {
			b.Fatal(err)
		}
		if _, err := stmts[2].ExecContext(ctx); err != nil {
			b.Fatal(err)
		}
	}
	return float64(n) / time.Since(start).Seconds()
}

type noopExecutor struct{}

func (noopExecutor) Prepare(s *flows.Step, _ map[string]any) (string, error) { return s.Shell, nil }
func (noopExecutor) Execute(context.Context, *engine.StepRun) (engine.Result, error) {
	return engine.Result{}, nil
}

// cpuTime is the CPU time this process has used, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// lastSetupCPU is the CPU the last floorStepsPerSec or engineStepsPerSec spent before its
// clock started (opening the database; writing and parsing the flow), so a caller measuring
// its CPU can leave that out.
var lastSetupCPU time.Duration

// settle collects the garbage of what ran before (an earlier phase, the flow's parse) just
// before a phase's clock starts, so no phase pays for another's: every phase calls it.
func settle() { runtime.GC() }

func engineStepsPerSec(b *testing.B, mode, src string, n int) float64 {
	setup := cpuTime()
	ctx := context.Background()
	db := openBench(b, mode)
	path := filepath.Join(b.TempDir(), "bench.yaml")
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		b.Fatal(err)
	}
	f, err := flows.Load(path)
	if err != nil {
		b.Fatal(err)
	}
	eng, err := engine.New(engine.Options{Store: db, Parallel: 2})
	if err != nil {
		b.Fatal(err)
	}
	eng.Register(flows.KindShell, noopExecutor{})
	settle()
	lastSetupCPU = cpuTime() - setup
	start := time.Now()
	id, err := eng.Start(ctx, f, map[string]any{}, engine.StartOptions{})
	if err != nil {
		b.Fatal(err)
	}
	st, err := eng.Execute(ctx, id)
	if err != nil || st.Status != engine.RunStatusSucceeded {
		b.Fatalf("bench run: %v %v %s", err, st.Status, st.Error)
	}
	return float64(n) / time.Since(start).Seconds()
}

func sequentialFlow(n int) string {
	var sb strings.Builder
	sb.WriteString("name: sequential\nsteps:\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&sb, "  - id: s%d\n    shell: noop\n", i)
		if i > 0 {
			fmt.Fprintf(&sb, "    needs: [s%d]\n", i-1)
		}
	}
	return sb.String()
}

func fanOutFlow(n int) string {
	items := make([]string, n)
	for i := range items {
		items[i] = fmt.Sprint(i)
	}
	return "name: fanout\nsteps:\n  - id: each\n    map: '[" + strings.Join(items, ",") + "]'\n    shell: noop\n"
}
