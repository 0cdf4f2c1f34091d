package store

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// BenchmarkReadRunBehindALongLog reads the log of the oldest and of the newest of 20,000
// seeded runs, interleaved, and reports the ratio: a run's read should cost its own events,
// not the log before it (which a read ranged on afterSeq instead of the span's start did).
//
//	go test -run '^$' -bench ReadRunBehind -benchtime 200x ./store/
func BenchmarkReadRunBehindALongLog(b *testing.B) {
	const runs = 20_000
	ctx := context.Background()
	db := openBench(b, SyncNormal)
	if err := db.SeedRuns(ctx, runs, time.Now()); err != nil {
		b.Fatal(err)
	}
	oldest, newest := "seed0000000", fmt.Sprintf("seed%07d", runs-1)
	var t [2]time.Duration
	b.ResetTimer()
	for b.Loop() {
		for k, id := range []string{oldest, newest} {
			t0 := time.Now()
			evs, err := db.Events(ctx, id, 0)
			if err != nil || len(evs) == 0 {
				b.Fatalf("read %s: %d events, %v", id, len(evs), err)
			}
			t[k] += time.Since(t0)
		}
	}
	n := float64(b.N)
	b.ReportMetric(float64(t[0].Microseconds())/n, "µs/oldest")
	b.ReportMetric(float64(t[1].Microseconds())/n, "µs/newest")
	b.ReportMetric(float64(t[1])/float64(t[0]), "newest/oldest")
}
