package main_test

import (
	"strings"
	"testing"
)

// TestDBFlagsAreListedOnlyWhereADatabaseIsOpened reads the help of commands that open no
// database (they must not offer --db and --sync) and of one that does, and the man page,
// which documents the flags once, for tandem itself.
func TestDBFlagsAreListedOnlyWhereADatabaseIsOpened(t *testing.T) {
	w := newWorkspace(t)
	for _, args := range [][]string{{"init"}, {"validate"}, {"man"}, {"completion"}, {"completion", "bash"}, {"help"}} {
		out, errOut, code := w.tandem(append(args, "--help")...)
		if code != 0 || !strings.Contains(out, "--help") {
			t.Fatalf("tandem %s --help: exit %d %s%s", strings.Join(args, " "), code, out, errOut)
		}
		if strings.Contains(out, "--db") || strings.Contains(out, "--sync") {
			t.Errorf("tandem %s --help offers --db or --sync, which it never uses:\n%s", strings.Join(args, " "), out)
		}
	}
	if out, _, _ := w.tandem("runs", "--help"); !strings.Contains(out, "--db") || !strings.Contains(out, "--sync") {
		t.Errorf("tandem runs --help lacks --db and --sync:\n%s", out)
	}
	out, _, code := w.tandem("man")
	if code != 0 || strings.Count(out, `\fB--db\fP`) != 1 || strings.Contains(out, "opens no database") {
		t.Errorf("the man page should document --db once, at the top, and no hidden flag (exit %d):\n%s", code, out)
	}
	// A script that passes --db to every command still works.
	if _, errOut, code := w.tandem("--db", "other.db", "init", "ws"); code != 0 {
		t.Errorf("tandem --db other.db init ws: exit %d %s", code, errOut)
	}
}
