package engine

import (
	"bytes"
	"errors"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// A shell step killed with tandem (kill -9, a crash) dies with it, but what it started in the
// background may not: a grandchild that left the step's process group, or one whose group
// nobody was there to kill. Before a cut attempt runs again under the same key, every process
// that still carries that key in its environment is killed, so the old attempt's work cannot
// run alongside the new one. Only Linux's /proc is searched; elsewhere nothing is found.

// killLeftovers kills the processes whose environment holds TANDEM_IDEMPOTENCY_KEY=key and
// waits (up to a few seconds) until they are gone. It reports how many it killed.
func killLeftovers(key string) int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return 0
	}
	want := []byte("TANDEM_IDEMPOTENCY_KEY=" + key)
	var killed []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		env, err := os.ReadFile("/proc/" + e.Name() + "/environ")
		if err != nil {
			continue
		}
		for _, kv := range bytes.Split(env, []byte{0}) {
			if bytes.Equal(kv, want) {
				if syscall.Kill(pid, syscall.SIGKILL) == nil {
					killed = append(killed, pid)
				}
				break
			}
		}
	}
	deadline := time.Now().Add(3 * time.Second)
	for _, pid := range killed {
		for alive(pid) && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
	}
	return len(killed)
}

// alive reports whether pid is a process that has not exited (a zombie has).
func alive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if errors.Is(err, os.ErrNotExist) {
		return false
	}
	if i := strings.LastIndexByte(string(b), ')'); i >= 0 && i+2 < len(b) {
		return b[i+2] != 'Z' && b[i+2] != 'X'
	}
	return err == nil
}
