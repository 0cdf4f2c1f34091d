package main_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// BenchmarkCommandStartup measures how long the real binary takes from exec to exit for
// commands that do little else (--help; runs on a workspace with one run; validate of a
// small flow), against exec of /bin/true measured in the same run, interleaved. The goal is
// 20 ms to the first output; the baseline shows what exec itself costs on this machine.
//
//	go test -run '^$' -bench CommandStartup -benchtime 20x ./cmd/tandem/
func BenchmarkCommandStartup(b *testing.B) {
	bin := tandemBin(b)
	dir := b.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "f.yaml"), []byte("name: f\nsteps:\n  - id: a\n    run: [\"true\"]\n"), 0o644); err != nil {
		b.Fatal(err)
	}
	env := append(os.Environ(), "TANDEM_DB="+filepath.Join(dir, ".tandem", "tandem.db"))
	run := func(name string, args ...string) time.Duration {
		c := exec.Command(name, args...)
		c.Dir, c.Env = dir, env
		start := time.Now()
		if out, err := c.CombinedOutput(); err != nil {
			b.Fatalf("%s %v: %v\n%s", name, args, err, out)
		}
		return time.Since(start)
	}
	run(bin, "run", "f.yaml")
	for _, cmd := range [][]string{{"--help"}, {"runs"}, {"validate", "f.yaml"}} {
		b.Run(cmd[0], func(b *testing.B) {
			var tandem, base time.Duration
			for i := 0; i < b.N; i++ {
				base += run("/bin/true")
				tandem += run(bin, cmd...)
			}
			n := float64(b.N)
			b.ReportMetric(float64(tandem.Microseconds())/n/1e3, "ms/start")
			b.ReportMetric(float64(base.Microseconds())/n/1e3, "baseline_ms/true")
			b.ReportMetric(float64(tandem)/float64(max(base, 1)), "x_baseline")
		})
	}
}
