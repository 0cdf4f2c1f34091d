package store

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"tandem/engine"
	"tandem/flows"
)

// BenchmarkGroupCommit measures how many commits (at synchronous=FULL in WAL mode, one fsync
// each; checkpoints add a few) a step costs when 8 branches of real `run: ["true"]` steps
// advance at once, against the same steps in one sequential chain (the baseline, one commit
// per step) in the same run. The goal is at most 0.35 per step for the branches.
//
//	go test -run '^$' -bench GroupCommit -benchtime 3x ./store/
func BenchmarkGroupCommit(b *testing.B) {
	const branches, length = 8, 50
	var seq, par float64
	for i := 0; i < b.N; i++ {
		seq += commitsPerStep(b, branchFlow(1, branches*length), branches*length, 1)
		par += commitsPerStep(b, branchFlow(branches, length), branches*length, branches)
	}
	k := float64(b.N)
	b.ReportMetric(seq/k, "baseline_fsync/step")
	b.ReportMetric(par/k, "fsync/step")
	b.Logf("synchronous=FULL: %d branches %.3f commits (fsyncs) per step; one chain %.3f", branches, par/k, seq/k)
}

// countingStore counts the write transactions the engine makes.
type countingStore struct {
	*DB
	commits atomic.Int64
}

func (c *countingStore) Append(ctx context.Context, evs []engine.Event) error {
	c.commits.Add(1)
	return c.DB.Append(ctx, evs)
}

func (c *countingStore) AppendFenced(ctx context.Context, l engine.Lease, evs []engine.Event) error {
	c.commits.Add(1)
	return c.DB.AppendFenced(ctx, l, evs)
}

// commitsPerStep runs src with the real command executor at FULL and returns the engine's
// appends per step (leases are left out: they are the same for both shapes).
func commitsPerStep(b *testing.B, src string, steps, parallel int) float64 {
	ctx := context.Background()
	s := &countingStore{DB: openBench(b, SyncFull)}
	path := filepath.Join(b.TempDir(), "branches.yaml")
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		b.Fatal(err)
	}
	f, err := flows.Load(path)
	if err != nil {
		b.Fatal(err)
	}
	eng, err := engine.New(engine.Options{Store: s, Parallel: parallel})
	if err != nil {
		b.Fatal(err)
	}
	id, err := eng.Start(ctx, f, map[string]any{}, engine.StartOptions{})
	if err != nil {
		b.Fatal(err)
	}
	if st, err := eng.Execute(ctx, id); err != nil || st.Status != engine.RunStatusSucceeded {
		b.Fatalf("run: %v %v", err, st.Error)
	}
	return float64(s.commits.Load()) / float64(steps)
}

// branchFlow is n independent chains of length run: ["true"] steps each.
func branchFlow(n, length int) string {
	var sb strings.Builder
	sb.WriteString("name: branches\nsteps:\n")
	for br := 0; br < n; br++ {
		for i := 0; i < length; i++ {
			fmt.Fprintf(&sb, "  - id: b%d-%d\n    run: [\"true\"]\n", br, i)
			if i > 0 {
				fmt.Fprintf(&sb, "    needs: [b%d-%d]\n", br, i-1)
			}
		}
	}
	return sb.String()
}
