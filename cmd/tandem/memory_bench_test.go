package main_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// BenchmarkRunMemory reports the peak RSS of `tandem run` on a 10,000-step sequential flow
// and on a 10,000-item map of run: ["true"] steps (the goal: under 64 MiB each), with the
// peak RSS of `tandem --help` in the same run as the baseline the binary itself costs.
// Each run spawns 10,000 processes, so run it once:
//
//	go test -run '^$' -bench RunMemory -benchtime 1x ./cmd/tandem/
func BenchmarkRunMemory(b *testing.B) {
	bin := tandemBin(b)
	const n = 10000
	var seq, items strings.Builder
	seq.WriteString("name: seq\nsteps:\n")
	list := make([]string, n)
	for i := 0; i < n; i++ {
		fmt.Fprintf(&seq, "  - id: s%d\n    run: [\"true\"]\n", i)
		if i > 0 {
			fmt.Fprintf(&seq, "    needs: [s%d]\n", i-1)
		}
		list[i] = fmt.Sprint(i)
	}
	items.WriteString("name: items\nsteps:\n  - id: each\n    map: '[" + strings.Join(list, ",") + "]'\n    run: [\"true\"]\n")
	for _, c := range []struct{ name, flow string }{{"10000_steps", seq.String()}, {"10000_items", items.String()}} {
		b.Run(c.name, func(b *testing.B) {
			var peak, base int64
			for i := 0; i < b.N; i++ {
				dir := b.TempDir()
				if err := os.WriteFile(filepath.Join(dir, "f.yaml"), []byte(c.flow), 0o644); err != nil {
					b.Fatal(err)
				}
				base = max(base, maxRSS(b, dir, bin, "--help"))
				peak = max(peak, maxRSS(b, dir, bin, "run", "--sync", "NORMAL", "f.yaml"))
			}
			b.ReportMetric(float64(peak)/1024, "MiB_rss")
			b.ReportMetric(float64(base)/1024, "baseline_MiB_rss/--help")
		})
	}
}

// maxRSS runs the binary to its end and returns its peak resident set in KiB.
func maxRSS(b *testing.B, dir, bin string, args ...string) int64 {
	b.Helper()
	c := exec.Command(bin, args...)
	c.Dir = dir
	c.Env = append(os.Environ(), "TANDEM_DB="+filepath.Join(dir, ".tandem", "tandem.db"))
	if out, err := c.CombinedOutput(); err != nil {
		b.Fatalf("tandem %v: %v\n%.2000s", args, err, out)
	}
	return c.ProcessState.SysUsage().(*syscall.Rusage).Maxrss
}
