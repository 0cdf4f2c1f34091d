package dbosbench

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dbos-inc/dbos-transact-golang/dbos"
	_ "github.com/dbos-inc/dbos-transact-golang/dbos/driver/sqlite" // DBOS on modernc.org/sqlite

	"tandem/engine"
	"tandem/flows"
	"tandem/store"
)

// BenchmarkPeers measures, for each synchronous mode and in one run, the raw floor (one
// INSERT and COMMIT per step), tandem's engine and DBOS on n no-op steps, run one after the
// other (sequential) and all at once (fan-out: one map: step in tandem, dbos.Go steps in one
// DBOS workflow). Each system gets a fresh database file opened with WAL and the mode; start-up
// is not timed. It reports steps/s and each system's cost per step over the floor's.
func BenchmarkPeers(b *testing.B) {
	const n = 1000
	for _, mode := range []string{store.SyncFull, store.SyncNormal} {
		b.Run(mode, func(b *testing.B) {
			var floor, tSeq, tFan, dSeq, dFan float64
			for i := 0; i < b.N; i++ {
				floor += floorStepsPerSec(b, mode, n)
				tSeq += tandemStepsPerSec(b, mode, sequentialFlow(n), n)
				dSeq += dbosStepsPerSec(b, mode, n, false)
				tFan += tandemStepsPerSec(b, mode, fanOutFlow(n), n)
				dFan += dbosStepsPerSec(b, mode, n, true)
			}
			k := float64(b.N)
			floor, tSeq, tFan, dSeq, dFan = floor/k, tSeq/k, tFan/k, dSeq/k, dFan/k
			b.ReportMetric(floor/tSeq, "tandem_seq_cost/floor")
			b.ReportMetric(floor/dSeq, "dbos_seq_cost/floor")
			b.ReportMetric(floor/tFan, "tandem_fanout_cost/floor")
			b.ReportMetric(floor/dFan, "dbos_fanout_cost/floor")
			b.ReportMetric(tSeq/dSeq, "seq_tandem/dbos_speed")
			b.ReportMetric(tFan/dFan, "fanout_tandem/dbos_speed")
			b.Logf("synchronous=%s: floor %.0f steps/s; sequential: tandem %.0f (%.2fx floor cost), DBOS %.0f (%.2fx); fan-out: tandem %.0f (%.2fx), DBOS %.0f (%.2fx)",
				mode, floor, tSeq, floor/tSeq, dSeq, floor/dSeq, tFan, floor/tFan, dFan, floor/dFan)
		})
	}
}

// openSQLite opens a database with the pragmas tandem's store uses, at the given mode.
func openSQLite(b *testing.B, path, mode string) *sql.DB {
	b.Helper()
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous("+mode+")")
	q.Add("_pragma", "foreign_keys(1)")
	q.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = db.Close() })
	return db
}

// floorStepsPerSec is the cheapest durable step: one INSERT and one COMMIT.
func floorStepsPerSec(b *testing.B, mode string, n int) float64 {
	ctx := context.Background()
	db := openSQLite(b, filepath.Join(b.TempDir(), "floor.db"), mode)
	if _, err := db.ExecContext(ctx, `CREATE TABLE floor (id INTEGER PRIMARY KEY, run_id TEXT, step TEXT, data BLOB)`); err != nil {
		b.Fatal(err)
	}
	data := []byte(`{"output":""}`)
	start := time.Now()
	for i := 0; i < n; i++ {
		tx, err := db.BeginTx(ctx, nil)
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

type noopExecutor struct{}

func (noopExecutor) Prepare(s *flows.Step, _ map[string]any) (string, error) { return s.Shell, nil }
func (noopExecutor) Execute(context.Context, *engine.StepRun) (engine.Result, error) {
	return engine.Result{}, nil
}

func tandemStepsPerSec(b *testing.B, mode, src string, n int) float64 {
	db, err := store.Open(context.Background(), filepath.Join(b.TempDir(), "tandem.db"), store.Options{Synchronous: mode})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	return tandemOn(b, db, src, n)
}

// tandemOn runs src (n no-op steps) on tandem's engine over s and returns steps per second.
func tandemOn(b *testing.B, s engine.Store, src string, n int) float64 {
	ctx := context.Background()
	dir := b.TempDir()
	path := filepath.Join(dir, "bench.yaml")
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		b.Fatal(err)
	}
	f, err := flows.Load(path)
	if err != nil {
		b.Fatal(err)
	}
	eng, err := engine.New(engine.Options{Store: s, Parallel: 2})
	if err != nil {
		b.Fatal(err)
	}
	eng.Register(flows.KindShell, noopExecutor{})
	start := time.Now()
	id, err := eng.Start(ctx, f, map[string]any{}, engine.StartOptions{})
	if err != nil {
		b.Fatal(err)
	}
	st, err := eng.Execute(ctx, id)
	if err != nil || st.Status != engine.RunStatusSucceeded {
		b.Fatalf("tandem run: %v %v %s", err, st.Status, st.Error)
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

func noop(context.Context) (string, error) { return "", nil }

// sequentialWorkflow runs n no-op steps one after the other.
func sequentialWorkflow(ctx dbos.Context, n int) (int, error) {
	for i := 0; i < n; i++ {
		if _, err := dbos.RunAsStep(ctx, noop, dbos.WithStepName(fmt.Sprint("s", i))); err != nil {
			return i, err
		}
	}
	return n, nil
}

// fanOutWorkflow starts n no-op steps at once and waits for them all.
func fanOutWorkflow(ctx dbos.Context, n int) (int, error) {
	outs := make([]<-chan dbos.StepOutcome[string], n)
	for i := range outs {
		ch, err := dbos.Go(ctx, noop, dbos.WithStepName(fmt.Sprint("each", i)))
		if err != nil {
			return i, err
		}
		outs[i] = ch
	}
	for i, ch := range outs {
		if o := <-ch; o.Err != nil {
			return i, o.Err
		}
	}
	return n, nil
}

func dbosStepsPerSec(b *testing.B, mode string, n int, fan bool) float64 {
	db := openSQLite(b, filepath.Join(b.TempDir(), "dbos.db"), mode)
	ctx, err := dbos.NewContext(context.Background(), dbos.Config{AppName: "tandem-peer-bench", SQLiteSystemDB: db,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	dbos.RegisterWorkflow(ctx, sequentialWorkflow)
	dbos.RegisterWorkflow(ctx, fanOutWorkflow)
	if err := dbos.Launch(ctx); err != nil {
		b.Fatal(err)
	}
	defer func() { _ = dbos.Shutdown(ctx, 10*time.Second) }()
	wf := sequentialWorkflow
	if fan {
		wf = fanOutWorkflow
	}
	start := time.Now()
	h, err := dbos.RunWorkflow(ctx, wf, n)
	if err != nil {
		b.Fatal(err)
	}
	if got, err := h.GetResult(); err != nil || got != n {
		b.Fatalf("DBOS workflow: %d steps, %v", got, err)
	}
	return float64(n) / time.Since(start).Seconds()
}
