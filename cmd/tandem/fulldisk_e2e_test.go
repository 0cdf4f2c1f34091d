package main_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"tandem/internal/mediatest"
)

// TestCLIAFullDiskMidRunStopsWithTheReasonAndTheResumeCommand runs a flow whose second step
// fills the disk that holds the database, so committing its result finds no room. The run
// stops saying why and how to go on, keeps what it committed, and resumes once there is room.
func TestCLIAFullDiskMidRunStopsWithTheReasonAndTheResumeCommand(t *testing.T) {
	dir := mediatest.SmallDir(t, "4m")
	w := &workspace{t: t, dir: dir, db: filepath.Join(dir, ".tandem", "tandem.db")}
	// fill fills the disk on its first attempt only, then prints what has to be committed.
	w.write("fill.yaml", `name: fill
steps:
  - id: a
    shell: echo a >> effects
  - id: fill
    needs: [a]
    shell: |
      echo "fill $TANDEM_IDEMPOTENCY_KEY" >> effects
      [ -e filled ] || { touch filled; head -c 16000000 /dev/zero > filler 2>/dev/null; }
      seq 1 20000
  - id: after
    needs: [fill]
    shell: echo after >> effects
`)
	out, errOut, code := w.tandem("run", "fill.yaml")
	if code != 1 {
		t.Fatalf("run on a disk that fills: exit %d\n%s%s", code, out, errOut)
	}
	id := firstLineRunID(t, out)
	if !strings.Contains(errOut, "disk holding the database is full") || !strings.Contains(errOut, "tandem resume "+id) {
		t.Fatalf("the run stopped without the reason and the resume command:\n%s", errOut)
	}
	// What was committed is intact, and readable while the disk is still full.
	show, showErr, code := w.tandem("show", id)
	if code != 0 || !strings.Contains(show, "✓ a") {
		t.Fatalf("show after the full disk: exit %d\n%s%s", code, show, showErr)
	}
	if doc, _, _ := w.tandem("doctor"); !strings.Contains(doc, "integrity ok") {
		t.Fatalf("doctor after the full disk:\n%s", doc)
	}

	if err := os.Remove(filepath.Join(dir, "filler")); err != nil {
		t.Fatal(err)
	}
	if out, errOut, code := w.tandem("resume", id); code != 0 || !strings.Contains(out, "succeeded") {
		t.Fatalf("resume once there is room: exit %d\n%s%s", code, out, errOut)
	}
	effects, err := os.ReadFile(filepath.Join(dir, "effects"))
	if err != nil {
		t.Fatal(err)
	}
	key := id + "/fill/1"
	want := "a\nfill " + key + "\nfill " + key + "\nafter\n"
	if string(effects) != want {
		t.Fatalf("side effects:\n%s\nwant a once, fill again under its key, after once:\n%s", effects, want)
	}
}
