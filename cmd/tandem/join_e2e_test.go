package main_test

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// joinFlow's step s2 says on ready.fifo that it runs (the write blocks until the test reads),
// then waits for a file named release.
const joinFlow = `name: gated
steps:
  - id: s1
    shell: echo one
  - id: s2
    needs: [s1]
    shell: 'echo running > ready.fifo; while [ ! -f release ]; do sleep 0.05; done; echo two'
  - id: s3
    needs: [s2]
    shell: echo three
`

// startGated records a detached gated run and starts a worker, returning once the worker's
// s2 is running. The worker is stopped when the test ends.
func startGated(t *testing.T, w *workspace, extraEnv ...string) (id string, worker *exec.Cmd) {
	t.Helper()
	w.write("gated.yaml", joinFlow)
	if err := syscall.Mkfifo(filepath.Join(w.dir, "ready.fifo"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := w.tandem("run", "gated.yaml", "--detach")
	if code != 0 {
		t.Fatalf("run --detach: exit %d\n%s", code, errOut)
	}
	id = firstLineRunID(t, out)
	worker = w.cmd(context.Background(), "worker", "--poll", "50ms")
	worker.Env = append(worker.Env, extraEnv...)
	if err := worker.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = worker.Process.Signal(syscall.SIGTERM)
		_ = worker.Wait()
	})
	// Opening the FIFO blocks until s2, in the worker, writes to it.
	ready, err := os.ReadFile(filepath.Join(w.dir, "ready.fifo"))
	if err != nil || strings.TrimSpace(string(ready)) != "running" {
		t.Fatalf("ready.fifo: %q %v", ready, err)
	}
	return id, worker
}

// joinUntil starts tandem resume RUN --join and reads its output until a line has marker.
func joinUntil(t *testing.T, w *workspace, id, marker string, extraEnv ...string) (*exec.Cmd, *bufio.Scanner, *strings.Builder) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	join := w.cmd(ctx, "resume", id, "--join")
	join.Env = append(join.Env, extraEnv...)
	stdout, err := join.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := join.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(stdout)
	var seen strings.Builder
	for sc.Scan() {
		seen.WriteString(sc.Text() + "\n")
		if strings.Contains(sc.Text(), marker) {
			return join, sc, &seen
		}
	}
	_ = join.Wait()
	t.Fatalf("join never printed %q:\n%s", marker, seen.String())
	return nil, nil, nil
}

func TestCLIResumeJoinFollowsARunAWorkerAdvancesToItsEnd(t *testing.T) {
	w := newWorkspace(t)
	id, _ := startGated(t, w)
	join, sc, seen := joinUntil(t, w, id, "another process advances it")
	w.write("release", "")
	for sc.Scan() {
		seen.WriteString(sc.Text() + "\n")
	}
	if err := join.Wait(); err != nil {
		t.Fatalf("join: %v\n%s", err, seen)
	}
	out := seen.String()
	for _, want := range []string{"join " + id + "  gated", "✓ s1", "▶ s2", "✓ s2", "✓ s3", "run " + id + " succeeded"} {
		if !strings.Contains(out, want) {
			t.Errorf("join output lacks %q:\n%s", want, out)
		}
	}
}

func TestCLIResumeJoinTakesOverARunWhoseWorkerDied(t *testing.T) {
	w := newWorkspace(t)
	lease := "TANDEM_LEASE=1s"
	id, worker := startGated(t, w, lease)
	join, sc, seen := joinUntil(t, w, id, "another process advances it", lease)
	if err := worker.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	w.write("release", "")
	// s2 runs again here, and says so on the FIFO again.
	go func() { _, _ = os.ReadFile(filepath.Join(w.dir, "ready.fifo")) }()
	for sc.Scan() {
		seen.WriteString(sc.Text() + "\n")
	}
	if err := join.Wait(); err != nil {
		t.Fatalf("join: %v\n%s", err, seen)
	}
	if out := seen.String(); !strings.Contains(out, "✓ s3") || !strings.Contains(out, "run "+id+" succeeded") {
		t.Fatalf("join did not finish the run its worker left:\n%s", out)
	}
}
