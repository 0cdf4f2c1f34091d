package main

import (
	"testing"
	"time"
)

// BenchmarkCommandTree measures what cobra and fang add to every command's start-up: building
// the whole command tree and parsing a command line with flags, as main does before a
// command runs. It reports the cost as a share of issue 15's 20 ms start-up budget.
//
//	go test -run '^$' -bench CommandTree ./cmd/tandem/
func BenchmarkCommandTree(b *testing.B) {
	args := []string{"show", "06h36yz6apn5skr", "--json", "--db", "x.db"}
	start := time.Now()
	for b.Loop() {
		root := newRoot()
		c, rest, err := root.Find(args)
		if err != nil {
			b.Fatal(err)
		}
		if err := c.ParseFlags(rest); err != nil {
			b.Fatal(err)
		}
	}
	per := time.Since(start) / time.Duration(b.N)
	b.ReportMetric(float64(per)/float64(20*time.Millisecond), "share_of_20ms")
}
