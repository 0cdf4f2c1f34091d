package store

import (
	"fmt"
	"strings"
	"testing"
)

// BenchmarkFanOutJoin measures, in one run, N independent no-op steps plus a join that needs
// all of them against the same N items written as one `map:` step (the baseline), on a real
// SQLite file at synchronous=NORMAL (so the figure is the scheduler's, not the disk's). It
// reports steps/s for both and steps/map, the cost ratio, which should stay near 1 and flat
// as N grows: a scheduler that rescans its waiting steps after every completion shows up here
// as a ratio that grows with N.
//
//	go test -run '^$' -bench FanOutJoin -benchtime 1x ./store/
func BenchmarkFanOutJoin(b *testing.B) {
	for _, n := range []int{1000, 8000} {
		b.Run(fmt.Sprint("N=", n), func(b *testing.B) {
			var mapped, steps float64
			for i := 0; i < b.N; i++ {
				mapped += engineStepsPerSec(b, SyncNormal, fanOutFlow(n), n)
				steps += engineStepsPerSec(b, SyncNormal, stepsJoinFlow(n), n+1)
			}
			k := float64(b.N)
			mapped, steps = mapped/k, steps/k
			b.ReportMetric(mapped, "map_steps/s")
			b.ReportMetric(steps, "steps_steps/s")
			b.ReportMetric(mapped/steps, "steps_cost/map")
			b.Logf("N=%d: one map %.0f steps/s, %d steps + join %.0f steps/s (%.2fx the map's cost per step)",
				n, mapped, n, steps, mapped/steps)
		})
	}
}

// stepsJoinFlow is n independent steps and a join that needs every one of them.
func stepsJoinFlow(n int) string {
	var sb strings.Builder
	sb.WriteString("name: fanjoin\nsteps:\n")
	needs := make([]string, n)
	for i := 0; i < n; i++ {
		fmt.Fprintf(&sb, "  - id: s%d\n    shell: noop\n", i)
		needs[i] = fmt.Sprint("s", i)
	}
	fmt.Fprintf(&sb, "  - id: join\n    needs: [%s]\n    shell: noop\n", strings.Join(needs, ", "))
	return sb.String()
}
