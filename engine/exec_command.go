package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"
	"unicode/utf8"

	"tandem/flows"
)

// commandExecutor runs shell (sh -c) and run (argv) steps in the flow file's directory.
type commandExecutor struct{}

// stderrTailBytes is how much of stderr a result keeps.
const stderrTailBytes = 4096

// maxOutputBytes caps the stdout kept as a step's output.
const maxOutputBytes = 1 << 20

func (commandExecutor) Prepare(s *flows.Step, data map[string]any) (string, error) {
	if s.Kind == flows.KindShell {
		return flows.RenderShell(s.Shell, data)
	}
	argv := make([]string, len(s.Run))
	for i, a := range s.Run {
		v, err := flows.Render(a, data)
		if err != nil {
			return "", err
		}
		argv[i] = v
	}
	b, err := json.Marshal(argv)
	return string(b), err
}

func (commandExecutor) Execute(ctx context.Context, x *StepRun) (Result, error) {
	var cmd *exec.Cmd
	if x.Step.Kind == flows.KindShell {
		cmd = command("sh", "-c", x.Input)
	} else {
		var argv []string
		if err := json.Unmarshal([]byte(x.Input), &argv); err != nil || len(argv) == 0 {
			return Result{}, Permanent(fmt.Errorf("run: input must be a JSON array of arguments: %q", x.Input))
		}
		cmd = command(argv[0], argv[1:]...)
	}
	if x.Resumed {
		killLeftovers(x.Key) // what the cut attempt left behind must not run alongside this one
	}
	cmd.Dir = x.Flow.Dir
	env, err := stepEnv(x)
	if err != nil {
		return Result{}, Permanent(err)
	}
	cmd.Env = env
	// Kill the whole process group so `sh -c "a | b"` leaves nothing behind on cancel.
	// Pdeathsig: if tandem itself is killed, the step's shell dies with it instead of
	// finishing unobserved while a resumed run starts it again.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	// A process that exits but leaves its output pipes open (a daemon it started) stops
	// holding the step up after this long.
	cmd.WaitDelay = 2 * time.Second

	mask := masker(stepSecrets(x.Data))
	emit := x.Emit
	if emit != nil {
		emit = func(stream, text string) { x.Emit(stream, mask(text)) }
	}
	stdout := &capture{stream: "stdout", emit: emit, limit: maxOutputBytes}
	stderr := &capture{stream: "stderr", emit: emit, limit: stderrTailBytes, keepTail: true}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	if err = ctx.Err(); err == nil {
		err = cmd.Start()
	}
	if err == nil {
		// Cancelling kills the whole process group. context.AfterFunc costs nothing until ctx
		// ends; exec.CommandContext would spend a goroutine per command watching it.
		stop := context.AfterFunc(ctx, func() { _ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) })
		err = cmd.Wait()
		stop()
	}
	res := Result{Output: mask(trimOutput(stdout.String())), StderrTail: mask(stderr.String())}
	if !utf8.ValidString(res.Output) {
		// The log is JSON text: say so instead of letting the encoder replace bytes unseen.
		res.Output = strings.ToValidUTF8(res.Output, "\uFFFD") +
			"\n[tandem: the output was not UTF-8 text; its invalid bytes were replaced with \uFFFD]"
	}
	if n := stdout.dropped(); n > 0 {
		res.Output += fmt.Sprintf("\n[tandem: output cut at %s; %d more bytes were not kept]", byteSize(maxOutputBytes), n)
	}
	if cmd.ProcessState != nil {
		code := cmd.ProcessState.ExitCode()
		res.ExitCode = &code
	}
	if err != nil {
		if ctx.Err() != nil {
			return res, ctx.Err()
		}
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return res, &ExitError{Code: ee.ExitCode()}
		}
		var pe *exec.Error
		if errors.As(err, &pe) {
			return res, Permanent(err) // command not found: retrying will not help
		}
		return res, err
	}
	return res, nil
}

// stepEnv is the process environment plus the step's identity and its rendered env entries.
func stepEnv(x *StepRun) ([]string, error) {
	env := append(os.Environ(),
		"TANDEM_RUN_ID="+x.RunID,
		"TANDEM_STEP_ID="+x.StepID,
		"TANDEM_ATTEMPT="+itoa(x.Attempt),
		"TANDEM_IDEMPOTENCY_KEY="+x.Key,
	)
	for _, s := range stepSecrets(x.Data) {
		if s.Value() == "" && strings.Contains(x.Input, flows.SecretEnv(s.Name)) {
			return nil, fmt.Errorf("secret input %q is not known to this process (tandem never stores it): set %s in the environment, then resume", s.Name, flows.SecretEnv(s.Name))
		}
		env = append(env, flows.SecretEnv(s.Name)+"="+s.Value())
	}
	keys := make([]string, 0, len(x.Step.Env))
	for k := range x.Step.Env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		// env: values are not logged, so a secret input renders as its value here.
		v, err := flows.Render(x.Step.Env[k], revealSecrets(x.Data))
		if err != nil {
			return nil, fmt.Errorf("env %s: %w", k, err)
		}
		env = append(env, k+"="+v)
	}
	return env, nil
}

// trimOutput drops trailing whitespace so `echo x` yields "x" in templates.
func trimOutput(s string) string {
	return string(bytes.TrimRight([]byte(s), " \t\r\n"))
}

// capture keeps a stream (all of it up to limit, or its tail) and forwards it live.
type capture struct {
	mu       sync.Mutex
	stream   string
	emit     func(stream, text string)
	limit    int
	keepTail bool
	buf      []byte
	cut      int // bytes beyond limit that were not kept
}

func (c *capture) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.emit != nil {
		c.emit(c.stream, string(p))
	}
	if !c.keepTail {
		// Keep the head: stop copying once full, and count what is left out.
		room := max(c.limit-len(c.buf), 0)
		keep := min(room, len(p))
		c.buf = append(c.buf, p[:keep]...)
		c.cut += len(p) - keep
		return len(p), nil
	}
	c.buf = append(c.buf, p...)
	if len(c.buf) > c.limit {
		c.buf = append(c.buf[:0], c.buf[len(c.buf)-c.limit:]...)
	}
	return len(p), nil
}

// dropped is how many bytes a head capture left out.
func (c *capture) dropped() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cut
}

func (c *capture) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return string(c.buf)
}
