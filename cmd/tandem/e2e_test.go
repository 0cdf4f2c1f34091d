package main_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// tandemBin builds the real binary once per test run.
func tandemBin(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "tandem-bin")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "tandem")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// workspace is a temp dir with a database path for CLI tests.
type workspace struct {
	t   *testing.T
	dir string
	db  string
}

func newWorkspace(t *testing.T) *workspace {
	dir := t.TempDir()
	return &workspace{t: t, dir: dir, db: filepath.Join(dir, ".tandem", "tandem.db")}
}

func (w *workspace) write(name, body string) string {
	w.t.Helper()
	p := filepath.Join(w.dir, name)
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		w.t.Fatal(err)
	}
	return p
}

func (w *workspace) cmd(ctx context.Context, args ...string) *exec.Cmd {
	c := exec.CommandContext(ctx, tandemBin(w.t), args...)
	c.Dir = w.dir
	c.Env = append(os.Environ(), "TANDEM_DB="+w.db)
	return c
}

// tandem runs the binary and returns stdout, stderr and the exit code.
func (w *workspace) tandem(args ...string) (string, string, int) {
	w.t.Helper()
	c := w.cmd(context.Background(), args...)
	var out, errb strings.Builder
	c.Stdout, c.Stderr = &out, &errb
	err := c.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		w.t.Fatal(err)
	}
	return out.String(), errb.String(), code
}

func firstLineRunID(t *testing.T, out string) string {
	t.Helper()
	f := strings.Fields(strings.SplitN(out, "\n", 2)[0])
	if len(f) < 2 || f[0] != "run" {
		t.Fatalf("first line does not name the run: %q", out)
	}
	return f[1]
}

func TestCLIRunShowsProgressAndExitCodes(t *testing.T) {
	w := newWorkspace(t)
	w.write("ok.yaml", "name: ok\nsteps:\n  - id: hello\n    shell: echo hi\n")
	w.write("bad.yaml", "name: bad\nsteps:\n  - id: boom\n    shell: 'echo doomed >&2; exit 4'\n")
	out, _, code := w.tandem("run", "ok.yaml")
	if code != 0 || !strings.Contains(out, "✓ hello") || !strings.Contains(out, "succeeded") {
		t.Fatalf("ok run: code %d\n%s", code, out)
	}
	okID := firstLineRunID(t, out)
	out, _, code = w.tandem("run", "bad.yaml")
	if code != 1 || !strings.Contains(out, "doomed") || !strings.Contains(out, "tandem retry") {
		t.Fatalf("failing run: code %d\n%s", code, out)
	}
	out, _, code = w.tandem("runs", "--json")
	var runs []map[string]any
	if err := json.Unmarshal([]byte(out), &runs); err != nil || code != 0 || len(runs) != 2 {
		t.Fatalf("runs --json: %v code %d\n%s", err, code, out)
	}
	out, errOut, _ := w.tandem("show", okID[:12])
	if !strings.Contains(out, "hello") || !strings.Contains(out, "key "+okID+"/hello/1") {
		t.Fatalf("show by prefix:\n%s\n%s", out, errOut)
	}
	out, _, _ = w.tandem("events", okID, "--json")
	var evs []map[string]any
	if err := json.Unmarshal([]byte(out), &evs); err != nil || len(evs) < 4 || evs[0]["type"] != "run_started" {
		t.Fatalf("events --json: %v\n%s", err, out)
	}
}

func TestCLIRefusesAnInvalidFlowWithPositionsAndRunsNothing(t *testing.T) {
	w := newWorkspace(t)
	w.write("cyc.yaml", "name: cyc\nsteps:\n  - id: a\n    needs: [b]\n    shell: touch ran\n  - id: b\n    needs: [a]\n    shell: touch ran\n")
	_, errOut, code := w.tandem("run", "cyc.yaml")
	if code != 2 {
		t.Fatalf("exit %d, want 2; stderr:\n%s", code, errOut)
	}
	if !strings.Contains(errOut, "cyc.yaml:3:") || !strings.Contains(errOut, "cycle: a -> b -> a") {
		t.Fatalf("stderr lacks the positioned cycle:\n%s", errOut)
	}
	if _, err := os.Stat(filepath.Join(w.dir, "ran")); err == nil {
		t.Fatal("a step of an invalid flow ran")
	}
	out, _, _ := w.tandem("runs", "--json")
	if strings.TrimSpace(out) != "[]" {
		t.Fatalf("an invalid flow left a run: %s", out)
	}
	_, errOut, code = w.tandem("validate", "cyc.yaml")
	if code != 2 || !strings.Contains(errOut, "cyc.yaml:3:") {
		t.Fatalf("validate: exit %d\n%s", code, errOut)
	}
}

// crashFlow appends each step's id to effects.log. Step s4 is slow enough to be killed in.
const crashFlow = `name: crash
steps:
  - id: s1
    shell: echo s1 >> effects.log
  - id: s2
    needs: [s1]
    shell: echo s2 >> effects.log
  - id: s3
    needs: [s2]
    shell: echo s3 >> effects.log
  - id: s4
    needs: [s3]
    shell: 'echo s4-start >> effects.log; while [ ! -f release ]; do sleep 0.05; done; echo s4 >> effects.log'
  - id: s5
    needs: [s4]
    shell: echo s5 >> effects.log
  - id: fan
    needs: [s5]
    map: '[1,2,3,4,5,6]'
    shell: echo "fan{{ .item }}" >> effects.log
  - id: s6
    needs: [fan]
    shell: echo s6 >> effects.log
`

// TestCLISurvivesSIGKILLAndResumeNeverRepeatsACompletedStep kills the real binary mid-run at
// several points and proves from the side effects that no completed step ran twice.
func TestCLISurvivesSIGKILLAndResumeNeverRepeatsACompletedStep(t *testing.T) {
	for _, killAfter := range []string{"▶ s1", "✓ s2", "▶ s4", "✓ s5"} {
		t.Run("killed at "+killAfter, func(t *testing.T) {
			w := newWorkspace(t)
			w.write("crash.yaml", crashFlow)
			if killAfter == "✓ s5" {
				w.write("release", "")
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			c := w.cmd(ctx, "run", "crash.yaml")
			stdout, err := c.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := c.Start(); err != nil {
				t.Fatal(err)
			}
			sc := bufio.NewScanner(stdout)
			var runID string
			for sc.Scan() {
				line := sc.Text()
				if runID == "" {
					runID = firstLineRunID(t, line)
				}
				if strings.Contains(line, killAfter) {
					break
				}
			}
			if err := c.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			_ = c.Wait()
			// What the log says was committed before the kill, and the side effects so far.
			committed := committedSteps(t, w, runID)
			before := countEffects(t, w)
			w.write("release", "")
			out, errOut, code := w.tandem("resume", runID)
			if code != 0 {
				t.Fatalf("resume exit %d\n%s\n%s", code, out, errOut)
			}
			after := countEffects(t, w)
			for _, id := range []string{"s1", "s2", "s3", "s4", "s5", "s6", "fan1", "fan2", "fan3", "fan4", "fan5", "fan6"} {
				if after[id] < 1 {
					t.Errorf("%s never ran", id)
				}
				step := id
				if strings.HasPrefix(id, "fan") {
					n := strings.TrimPrefix(id, "fan")
					step = fmt.Sprintf("fan[%d]", int(n[0]-'1'))
				}
				if committed[step] && after[id] != before[id] {
					t.Errorf("%s completed before the kill but ran again on resume (%d -> %d)", id, before[id], after[id])
				}
				if after[id] > 2 {
					t.Errorf("%s ran %d times", id, after[id])
				}
			}
			if len(committed) == 0 && killAfter != "▶ s1" {
				t.Errorf("nothing was committed before the kill at %q", killAfter)
			}
		})
	}
}

// committedSteps reads the run's log and returns the steps whose success was committed.
func committedSteps(t *testing.T, w *workspace, runID string) map[string]bool {
	t.Helper()
	out, errOut, code := w.tandem("events", runID, "--json")
	if code != 0 {
		t.Fatalf("events: %s", errOut)
	}
	var evs []struct {
		Type   string `json:"type"`
		StepID string `json:"step_id"`
	}
	if err := json.Unmarshal([]byte(out), &evs); err != nil {
		t.Fatal(err)
	}
	done := map[string]bool{}
	for _, e := range evs {
		if e.Type == "step_succeeded" {
			done[e.StepID] = true
		}
	}
	return done
}

func countEffects(t *testing.T, w *workspace) map[string]int {
	t.Helper()
	b, _ := os.ReadFile(filepath.Join(w.dir, "effects.log"))
	counts := map[string]int{}
	for _, l := range strings.Fields(string(b)) {
		counts[l]++
	}
	return counts
}

func TestCLIInterruptWithSIGINTRecordsInterruptedAndResumes(t *testing.T) {
	w := newWorkspace(t)
	w.write("crash.yaml", crashFlow)
	c := w.cmd(context.Background(), "run", "crash.yaml")
	stdout, _ := c.StdoutPipe()
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(stdout)
	var runID string
	for sc.Scan() {
		if runID == "" {
			runID = firstLineRunID(t, sc.Text())
		}
		if strings.Contains(sc.Text(), "▶ s4") {
			break
		}
	}
	_ = c.Process.Signal(os.Interrupt)
	var rest strings.Builder
	for sc.Scan() {
		rest.WriteString(sc.Text() + "\n")
	}
	err := c.Wait()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 130 {
		t.Fatalf("exit = %v, want 130\n%s", err, rest.String())
	}
	if !strings.Contains(rest.String(), "■ s4") || !strings.Contains(rest.String(), "tandem resume "+runID) {
		t.Fatalf("interrupt output:\n%s", rest.String())
	}
	out, _, _ := w.tandem("show", runID, "--json")
	if !strings.Contains(out, `"status": "interrupted"`) {
		t.Fatalf("show after SIGINT:\n%s", out)
	}
	w.write("release", "")
	if out, _, code := w.tandem("resume", runID); code != 0 {
		t.Fatalf("resume: %d\n%s", code, out)
	}
}

func TestCLIAnUnknownRunIsAUsageErrorEverywhere(t *testing.T) {
	w := newWorkspace(t)
	for _, args := range [][]string{
		{"show", "zzzz"}, {"events", "zzzz"}, {"trace", "zzzz"}, {"resume", "zzzz"},
		{"retry", "zzzz", "a"}, {"cancel", "zzzz"}, {"skip", "zzzz", "a"}, {"pause", "zzzz"},
		{"signal", "zzzz", "go"}, {"approve", "zzzz", "a"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			_, errOut, code := w.tandem(args...)
			if code != 2 || !strings.Contains(errOut, `run "zzzz" not found`) || !strings.Contains(errOut, "tandem runs") {
				t.Fatalf("exit %d, stderr %q; want 2 and a run not found that names tandem runs", code, errOut)
			}
		})
	}
}

func TestCLIRunsRefusesAnUnknownStatusAndSaysWhenNoneMatch(t *testing.T) {
	w := newWorkspace(t)
	w.write("ok.yaml", "name: ok\nsteps:\n  - id: a\n    run: [\"true\"]\n")
	if _, errOut, code := w.tandem("run", "ok.yaml"); code != 0 {
		t.Fatalf("run: exit %d: %s", code, errOut)
	}
	_, errOut, code := w.tandem("runs", "--status", "nope")
	if code != 2 || !strings.Contains(errOut, `--status "nope"`) || !strings.Contains(errOut, "succeeded, failed") {
		t.Fatalf("runs --status nope: exit %d, stderr %q; want 2 naming the statuses", code, errOut)
	}
	out, _, code := w.tandem("runs", "--status", "failed,cancelled")
	if code != 0 || strings.TrimSpace(out) != "no failed or cancelled runs" {
		t.Fatalf("runs --status failed,cancelled: exit %d, stdout %q; want no failed or cancelled runs", code, out)
	}
	out, _, _ = w.tandem("runs", "--status", "succeeded")
	if !strings.Contains(out, "ok") || !strings.Contains(out, "succeeded") {
		t.Fatalf("runs --status succeeded: %q; want the ok run", out)
	}
}

func TestCLIABadInputFlagSaysWhatToType(t *testing.T) {
	w := newWorkspace(t)
	w.write("inp.yaml", "name: inp\ninputs:\n  n: { type: integer, default: 1 }\n  mode: { type: string, enum: [fast, slow], default: fast }\nsteps:\n  - id: a\n    run: [\"echo\", \"{{ .inputs.n }}\"]\n")
	for _, tc := range []struct{ arg, want string }{
		{"=3", `-i "=3": want key=value, with the input's name as key`},
		{"n", `-i "n": want key=value`},
		{"mode=medium", `input "mode": "medium" is not one of fast, slow`},
	} {
		t.Run(tc.arg, func(t *testing.T) {
			_, errOut, code := w.tandem("run", "inp.yaml", "-i", tc.arg)
			if code != 2 || !strings.Contains(errOut, tc.want) {
				t.Fatalf("run -i %s: exit %d, stderr %q; want 2 and %q", tc.arg, code, errOut, tc.want)
			}
		})
	}
}

func TestCLIShowPrintsWhatAFailedStepPrintedToStdout(t *testing.T) {
	w := newWorkspace(t)
	w.write("tests.yaml", "name: tests\nsteps:\n  - id: check\n    shell: |\n      echo 'FAIL: TestParse (want 3, got 4)'\n      exit 1\n")
	out, _, code := w.tandem("run", "tests.yaml")
	if code != 1 {
		t.Fatalf("run: exit %d\n%s", code, out)
	}
	id := firstLineRunID(t, out)
	out, _, _ = w.tandem("show", id)
	if !strings.Contains(out, "output of attempt 1:\n      FAIL: TestParse (want 3, got 4)") {
		t.Fatalf("show does not print the failed attempt's stdout:\n%s", out)
	}
	out, _, _ = w.tandem("show", id, "--json")
	var shape struct {
		Steps []struct {
			Attempts []struct {
				Output string `json:"output"`
			} `json:"attempts"`
		} `json:"steps"`
	}
	if err := json.Unmarshal([]byte(out), &shape); err != nil || len(shape.Steps) != 1 || len(shape.Steps[0].Attempts) != 1 ||
		shape.Steps[0].Attempts[0].Output != "FAIL: TestParse (want 3, got 4)" {
		t.Fatalf("show --json: %v\n%s", err, out)
	}
}

func TestCLIAnUnknownCommandSaysWhatWasMeant(t *testing.T) {
	w := newWorkspace(t)
	for _, tc := range []struct{ arg, want string }{
		{"rnu", "(did you mean run or runs?)"},
		{"flow.yaml", "(to run a flow: tandem run flow.yaml)"},
		{"xyzzy", `unknown command "xyzzy" for "tandem"`},
	} {
		t.Run(tc.arg, func(t *testing.T) {
			_, errOut, code := w.tandem(tc.arg)
			if code != 2 || !strings.Contains(errOut, tc.want) {
				t.Fatalf("tandem %s: exit %d, stderr %q; want 2 and %q", tc.arg, code, errOut, tc.want)
			}
		})
	}
}

func TestCLIValidateCountsStepsAndToolsInPlainEnglish(t *testing.T) {
	w := newWorkspace(t)
	w.write("one.yaml", "name: one\nsteps:\n  - id: a\n    run: [\"true\"]\n")
	w.write("two.yaml", "name: two\nsteps:\n  - id: a\n    run: [\"true\"]\n  - id: b\n    run: [\"true\"]\n")
	w.write("agent.yaml", "name: reader\nsystem: read\ntools: [read_file]\n")
	out, errOut, code := w.tandem("validate", "one.yaml", "two.yaml", "agent.yaml")
	for _, want := range []string{"one.yaml: ok (flow one, 1 step)\n", "two.yaml: ok (flow two, 2 steps)\n", "agent.yaml: ok (agent reader, 1 tool)\n"} {
		if code != 0 || !strings.Contains(out, want) {
			t.Fatalf("validate: exit %d, stdout %q, stderr %q; want %q", code, out, errOut, want)
		}
	}
}

func TestCLIValidateOfAMissingFileNamesItOnce(t *testing.T) {
	w := newWorkspace(t)
	_, errOut, code := w.tandem("validate", "gone.yaml")
	if code != 2 || errOut != "gone.yaml:1:1: cannot read the file: no such file or directory\n" {
		t.Fatalf("validate gone.yaml: exit %d, stderr %q", code, errOut)
	}
}

func TestCLIRunOnADirectoryNamesTheFlowsInIt(t *testing.T) {
	w := newWorkspace(t)
	if err := os.Mkdir(filepath.Join(w.dir, "jobs"), 0o755); err != nil {
		t.Fatal(err)
	}
	w.write("jobs/nightly.yaml", "name: nightly\nsteps:\n  - id: a\n    run: [\"true\"]\n")
	_, errOut, code := w.tandem("run", "jobs")
	if code != 2 || !strings.Contains(errOut, "jobs is a directory, not a flow file (jobs/nightly.yaml)") {
		t.Fatalf("run jobs: exit %d, stderr %q; want 2 naming jobs/nightly.yaml", code, errOut)
	}
}
