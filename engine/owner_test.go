package engine

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

func TestOwnerLivenessIsProvenOnlyWithinOneBootAndPIDNamespace(t *testing.T) {
	me := processOwner()
	if !strings.Contains(me, "@") {
		t.Skip("no /proc identity on this system: every owner falls back to lease expiry")
	}
	host, _ := os.Hostname()
	boot, _ := bootID()
	ns, _ := pidNamespace()

	live := exec.Command("sleep", "60")
	if err := live.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = live.Process.Kill(); _ = live.Wait() })
	liveStart, _ := startTime(live.Process.Pid)

	gone := exec.Command("true")
	if err := gone.Run(); err != nil {
		t.Fatal(err)
	}
	goneStart, _ := startTime(os.Getpid()) // any start time: the pid no longer exists
	owner := func(pid int, boot, ns, start string) string {
		return fmt.Sprintf("%s:%d@%s.%s.%s", host, pid, boot, ns, start)
	}
	otherNS := "1" + ns
	tests := []struct {
		name  string
		owner string
		dead  bool
	}{
		{"a live process here is alive", owner(live.Process.Pid, boot, ns, liveStart), false},
		{"this process is alive", me, false},
		{"this process in another role is alive", me + ":cancel", false},
		{"a process that exited here is dead", owner(gone.Process.Pid, boot, ns, goneStart), true},
		{"a pid reused by a later process is dead", owner(live.Process.Pid, boot, ns, bump(liveStart)), true},
		{"a process in another PID namespace cannot be judged", owner(gone.Process.Pid, boot, otherNS, goneStart), false},
		{"a pid of another namespace that exists here is not its process", owner(live.Process.Pid, boot, otherNS, "1"), false},
		{"a process of an earlier boot cannot be judged", owner(gone.Process.Pid, strings.Repeat("0", 32), ns, goneStart), false},
		{"an owner named host:pid alone cannot be judged", fmt.Sprintf("%s:%d", host, gone.Process.Pid), false},
		{"an owner on another host cannot be judged", "elsewhere" + owner(gone.Process.Pid, boot, ns, goneStart)[len(host):], false},
		{"an owner named otherwise cannot be judged", "worker-3", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ownerDead(tt.owner); got != tt.dead {
				t.Errorf("ownerDead(%q) = %v, want %v", tt.owner, got, tt.dead)
			}
		})
	}
}

func bump(ticks string) string {
	n, _ := strconv.Atoi(ticks)
	return strconv.Itoa(n + 1)
}
