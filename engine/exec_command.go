package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"
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
	argv := []string{"sh", "-c", x.Input}
	if x.Step.Kind != flows.KindShell {
		if err := json.Unmarshal([]byte(x.Input), &argv); err != nil || len(argv) == 0 {
			return Result{}, Permanent(fmt.Errorf("run: input must be a JSON array of arguments: %q", x.Input))
		}
	}
	if x.Resumed {
		killLeftovers(x.Key) // what the cut attempt left behind must not run alongside this one
	}
	path, err := lookPath(argv[0])
	if err != nil {
		return Result{}, Permanent(err) // command not found: retrying will not help
	}
	env, err := stepEnv(x)
	if err != nil {
		return Result{}, Permanent(err)
	}

	mask := masker(stepSecrets(x.Data))
	emit := x.Emit
	if emit != nil {
		emit = func(stream, text string) { x.Emit(stream, mask(text)) }
	}
	stdout := &capture{stream: "stdout", emit: emit, limit: maxOutputBytes}
	stderr := &capture{stream: "stderr", emit: emit, limit: stderrTailBytes, keepTail: true}
	if err = ctx.Err(); err != nil {
		return Result{}, err
	}
	p, err := startProcess(path, argv, x.Flow.Dir, env)
	if err != nil {
		return Result{}, err
	}
	// Cancelling kills the whole process group. context.AfterFunc costs nothing until ctx
	// ends; exec.CommandContext would spend a goroutine per command watching it.
	stop := context.AfterFunc(ctx, p.killGroup)
	// A process that exits but leaves its output pipes open (a daemon it started) stops
	// holding the step up after waitDelay.
	ws, err := p.wait(stdout, stderr, waitDelay)
	stop()

	code := exitCode(ws)
	res := Result{Output: mask(trimOutput(stdout.String())), StderrTail: mask(stderr.String()), ExitCode: &code}
	if !utf8.ValidString(res.Output) {
		// The log is JSON text: say so instead of letting the encoder replace bytes unseen.
		res.Output = strings.ToValidUTF8(res.Output, "\uFFFD") +
			"\n[tandem: the output was not UTF-8 text; its invalid bytes were replaced with \uFFFD]"
	}
	if n := stdout.dropped(); n > 0 {
		res.Output += fmt.Sprintf("\n[tandem: output cut at %s; %d more bytes were not kept]", byteSize(maxOutputBytes), n)
	}
	switch {
	case ctx.Err() != nil:
		return res, ctx.Err()
	case code != 0:
		return res, &ExitError{Code: code}
	case err != nil:
		return res, err
	}
	return res, nil
}

// waitDelay is how long a command's output may stay open after it has exited.
const waitDelay = 2 * time.Second

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
	return dedupEnv(env)
}

// dedupEnv keeps the last entry of each name, as os/exec does: the step's own entries come
// after the inherited ones, and a program's getenv reads the first it finds. An entry with
// a NUL byte cannot be passed on and is an error.
func dedupEnv(env []string) ([]string, error) {
	last := make(map[string]int, len(env))
	for i, kv := range env {
		name, _, _ := strings.Cut(kv, "=")
		if strings.IndexByte(kv, 0) >= 0 {
			return nil, fmt.Errorf("env %s: the value holds a NUL byte, which no process environment can", name)
		}
		last[name] = i
	}
	if len(last) == len(env) {
		return env, nil
	}
	out := env[:0]
	for i, kv := range env {
		name, _, _ := strings.Cut(kv, "=")
		if last[name] == i {
			out = append(out, kv)
		}
	}
	return out, nil
}

// trimOutput drops trailing whitespace so `echo x` yields "x" in templates.
func trimOutput(s string) string {
	return string(bytes.TrimRight([]byte(s), " \t\r\n"))
}

// capture keeps a stream (all of it up to limit, or its tail) and forwards it live. Only the
// goroutine that waits for the process writes to it.
type capture struct {
	stream   string
	emit     func(stream, text string)
	limit    int
	keepTail bool
	buf      []byte
	cut      int // bytes beyond limit that were not kept
}

func (c *capture) Write(p []byte) (int, error) {
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
	return c.cut
}

func (c *capture) String() string {
	return string(c.buf)
}
