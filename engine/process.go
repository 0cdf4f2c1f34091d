package engine

import (
	"errors"
	"io"
	"os"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// A command step's process, with its stdout and stderr read by the goroutine that waits for
// it. os/exec copies each pipe in a goroutine of its own that the netpoller wakes, and its
// Wait waits for the process and then for both goroutines: three wake-ups and two goroutines
// per step, about 0.1 ms on a busy machine. Here one poll(2) watches both pipes and the
// process's pidfd, so the waiting goroutine reads the output as it comes and learns of the
// exit in the same call.

// process is a started child. Its stdin is /dev/null; its stdout and stderr are pipes.
type process struct {
	pid   int
	pidfd int // -1 when the kernel has none; exitfd then says the exit
	// exitfd is the read end of a pipe whose write end a goroutine closes once it has reaped
	// the child (only without pidfd); status carries what it reaped.
	exitfd int
	status chan syscall.WaitStatus
	stdout int
	stderr int

	mu     sync.Mutex
	reaped bool // the pid may belong to another process now
}

// errOutputHeldOpen is the error of a command that exited successfully while something it
// started kept its stdout or stderr open past the wait delay: os/exec's ErrWaitDelay, in
// words that say what to change.
var errOutputHeldOpen = errors.New("the command exited, but a process it started still held its output open " + waitDelay.String() + " later " +
	"(send a background process's output elsewhere, e.g. `cmd >/dev/null 2>&1 &`)")

// devNull is the stdin of every command step, opened once.
var devNull = sync.OnceValues(func() (*os.File, error) { return os.Open(os.DevNull) })

// hasPidfd reports whether the kernel gives pidfds (Linux 5.3 on); without them a goroutine
// per command waits for the exit instead.
var hasPidfd = sync.OnceValue(func() bool {
	fd, err := unix.PidfdOpen(os.Getpid(), 0)
	if err != nil {
		return false
	}
	_ = unix.Close(fd)
	return true
})

// startProcess starts path with argv in dir with env, in a process group of its own that
// dies with this process's thread (Pdeathsig).
func startProcess(path string, argv []string, dir string, env []string) (*process, error) {
	in, err := devNull()
	if err != nil {
		return nil, err
	}
	var out, errp [2]int
	if err := syscall.Pipe2(out[:], syscall.O_CLOEXEC); err != nil {
		return nil, os.NewSyscallError("pipe2", err)
	}
	if err := syscall.Pipe2(errp[:], syscall.O_CLOEXEC); err != nil {
		closeFds(out[0], out[1])
		return nil, os.NewSyscallError("pipe2", err)
	}
	p := &process{pidfd: -1, exitfd: -1, stdout: out[0], stderr: errp[0]}
	// Setpgid: cancelling kills the whole group, so `sh -c "a | b"` leaves nothing behind.
	// Pdeathsig: if tandem itself is killed, the step's shell dies with it instead of
	// finishing unobserved while a resumed run starts it again.
	sys := &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	var exitw int
	if hasPidfd() {
		sys.PidFD = &p.pidfd
	} else {
		var ends [2]int
		if err := syscall.Pipe2(ends[:], syscall.O_CLOEXEC); err != nil {
			closeFds(out[0], out[1], errp[0], errp[1])
			return nil, os.NewSyscallError("pipe2", err)
		}
		p.exitfd, exitw = ends[0], ends[1]
	}
	p.pid, err = syscall.ForkExec(path, argv, &syscall.ProcAttr{
		Dir:   dir,
		Env:   env,
		Files: []uintptr{in.Fd(), uintptr(out[1]), uintptr(errp[1])},
		Sys:   sys,
	})
	closeFds(out[1], errp[1]) // the child has its own; EOF comes when it and its heirs close theirs
	if err != nil {
		closeFds(out[0], errp[0])
		if p.exitfd >= 0 {
			closeFds(p.exitfd, exitw)
		}
		return nil, &os.PathError{Op: "fork/exec", Path: path, Err: err}
	}
	if p.exitfd >= 0 {
		// No pidfd to poll: a goroutine reaps the child and then closes exitw, which wait polls.
		p.status = make(chan syscall.WaitStatus, 1)
		go func() {
			p.status <- p.reap()
			closeFds(exitw)
		}()
	}
	return p, nil
}

// killGroup kills the child's process group, unless the child has been reaped (its pid may
// then name another process). It is safe to call from any goroutine at any time.
func (p *process) killGroup() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.reaped {
		_ = syscall.Kill(-p.pid, syscall.SIGKILL)
	}
}

// reap waits for the child to exit and returns its status.
func (p *process) reap() syscall.WaitStatus {
	var ws syscall.WaitStatus
	for {
		_, err := syscall.Wait4(p.pid, &ws, 0, nil)
		if err != syscall.EINTR {
			break
		}
	}
	p.mu.Lock()
	p.reaped = true
	p.mu.Unlock()
	return ws
}

// wait copies the child's stdout and stderr to the writers until both reach EOF and the child
// has exited, and reaps it. Once it has exited, the pipes get delay to reach EOF: a daemon the
// command started may hold them open for ever. wait then closes them and, if the command had
// succeeded, returns errOutputHeldOpen. A non-nil error with a status means the status holds.
func (p *process) wait(stdout, stderr io.Writer, delay time.Duration) (syscall.WaitStatus, error) {
	buf := readBufs.Get().(*[32 << 10]byte)
	defer readBufs.Put(buf)
	exit := p.pidfd
	if exit < 0 {
		exit = p.exitfd
	}
	fds := [3]unix.PollFd{
		{Fd: int32(p.stdout), Events: unix.POLLIN},
		{Fd: int32(p.stderr), Events: unix.POLLIN},
		{Fd: int32(exit), Events: unix.POLLIN},
	}
	writers := [2]io.Writer{stdout, stderr}
	var (
		ws       syscall.WaitStatus
		exited   bool
		deadline time.Time
		err      error
	)
	for fds[0].Fd >= 0 || fds[1].Fd >= 0 || !exited {
		timeout := -1
		if exited {
			left := time.Until(deadline)
			if left <= 0 {
				if ws.Exited() && ws.ExitStatus() == 0 {
					err = errOutputHeldOpen
				}
				break
			}
			timeout = int((left + time.Millisecond - 1) / time.Millisecond)
		}
		if _, perr := unix.Poll(fds[:], timeout); perr != nil {
			if perr == syscall.EINTR {
				continue
			}
			// Nothing left to watch with: end the command rather than leave it unobserved.
			p.killGroup()
			if !exited {
				ws = p.exitStatus()
			}
			err = os.NewSyscallError("poll", perr)
			break
		}
		for i := range 2 {
			if fds[i].Fd < 0 || fds[i].Revents == 0 {
				continue
			}
			n, rerr := syscall.Read(int(fds[i].Fd), buf[:])
			if n > 0 {
				_, _ = writers[i].Write(buf[:n])
				continue
			}
			if rerr == syscall.EINTR || rerr == syscall.EAGAIN {
				continue
			}
			closeFds(int(fds[i].Fd)) // EOF, or a pipe that cannot be read any more
			fds[i].Fd = -1
		}
		if fds[2].Fd >= 0 && fds[2].Revents != 0 {
			ws, exited, deadline = p.exitStatus(), true, time.Now().Add(delay)
			closeFds(int(fds[2].Fd))
			fds[2].Fd = -1
		}
	}
	for i := range 2 {
		if fds[i].Fd >= 0 {
			closeFds(int(fds[i].Fd))
		}
	}
	if fds[2].Fd >= 0 {
		closeFds(int(fds[2].Fd))
	}
	return ws, err
}

// exitStatus reaps the child (pidfd) or takes what the goroutine startProcess left reaped.
func (p *process) exitStatus() syscall.WaitStatus {
	if p.status != nil {
		return <-p.status
	}
	return p.reap()
}

// exitCode is the status's exit code, or -1 for a child a signal ended (as os/exec says).
func exitCode(ws syscall.WaitStatus) int {
	if ws.Exited() {
		return ws.ExitStatus()
	}
	return -1
}

// readBufs hold the buffers wait reads into.
var readBufs = sync.Pool{New: func() any { return new([32 << 10]byte) }}

func closeFds(fds ...int) {
	for _, fd := range fds {
		_ = syscall.Close(fd)
	}
}
