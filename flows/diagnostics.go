package flows

import (
	"fmt"
	"sort"
	"strings"
)

// Diagnostic is one problem in a file, reported as file:line:col: message.
type Diagnostic struct {
	File string `json:"file"`
	Pos  Pos    `json:"pos"`
	Msg  string `json:"message"`
}

func (d Diagnostic) Error() string {
	return fmt.Sprintf("%s:%d:%d: %s", d.File, max(d.Pos.Line, 1), max(d.Pos.Col, 1), d.Msg)
}

// Diagnostics is every problem found in a file (and the files it references), sorted by
// file and position. It is the error Load and Parse return for bad input.
type Diagnostics []Diagnostic

func (ds Diagnostics) Error() string {
	lines := make([]string, len(ds))
	for i, d := range ds {
		lines[i] = d.Error()
	}
	return strings.Join(lines, "\n")
}

func (ds Diagnostics) sorted() Diagnostics {
	sort.SliceStable(ds, func(i, j int) bool {
		a, b := ds[i], ds[j]
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Pos.Line != b.Pos.Line {
			return a.Pos.Line < b.Pos.Line
		}
		return a.Pos.Col < b.Pos.Col
	})
	return ds
}

// reporter collects diagnostics for one file, and warnings: things that are allowed but
// probably not meant (they never stop a run).
type reporter struct {
	file     string
	diags    Diagnostics
	warnings Diagnostics
}

func (r *reporter) warn(p Pos, format string, args ...any) {
	p.Line, p.Col = max(p.Line, 1), max(p.Col, 1)
	r.warnings = append(r.warnings, Diagnostic{File: r.file, Pos: p, Msg: fmt.Sprintf(format, args...)})
}

func (r *reporter) at(p Pos, format string, args ...any) {
	if p.Line < 1 {
		p.Line = 1
	}
	if p.Col < 1 {
		p.Col = 1
	}
	r.diags = append(r.diags, Diagnostic{File: r.file, Pos: p, Msg: fmt.Sprintf(format, args...)})
}

func (r *reporter) err() error {
	if len(r.diags) == 0 {
		return nil
	}
	return r.diags.sorted()
}

// suggest returns ` (did you mean "x"?)` when a known word is within edit distance 2.
func suggest(word string, known []string) string {
	best, bestD := "", 3
	for _, k := range known {
		if d := editDistance(word, k); d < bestD {
			best, bestD = k, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

// editDistance counts the edits from a to b: an insertion, a deletion, a substitution, or a
// swap of two neighbouring letters (the commonest typo: "rnu" for "run") costs one each.
func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 99
	}
	before := make([]int, len(b)+1) // the row two back, for swaps
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], before[j-2]+1)
			}
		}
		before, prev, cur = prev, cur, before
	}
	return prev[len(b)]
}
