package engine

import (
	"bytes"
	"errors"
	"io"
	"os"
	"syscall"
	"testing"
	"time"
)

// withAndWithoutPidfd runs a test with the kernel's pidfd and with the goroutine that stands
// in for it on kernels without one.
func withAndWithoutPidfd(t *testing.T, test func(t *testing.T)) {
	t.Run("pidfd", func(t *testing.T) {
		if !hasPidfd() {
			t.Skip("this kernel gives no pidfd")
		}
		test(t)
	})
	t.Run("no pidfd", func(t *testing.T) {
		was := hasPidfd
		hasPidfd = func() bool { return false }
		t.Cleanup(func() { hasPidfd = was })
		test(t)
	})
}

func startSh(t *testing.T, script string) *process {
	t.Helper()
	p, err := startProcess("/bin/sh", []string{"sh", "-c", script}, t.TempDir(), os.Environ())
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// finish waits for p, failing the test instead of hanging if wait never returns.
func finish(t *testing.T, p *process, stdout, stderr io.Writer, delay time.Duration) (int, error) {
	t.Helper()
	type result struct {
		code int
		err  error
	}
	done := make(chan result, 1)
	go func() {
		ws, err := p.wait(stdout, stderr, delay)
		done <- result{exitCode(ws), err}
	}()
	select {
	case r := <-done:
		return r.code, r.err
	case <-time.After(time.Minute):
		_ = syscall.Kill(-p.pid, syscall.SIGKILL) // the group, even with its leader reaped
		t.Fatal("wait did not return")
		return 0, nil
	}
}

func TestAProcessFillingStderrWhileStdoutIsReadIsNotStuck(t *testing.T) {
	withAndWithoutPidfd(t, func(t *testing.T) {
		// 200 kB of stderr before any stdout: reading one pipe to its end first would wait on
		// a child blocked writing the other.
		p := startSh(t, `head -c 200000 /dev/zero | tr '\0' e >&2; head -c 150000 /dev/zero | tr '\0' o; exit 3`)
		var out, errb bytes.Buffer
		code, err := finish(t, p, &out, &errb, time.Minute)
		if err != nil || code != 3 || bytes.Count(out.Bytes(), []byte("o")) != 150000 || bytes.Count(errb.Bytes(), []byte("e")) != 200000 {
			t.Fatalf("code %d, err %v, %d bytes of stdout, %d of stderr", code, err, out.Len(), errb.Len())
		}
	})
}

func TestADaemonHoldingTheOutputOpenEndsTheWaitAfterTheDelay(t *testing.T) {
	withAndWithoutPidfd(t, func(t *testing.T) {
		// The background loop keeps stdout open while its directory lives (the test's
		// temporary one, removed at its end), long after sh exits.
		dir := t.TempDir()
		p := startSh(t, `(while [ -d `+dir+` ]; do sleep 0.05; done) & echo started`)
		var out, errb bytes.Buffer
		code, err := finish(t, p, &out, &errb, 100*time.Millisecond)
		if !errors.Is(err, errOutputHeldOpen) || code != 0 || out.String() != "started\n" {
			t.Fatalf("code %d, err %v, stdout %q", code, err, out.String())
		}
	})
}

func TestKillingTheGroupEndsWhatTheCommandStartedToo(t *testing.T) {
	withAndWithoutPidfd(t, func(t *testing.T) {
		p := startSh(t, `sleep 600 & echo up; sleep 600`)
		// Kill once the command is running, which its first line says.
		var errb bytes.Buffer
		stdout := writerFunc(func(b []byte) (int, error) { p.killGroup(); return len(b), nil })
		// A background sleep left alive would hold stdout open, and the wait would last the
		// whole delay instead of ending with the kill.
		code, err := finish(t, p, stdout, &errb, time.Hour)
		if err != nil || code != -1 {
			t.Fatalf("code %d, err %v", code, err)
		}
	})
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(b []byte) (int, error) { return f(b) }
