package main_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"tandem/internal/mediatest"
)

// TestCLIADatabaseOnAReadOnlyMediumCanBeRead copies a workspace with a finished run onto a
// medium that is then made read-only, and reads it with every reading command and the
// workbench; starting a run says the database is read-only.
func TestCLIADatabaseOnAReadOnlyMediumCanBeRead(t *testing.T) {
	src := newWorkspace(t)
	src.write("hello.yaml", "name: hello\nsteps:\n  - id: a\n    run: [\"echo\", \"hi there\"]\n")
	out, errOut, code := src.tandem("run", "hello.yaml")
	if code != 0 {
		t.Fatalf("run: %d %s", code, errOut)
	}
	id := firstLineRunID(t, out)

	dir, seal := mediatest.ReadOnlyDir(t)
	for _, name := range []string{"hello.yaml", ".tandem/tandem.db"} {
		b, err := os.ReadFile(filepath.Join(src.dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	seal()
	w := &workspace{t: t, dir: dir, db: filepath.Join(dir, ".tandem", "tandem.db")}

	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"runs"}, id},
		{[]string{"show", id}, "✓ a"},
		{[]string{"events", id}, "step_succeeded"},
		{[]string{"trace", id}, "no agent or llm trace"},
	} {
		out, errOut, code := w.tandem(c.args...)
		if code != 0 || !strings.Contains(out, c.want) {
			t.Fatalf("tandem %s on a read-only database: exit %d\n%s%s", strings.Join(c.args, " "), code, out, errOut)
		}
	}
	_, errOut, code = w.tandem("run", "hello.yaml")
	if code != 1 || !strings.Contains(errOut, "the database is read-only") {
		t.Fatalf("run on a read-only database: exit %d, %q", code, errOut)
	}

	s := startTmux(t, dir, 140, 30, []string{"TANDEM_DB=" + w.db}, tandemBin(t), "ui")
	// The run's row: at 140 columns the sidebar has no room for its id beside its age.
	s.waitForText("▸ hello", "✓ hello ")
	s.keys("r")
	s.waitForText("the database is read-only")
	s.keys("q")
	if got := strings.TrimSpace(s.waitExit()); got != "0" {
		t.Fatalf("the workbench exited %s", got)
	}
}
