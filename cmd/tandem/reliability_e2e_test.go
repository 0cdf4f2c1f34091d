package main_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// gatedFlow's first step records its attempt key, then holds until the test writes "open".
const gatedFlow = `
name: gated
steps:
  - id: a
    shell: 'echo "a $TANDEM_IDEMPOTENCY_KEY" >> effects.log; while [ ! -f open ]; do sleep 0.02; done; echo a'
  - id: b
    needs: [a]
    shell: 'echo "b $TANDEM_IDEMPOTENCY_KEY" >> effects.log; echo b'
`

// effectLines returns effects.log's lines.
func effectLines(w *workspace) []string {
	b, _ := os.ReadFile(filepath.Join(w.dir, "effects.log"))
	return strings.Fields(strings.ReplaceAll(strings.TrimSpace(string(b)), " ", "="))
}

// eventually polls cond until it holds, failing the test after a minute.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s did not happen within a minute", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// startRun starts `tandem run FILE` in the background and returns it with its run id.
func startRun(t *testing.T, w *workspace, env []string, file string) (*exec.Cmd, string, *strings.Builder) {
	t.Helper()
	c := w.cmd(context.Background(), "run", file)
	c.Env = append(c.Env, env...)
	stdout, err := c.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var errb strings.Builder
	c.Stderr = &errb
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Process.Kill() })
	sc := bufio.NewScanner(stdout)
	if !sc.Scan() {
		t.Fatalf("no first line: %s", errb.String())
	}
	id := firstLineRunID(t, sc.Text())
	go func() { // keep reading so the process never blocks on a full pipe
		for sc.Scan() {
		}
	}()
	return c, id, &errb
}

type logEvent struct {
	Seq    int64  `json:"seq"`
	Type   string `json:"type"`
	StepID string `json:"step_id"`
}

func runEvents(t *testing.T, w *workspace, id string) []logEvent {
	t.Helper()
	out, errOut, code := w.tandem("events", id, "--json")
	if code != 0 {
		t.Fatalf("events: %s", errOut)
	}
	var evs []logEvent
	if err := json.Unmarshal([]byte(out), &evs); err != nil {
		t.Fatal(err)
	}
	return evs
}

func TestCLIARunStoppedPastItsLeaseWritesNothingAfterAWorkerFinishedIt(t *testing.T) {
	w := newWorkspace(t)
	w.write("gated.yaml", gatedFlow)
	c, id, stderr := startRun(t, w, []string{"TANDEM_LEASE=1s"}, "gated.yaml")
	eventually(t, "step a starting", func() bool { return len(effectLines(w)) == 1 })

	// Ctrl-Z, a VM pause: the process stops; its step keeps going and finishes.
	if err := c.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Process.Signal(syscall.SIGCONT) }()
	w.write("open", "")
	eventually(t, "the stopped run's lease expiring", func() bool {
		out, _, _ := w.tandem("runs", "--json")
		var runs []struct {
			LeaseUntil time.Time `json:"lease_until"`
		}
		_ = json.Unmarshal([]byte(out), &runs)
		return len(runs) == 1 && time.Now().After(runs[0].LeaseUntil.Add(100*time.Millisecond))
	})
	if out, errOut, code := w.tandem("worker", "--until-idle"); code != 0 {
		t.Fatalf("worker: exit %d\n%s\n%s", code, out, errOut)
	}
	before := runEvents(t, w, id)
	if last := before[len(before)-1]; last.Type != "run_succeeded" {
		t.Fatalf("the worker left the run at %s", last.Type)
	}

	if err := c.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	err := c.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 || !strings.Contains(stderr.String(), "taken over by another process") {
		t.Errorf("the woken process: %v, stderr %q; want exit 1 saying the run was taken over", err, stderr.String())
	}
	after := runEvents(t, w, id)
	if len(after) != len(before) {
		t.Errorf("the woken process appended %+v after the run's terminal event", after[len(before):])
	}
	want := []string{"a=" + id + "/a/1", "a=" + id + "/a/1", "b=" + id + "/b/1"}
	if got := effectLines(w); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("side effects %v, want %v: the step in flight once more under its key, the rest once", got, want)
	}
}

func TestCLIInterruptThenResumeRerunsTheCutAttemptUnderItsKey(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			w := newWorkspace(t)
			w.write("gated.yaml", gatedFlow)
			c, id, stderr := startRun(t, w, nil, "gated.yaml")
			eventually(t, "step a starting", func() bool { return len(effectLines(w)) == 1 })
			if err := c.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			var ee *exec.ExitError
			if err := c.Wait(); !errors.As(err, &ee) || ee.ExitCode() != 130 {
				t.Fatalf("exit = %v, want 130\n%s", err, stderr.String())
			}
			w.write("open", "")
			if out, errOut, code := w.tandem("resume", id); code != 0 {
				t.Fatalf("resume: exit %d\n%s\n%s", code, out, errOut)
			}
			want := []string{"a=" + id + "/a/1", "a=" + id + "/a/1", "b=" + id + "/b/1"}
			if got := effectLines(w); strings.Join(got, " ") != strings.Join(want, " ") {
				t.Errorf("side effects %v, want %v: the cut attempt runs again under its key", got, want)
			}
		})
	}
}

func TestCLIAClosedStdoutDoesNotStopTheRun(t *testing.T) {
	w := newWorkspace(t)
	w.write("gated.yaml", gatedFlow)
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	c := w.cmd(context.Background(), "run", "gated.yaml")
	c.Stdout = pw
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Process.Kill() })
	_ = pw.Close()
	// What `| head -1` does: read the first line, then go away.
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	id := firstLineRunID(t, line)
	_ = pr.Close()
	w.write("open", "")
	err = c.Wait()
	if err != nil {
		t.Errorf("tandem run with its stdout closed: %v, want exit 0", err)
	}
	out, _, _ := w.tandem("show", id, "--json")
	if !strings.Contains(out, `"status": "succeeded"`) {
		t.Fatalf("the run did not finish once its stdout closed:\n%s", out)
	}
}

func TestCLIAnUnknownSyncModeIsAUsageError(t *testing.T) {
	w := newWorkspace(t)
	w.write("ok.yaml", "name: ok\nsteps:\n  - id: a\n    shell: echo a\n")
	for _, args := range [][]string{{"run", "ok.yaml", "--sync", "FAST"}, {"runs", "--sync", "FAST"}} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			_, errOut, code := w.tandem(args...)
			if code != 2 || !strings.Contains(errOut, "FULL or NORMAL") {
				t.Fatalf("exit %d, stderr %q; want 2 naming the modes", code, errOut)
			}
		})
	}
}

func TestCLIAModelServerThatNeverAnswersFailsTheStepRetryably(t *testing.T) {
	// It accepts the call and then says nothing, like a wedged server.
	srv := silentModelServer(t)
	w := newWorkspace(t)
	w.write("ask.yaml", "name: ask\nsteps:\n  - id: ask\n    llm: { model: smollm2:135m, prompt: hello }\n    retry: { max_attempts: 2, backoff: 10ms }\n")
	c := w.cmd(context.Background(), "run", "ask.yaml")
	c.Env = append(c.Env, "OLLAMA_HOST="+srv.URL, "TANDEM_MODEL_HEADER_TIMEOUT=300ms")
	id := runFailing(t, c)
	show, _, _ := w.tandem("show", id, "--json")
	var got struct {
		Steps []struct {
			Attempts []struct {
				Error string `json:"error"`
			} `json:"attempts"`
		} `json:"steps"`
	}
	if err := json.Unmarshal([]byte(show), &got); err != nil || len(got.Steps) != 1 {
		t.Fatalf("show: %v\n%s", err, show)
	}
	attempts := got.Steps[0].Attempts
	if len(attempts) != 2 {
		t.Fatalf("%d attempts, want 2: a stall is retryable", len(attempts))
	}
	for _, a := range attempts {
		if !strings.Contains(a.Error, "no reply from the model server within 300ms") {
			t.Fatalf("attempt error %q, want the header timeout", a.Error)
		}
	}
}

func TestCLIAModelStepsOwnStallTimeoutsOutrankTheEnvironment(t *testing.T) {
	srv := silentModelServer(t)
	w := newWorkspace(t)
	w.write("agent.yaml", "name: helper\nmodel: smollm2:135m\nsystem: help\ntools: []\n")
	w.write("ask.yaml", `name: ask
steps:
  - id: ask
    llm: { model: smollm2:135m, prompt: hello }
    model_timeouts: { header: 300ms }
  - id: help
    agent: agent.yaml
    prompt: hello
    model_timeouts: { header: 400ms }
`)
	c := w.cmd(context.Background(), "run", "ask.yaml")
	// The environment would wait an hour: each step's own timeout is what ends its call.
	c.Env = append(c.Env, "OLLAMA_HOST="+srv.URL, "TANDEM_MODEL_HEADER_TIMEOUT=1h")
	id := runFailing(t, c)
	show, _, _ := w.tandem("show", id, "--json")
	var got struct {
		Steps []struct {
			ID       string `json:"id"`
			Attempts []struct {
				Error string `json:"error"`
			} `json:"attempts"`
		} `json:"steps"`
	}
	if err := json.Unmarshal([]byte(show), &got); err != nil || len(got.Steps) != 2 {
		t.Fatalf("show: %v\n%s", err, show)
	}
	want := map[string]string{
		"ask":  "no reply from the model server within 300ms (the step's model_timeouts.header)",
		"help": "no reply from the model server within 400ms (the step's model_timeouts.header)",
	}
	for _, st := range got.Steps {
		if len(st.Attempts) != 1 || !strings.Contains(st.Attempts[0].Error, want[st.ID]) {
			t.Fatalf("step %s attempts %+v, want one ending %q", st.ID, st.Attempts, want[st.ID])
		}
	}
}

func TestCLIResumeKillsWhatTheCutAttemptLeftInTheBackground(t *testing.T) {
	w := newWorkspace(t)
	// The first attempt leaves a grandchild behind; the step then waits to be let go.
	w.write("bg.yaml", `
name: bg
steps:
  - id: a
    shell: 'if [ ! -f spawned ]; then touch spawned; sh -c "echo \$\$ > leftover.pid; sleep 30; echo late >> effects.log" & fi; echo "a $TANDEM_IDEMPOTENCY_KEY" >> effects.log; while [ ! -f open ]; do sleep 0.02; done'
`)
	c, id, _ := startRun(t, w, nil, "bg.yaml")
	var pid int
	eventually(t, "the grandchild starting", func() bool {
		b, _ := os.ReadFile(filepath.Join(w.dir, "leftover.pid"))
		pid, _ = strconv.Atoi(strings.TrimSpace(string(b)))
		return pid > 0 && len(effectLines(w)) == 1
	})
	t.Cleanup(func() { _ = syscall.Kill(pid, syscall.SIGKILL) })
	if err := c.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = c.Wait()
	if err := syscall.Kill(pid, 0); err != nil {
		t.Fatalf("the grandchild died with tandem (%v): nothing to test", err)
	}
	w.write("open", "")
	if out, errOut, code := w.tandem("resume", id); code != 0 {
		t.Fatalf("resume: exit %d\n%s\n%s", code, out, errOut)
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err == nil && !strings.Contains(string(stat), ") Z") {
		t.Fatalf("the cut attempt's grandchild %d still runs after the resumed attempt finished: %s", pid, stat)
	}
}

// silentModelServer accepts model calls and never answers them: a stalled Ollama. It reads
// the request first, so it notices when the client gives up.
func silentModelServer(t *testing.T) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		<-r.Context().Done()
	}))
	t.Cleanup(srv.Close)
	return srv
}

// runFailing runs c, wants it to exit 1 (the run failed), and returns the run's id.
func runFailing(t *testing.T, c *exec.Cmd) string {
	t.Helper()
	var out strings.Builder
	c.Stdout, c.Stderr = &out, &out
	err := c.Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Fatalf("exit %v, want 1\n%s", err, out.String())
	}
	return firstLineRunID(t, out.String())
}
