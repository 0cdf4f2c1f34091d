package engine

import (
	"errors"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// ownerDead reports whether a lease owner named "host:pid" (the default owner name) is a
// process on this host that no longer exists. Owners elsewhere, or named otherwise, are
// assumed alive: their leases expire on their own.
func ownerDead(owner string) bool {
	host, pidText, ok := strings.Cut(owner, ":")
	if !ok {
		return false
	}
	if me, _ := os.Hostname(); host != me {
		return false
	}
	pid, err := strconv.Atoi(pidText)
	if err != nil || pid <= 0 || pid == os.Getpid() {
		return false
	}
	return errors.Is(syscall.Kill(pid, 0), syscall.ESRCH)
}
