package dbosbench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/dbos-inc/dbos-transact-golang/dbos"
	"github.com/jackc/pgx/v5"

	"tandem/internal/pgtest"
	"tandem/store/postgres"
)

// BenchmarkPeersPostgres is BenchmarkPeers on one PostgreSQL server (the test server of
// scripts/postgres-test-server, or $TANDEM_TEST_POSTGRES): the floor (one INSERT and COMMIT
// per step over pgx), tandem's engine on its PostgreSQL store, and DBOS Transact on the
// same server, each in a fresh schema, sequential and fan-out. It reports steps/s, each
// system's cost per step over the floor's, and tandem's speed over DBOS's.
func BenchmarkPeersPostgres(b *testing.B) {
	const n = 500
	var floor, tSeq, tFan, dSeq, dFan float64
	for i := 0; i < b.N; i++ {
		floor += pgFloorStepsPerSec(b, n)
		tSeq += pgTandemStepsPerSec(b, sequentialFlow(n), n)
		dSeq += pgDBOSStepsPerSec(b, n, false)
		tFan += pgTandemStepsPerSec(b, fanOutFlow(n), n)
		dFan += pgDBOSStepsPerSec(b, n, true)
	}
	k := float64(b.N)
	floor, tSeq, tFan, dSeq, dFan = floor/k, tSeq/k, tFan/k, dSeq/k, dFan/k
	b.ReportMetric(tSeq, "tandem_seq_steps/s")
	b.ReportMetric(tFan, "tandem_fanout_steps/s")
	b.ReportMetric(floor/tSeq, "tandem_seq_cost/floor")
	b.ReportMetric(floor/dSeq, "dbos_seq_cost/floor")
	b.ReportMetric(floor/tFan, "tandem_fanout_cost/floor")
	b.ReportMetric(floor/dFan, "dbos_fanout_cost/floor")
	b.ReportMetric(tSeq/dSeq, "seq_tandem/dbos_speed")
	b.ReportMetric(tFan/dFan, "fanout_tandem/dbos_speed")
	b.Logf("postgres: floor %.0f steps/s; sequential: tandem %.0f (%.2fx floor cost, %.2f ms/step), DBOS %.0f (%.2fx, %.2f ms/step); fan-out: tandem %.0f (%.2fx), DBOS %.0f (%.2fx)",
		floor, tSeq, floor/tSeq, 1000/tSeq, dSeq, floor/dSeq, 1000/dSeq, tFan, floor/tFan, dFan, floor/dFan)
}

// pgFloorStepsPerSec is the cheapest durable step on the server: one INSERT and one COMMIT.
func pgFloorStepsPerSec(b *testing.B, n int) float64 {
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, pgtest.URL(b))
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `CREATE TABLE floor (id BIGSERIAL PRIMARY KEY, run_id TEXT, step TEXT, data BYTEA)`); err != nil {
		b.Fatal(err)
	}
	data := []byte(`{"output":""}`)
	start := time.Now()
	for i := 0; i < n; i++ {
		err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			_, err := tx.Exec(ctx, `INSERT INTO floor (run_id, step, data) VALUES ($1, $2, $3)`, "run", fmt.Sprint("s", i), data)
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	return float64(n) / time.Since(start).Seconds()
}

func pgTandemStepsPerSec(b *testing.B, src string, n int) float64 {
	db, err := postgres.Open(context.Background(), pgtest.URL(b))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	return tandemOn(b, db, src, n)
}

func pgDBOSStepsPerSec(b *testing.B, n int, fan bool) float64 {
	server := pgtest.Server(b)
	var r [6]byte
	_, _ = rand.Read(r[:])
	schema := "dbos_" + hex.EncodeToString(r[:])
	b.Cleanup(func() {
		ctx := context.Background()
		if c, err := pgx.Connect(ctx, server); err == nil {
			_, _ = c.Exec(ctx, `DROP SCHEMA IF EXISTS `+schema+` CASCADE`)
			_ = c.Close(ctx)
		}
	})
	ctx, err := dbos.NewContext(context.Background(), dbos.Config{AppName: "tandem-peer-bench", DatabaseURL: server,
		DatabaseSchema: schema, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
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
