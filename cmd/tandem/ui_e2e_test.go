package main_test

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"

	"tandem/internal/ollamatest"
)

// uiDeadline bounds every wait for the screen; generous, since a cold model load on a slow
// machine takes a while. Tests poll up to it and never assert on how long anything took.
const uiDeadline = 90 * time.Second

// tmuxSession is the real binary running in a detached tmux session on a private server
// (its own -L socket, no config file), so the test never touches the user's tmux.
type tmuxSession struct {
	t      *testing.T
	socket string
	target string
	status string // the file the wrapper writes the binary's exit code to
}

// startTmux runs argv with env added in a new detached w x h session in dir, recording its
// exit status in a file, and kills the private server when the test ends.
func startTmux(t *testing.T, dir string, w, h int, env []string, argv ...string) *tmuxSession {
	t.Helper()
	requireTmux(t)
	s := &tmuxSession{t: t, socket: fmt.Sprintf("tandem-e2e-%d-%d", os.Getpid(), time.Now().UnixNano()),
		target: "tandem", status: filepath.Join(t.TempDir(), "status")}
	var cmd strings.Builder
	cmd.WriteString("exec env")
	for _, kv := range env {
		cmd.WriteString(" " + shellQuote(kv))
	}
	cmd.WriteString(" sh -c " + shellQuote(`"$@"; echo $? > `+shellQuote(s.status)) + " sh")
	for _, a := range argv {
		cmd.WriteString(" " + shellQuote(a))
	}
	// -f /dev/null: the user's tmux.conf must not change keys or the terminal type.
	s.tmux("-f", "/dev/null", "new-session", "-d", "-x", fmt.Sprint(w), "-y", fmt.Sprint(h), "-s", s.target, "-c", dir, cmd.String())
	// The server leaves its socket file behind when its last session ends: remove it too
	// (tmux puts -L sockets in $TMUX_TMPDIR, or /tmp, under tmux-UID).
	tmp := os.Getenv("TMUX_TMPDIR")
	if tmp == "" {
		tmp = "/tmp"
	}
	sock := filepath.Join(tmp, fmt.Sprintf("tmux-%d", os.Getuid()), s.socket)
	t.Cleanup(func() {
		_ = exec.Command("tmux", "-L", s.socket, "kill-server").Run()
		_ = os.Remove(sock)
	})
	return s
}

// requireTmux skips the test when tmux is missing, or fails it in CI (CI=true).
func requireTmux(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("tmux"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("tmux is not installed (CI=true: a missing tmux is a failure)")
		}
		t.Skip("tmux is not installed: the terminal end-to-end test needs it")
	}
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

func (s *tmuxSession) tmux(args ...string) string {
	s.t.Helper()
	out, err := exec.Command("tmux", append([]string{"-L", s.socket}, args...)...).CombinedOutput()
	if err != nil {
		s.t.Fatalf("tmux %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// keys sends tmux key names (`j`, `Tab`, `BTab`, `Enter`) to the session.
func (s *tmuxSession) keys(keys ...string) {
	s.t.Helper()
	s.tmux(append([]string{"send-keys", "-t", s.target}, keys...)...)
}

// screen is the pane's text as a person sees it.
func (s *tmuxSession) screen() string {
	s.t.Helper()
	return s.tmux("capture-pane", "-p", "-t", s.target)
}

// waitFor polls the screen until ok holds and returns that screen, or fails with the last
// one it saw.
func (s *tmuxSession) waitFor(what string, ok func(screen string) bool) string {
	s.t.Helper()
	var last string
	for deadline := time.Now().Add(uiDeadline); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if _, err := os.Stat(s.status); err == nil {
			b, _ := os.ReadFile(s.status)
			s.t.Fatalf("waiting for %s: the program exited (status %s); last screen:\n%s", what, strings.TrimSpace(string(b)), last)
		}
		if last = s.screen(); ok(last) {
			return last
		}
	}
	s.t.Fatalf("waiting for %s: not on screen within %s; last screen:\n%s", what, uiDeadline, last)
	return ""
}

func (s *tmuxSession) waitForText(texts ...string) string {
	s.t.Helper()
	return s.waitFor(strings.Join(texts, ", "), func(scr string) bool {
		for _, t := range texts {
			if !strings.Contains(scr, t) {
				return false
			}
		}
		return true
	})
}

// waitExit waits for the wrapped program to exit and returns its exit status.
func (s *tmuxSession) waitExit() string {
	s.t.Helper()
	for deadline := time.Now().Add(uiDeadline); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if b, err := os.ReadFile(s.status); err == nil && strings.HasSuffix(string(b), "\n") {
			return strings.TrimSpace(string(b))
		}
	}
	s.t.Fatalf("the program did not exit within %s; screen:\n%s", uiDeadline, s.screen())
	return ""
}

const chatFlow = `name: chat
steps:
  - id: ask
    llm:
      prompt: Write one short sentence about the sea.
      options: { temperature: 0, seed: 7, num_predict: 40 }
  - id: after
    needs: [ask]
    shell: echo after-the-model
`

// flakyFlow fails on its first attempt and succeeds on any later one: the first attempt
// leaves a marker behind.
const flakyFlow = `name: flaky
steps:
  - id: wobble
    shell: 'if [ -f marker ]; then echo recovered-on-retry; else touch marker; echo first-attempt-fails >&2; exit 3; fi'
`

type runRow struct {
	ID     string `json:"id"`
	Flow   string `json:"flow"`
	Status string `json:"status"`
}

func listRuns(t *testing.T, w *workspace) []runRow {
	t.Helper()
	out, errOut, code := w.tandem("runs", "--all", "--json")
	var runs []runRow
	if err := json.Unmarshal([]byte(out), &runs); err != nil || code != 0 {
		t.Fatalf("runs --json: exit %d %v\n%s\n%s", code, err, out, errOut)
	}
	return runs
}

func stepOutput(t *testing.T, w *workspace, runID, step string) string {
	t.Helper()
	out, errOut, code := w.tandem("show", runID, "--json")
	var doc struct {
		State struct {
			Steps map[string]struct {
				Output string `json:"output"`
			} `json:"steps"`
		} `json:"state"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil || code != 0 {
		t.Fatalf("show --json: exit %d %v\n%s\n%s", code, err, out, errOut)
	}
	return doc.State.Steps[step].Output
}

// TestUIE2EWorkbenchRunsAndRetriesFlowsInARealTerminal drives the real binary in tmux with
// keys only and reads only the screen: a flow with an llm step against the real Ollama
// runs to the end with the model's text streamed into the trace, a failing step is retried
// to success, and q leaves no run behind as running.
func TestUIE2EWorkbenchRunsAndRetriesFlowsInARealTerminal(t *testing.T) {
	requireTmux(t)
	srv := ollamatest.Start(t)
	w := newWorkspace(t)
	w.write("chat.yaml", chatFlow)
	w.write("flaky.yaml", flakyFlow)
	s := startTmux(t, w.dir, 160, 45,
		[]string{"OLLAMA_HOST=" + srv.Host, "TANDEM_MODEL=" + srv.Model, "TANDEM_DB=" + w.db},
		tandemBin(t), "ui")

	// The workspace's flows are listed; the cursor starts on the first (chat).
	s.waitForText("Flows", "▸ chat", "▸ flaky")

	// r runs the flow under the cursor and opens its DAG; the model's step streams, then the
	// shell step after it runs.
	s.keys("r")
	s.waitFor("chat's steps and run succeeded", func(scr string) bool {
		return strings.Contains(scr, "✓ ask llm") && strings.Contains(scr, "✓ after shell") &&
			runSucceeded(scr, "chat")
	})

	// Follow mode moved the selection along with the work, to the last step; h moves it back
	// to the llm step (turning follow off), whose trace shows the reply the log recorded.
	s.waitForText("follow ✓")
	s.keys("h")
	s.waitForText("follow ✗")
	var chatID string
	for _, r := range listRuns(t, w) {
		if r.Flow == "chat" {
			chatID = r.ID
		}
	}
	if chatID == "" {
		t.Fatal("no chat run in the database")
	}
	reply := stepOutput(t, w, chatID, "ask")
	if strings.TrimSpace(reply) == "" {
		t.Fatalf("the model's reply recorded for ask is empty\n%s", srv.Log())
	}
	want := strings.Join(strings.Fields(reply), "")
	s.waitFor(fmt.Sprintf("the reply %q in the trace", reply), func(scr string) bool {
		pane, ok := paneBelow(scr, "ask · following")
		return ok && strings.Contains(pane, want)
	})

	// Back to the sidebar, down to flaky, run it: its step fails.
	s.keys("BTab", "j", "r")
	s.waitForText("✗ wobble shell", "first-attempt-fails")

	// R asks, then retries the selected failed step, and the second attempt succeeds.
	s.keys("R")
	s.waitForText("retry wobble of run")
	s.keys("Enter")
	s.waitFor("wobble's second attempt and flaky succeeded", func(scr string) bool {
		return strings.Contains(scr, "✓ wobble shell · 2") && strings.Contains(scr, "recovered-on-retry") &&
			runSucceeded(scr, "flaky")
	})

	// q quits: the process exits cleanly and leaves no run running.
	s.keys("q")
	if status := s.waitExit(); status != "0" {
		t.Fatalf("tandem ui exited with %s", status)
	}
	runs := listRuns(t, w)
	byFlow := map[string]string{}
	for _, r := range runs {
		if r.Status == "running" {
			t.Errorf("run %s (%s) is left running", r.ID, r.Flow)
		}
		byFlow[r.Flow] = r.Status
	}
	if byFlow["chat"] != "succeeded" || byFlow["flaky"] != "succeeded" {
		t.Fatalf("runs after quitting: %+v", runs)
	}
}

// runSucceeded reports whether the status bar says the open run of flow succeeded.
func runSucceeded(screen, flow string) bool {
	l := statusBar(screen)
	return strings.Contains(l, "✓ "+flow+" ") && strings.Contains(l, " succeeded ")
}

// paneBelow returns the text of the pane whose first row starts with header: the cells
// under the header up to the pane's right border, row after row, with every space removed,
// so text can be found in it however the pane wrapped it.
func paneBelow(screen, header string) (string, bool) {
	rows := strings.Split(screen, "\n")
	for i, r := range rows {
		j := strings.Index(r, header)
		if j < 0 {
			continue
		}
		left := ansi.StringWidth(r[:j])
		right := ansi.StringWidth(r[:strings.LastIndex(r, "│")])
		var b strings.Builder
		for _, row := range rows[i+1:] {
			b.WriteString(ansi.Cut(row, left, right))
		}
		return strings.Join(strings.Fields(b.String()), ""), true
	}
	return "", false
}
