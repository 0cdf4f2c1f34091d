package engine

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// A lease owner's name says who advances a run: "host:pid@identity". The identity is what
// tells this process apart from every other process that ever had its pid anywhere: the
// kernel's boot id, the PID namespace and the process's start time (Linux /proc). Another
// process can prove the owner dead only when it shares the boot and the namespace and finds
// the pid gone or started at another time; in every other case (another machine, another
// container, no /proc, an owner named otherwise) liveness cannot be proven and the lease has
// to expire.

// processOwner is the default lease owner name of this process.
func processOwner() string {
	host, _ := os.Hostname()
	name := fmt.Sprintf("%s:%d", host, os.Getpid())
	if id, ok := processIdentity(os.Getpid()); ok {
		name += "@" + id
	}
	return name
}

// processIdentity is "boot.pidns.start" for a pid of this machine and namespace.
func processIdentity(pid int) (string, bool) {
	boot, ok := bootID()
	if !ok {
		return "", false
	}
	ns, ok := pidNamespace()
	if !ok {
		return "", false
	}
	start, ok := startTime(pid)
	if !ok {
		return "", false
	}
	return boot + "." + ns + "." + start, true
}

func bootID() (string, bool) {
	b, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	id := strings.ReplaceAll(strings.TrimSpace(string(b)), "-", "")
	return id, err == nil && id != ""
}

func pidNamespace() (string, bool) {
	link, err := os.Readlink("/proc/self/ns/pid") // pid:[4026531836]
	if err != nil {
		return "", false
	}
	ino := strings.TrimSuffix(strings.TrimPrefix(link, "pid:["), "]")
	return ino, ino != "" && ino != link
}

// startTime is field 22 of /proc/PID/stat: clock ticks after boot.
func startTime(pid int) (string, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return "", false
	}
	// The command name (field 2) is in parentheses and may hold spaces or parentheses.
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return "", false
	}
	fields := strings.Fields(string(b[i+1:])) // from field 3 on
	if len(fields) < 20 {
		return "", false
	}
	return fields[19], true
}

// ownerDead reports whether a lease owner is provably a process that no longer exists.
func ownerDead(owner string) bool {
	host, rest, ok := strings.Cut(owner, ":")
	if !ok {
		return false
	}
	if me, _ := os.Hostname(); host != me {
		return false
	}
	pidText, id, ok := strings.Cut(rest, "@")
	if !ok {
		return false // an owner without an identity: only its lease's expiry can tell
	}
	id, _, _ = strings.Cut(id, ":") // "...:cancel" and the like name a role of the process
	pid, err := strconv.Atoi(pidText)
	parts := strings.Split(id, ".")
	if err != nil || pid <= 0 || len(parts) != 3 {
		return false
	}
	boot, okBoot := bootID()
	ns, okNS := pidNamespace()
	if !okBoot || !okNS || parts[0] != boot || parts[1] != ns {
		return false // another boot or another PID namespace: its pids are not ours to check
	}
	start, exists := startTime(pid)
	if !exists {
		_, err := os.Stat("/proc/" + strconv.Itoa(pid))
		return os.IsNotExist(err)
	}
	return start != parts[2] // the pid now belongs to a process started later
}
