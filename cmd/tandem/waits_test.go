package main_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestCLIApprovalParksTheRunAndApproveFinishesIt(t *testing.T) {
	w := newWorkspace(t)
	w.write("review.yaml", `name: review
inputs:
  title: { type: string, default: "Tides" }
steps:
  - id: review
    approval: { prompt: "Publish {{ .inputs.title }}?", timeout: 24h }
  - id: publish
    needs: [review]
    when: steps.review.json.approved
    shell: echo "published by {{ .steps.review.json.who }}"
`)
	out, _, code := w.tandem("run", "review.yaml")
	if code != 0 || !strings.Contains(out, "is waiting") || !strings.Contains(out, `"Publish Tides?"`) {
		t.Fatalf("run: exit %d\n%s", code, out)
	}
	id := firstLineRunID(t, out)
	// The message names the command that answers this wait, not a worker.
	if !strings.Contains(out, "answer it: tandem approve "+id+" review") || strings.Contains(out, "tandem worker") {
		t.Fatalf("run does not say how to answer the approval:\n%s", out)
	}
	// show says the parked attempt is waiting (not running for 0s), for what, and how to answer.
	out, _, _ = w.tandem("show", id)
	if !regexp.MustCompile(`attempt 1  waiting  \d+s  key`).MatchString(out) ||
		!strings.Contains(out, `waiting for approval: "Publish Tides?" (times out`) || !strings.Contains(out, "tandem approve "+id+" review") {
		t.Fatalf("show on a parked approval:\n%s", out)
	}
	out, _, _ = w.tandem("inbox", "--json")
	var items []map[string]any
	if err := json.Unmarshal([]byte(out), &items); err != nil || len(items) != 1 || items[0]["step_id"] != "review" || items[0]["prompt"] != "Publish Tides?" {
		t.Fatalf("inbox: %v\n%s", err, out)
	}
	_, errOut, code := w.tandem("approve", id, "publish")
	if code != 2 || !strings.Contains(errOut, "not waiting for an approval") {
		t.Fatalf("approving a non-approval step: exit %d %s", code, errOut)
	}
	c := w.cmd(context.Background(), "approve", id, "review", "--comment", "ship it")
	c.Env = append(c.Env, "USER=ana")
	b, err := c.CombinedOutput()
	if err != nil || !strings.Contains(string(b), "the run has succeeded") {
		t.Fatalf("approve: %v\n%s", err, b)
	}
	out, _, _ = w.tandem("show", id, "--json")
	if !strings.Contains(out, "published by ana") {
		t.Fatalf("show after approve:\n%s", out)
	}
	// A second decision on a decided approval is the user's mistake, said in their terms
	// (not as the internal event a decision is sent as).
	_, errOut, code = w.tandem("reject", id, "review")
	if code != 2 || !strings.Contains(errOut, "review of run "+id+" is no longer waiting for an approval: it succeeded") || strings.Contains(errOut, "approval:review") {
		t.Fatalf("rejecting a decided approval: exit %d %s", code, errOut)
	}
	_, errOut, code = w.tandem("signal", id, "late")
	if code != 1 || !strings.Contains(errOut, "has finished") {
		t.Fatalf("signal to a finished run: exit %d %s", code, errOut)
	}
}

func TestCLIAWorkerKilledMidStepIsTakenOverByAnother(t *testing.T) {
	w := newWorkspace(t)
	w.write("job.yaml", `name: job
steps:
  - id: before
    shell: echo before >> effects.log
  - id: slow
    needs: [before]
    shell: 'touch started; while [ ! -f release ]; do sleep 0.05; done; echo slow >> effects.log'
  - id: after
    needs: [slow]
    shell: echo after >> effects.log
`)
	out, _, code := w.tandem("run", "job.yaml", "--detach")
	if code != 0 {
		t.Fatalf("detach: %d %s", code, out)
	}
	id := firstLineRunID(t, out)
	worker := w.cmd(context.Background(), "worker", "--poll", "50ms")
	if err := worker.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, err := os.Stat(filepath.Join(w.dir, "started")); err == nil {
			break
		}
		if time.Now().After(deadline) {
			_ = worker.Process.Kill()
			t.Fatal("the worker never started the slow step")
		}
		time.Sleep(20 * time.Millisecond) // polling for the step's marker file, not timing
	}
	_ = worker.Process.Signal(syscall.SIGKILL)
	_ = worker.Wait()
	w.write("release", "")
	if out, errOut, code := w.tandem("worker", "--until-idle"); code != 0 {
		t.Fatalf("second worker: %d\n%s\n%s", code, out, errOut)
	}
	out, _, _ = w.tandem("show", id, "--json")
	if !strings.Contains(out, `"status": "succeeded"`) {
		t.Fatalf("run not finished by the second worker:\n%s", out)
	}
	b, _ := os.ReadFile(filepath.Join(w.dir, "effects.log"))
	counts := map[string]int{}
	for _, l := range strings.Fields(string(b)) {
		counts[l]++
	}
	// before committed before the kill: never again. slow was in flight: at least once.
	if counts["before"] != 1 || counts["after"] != 1 || counts["slow"] < 1 || counts["slow"] > 2 {
		t.Fatalf("effects = %v", counts)
	}
}

func TestCLIWorkerUntilIdlePrintsWhatItsLastAdvanceDid(t *testing.T) {
	w := newWorkspace(t)
	w.write("fails.yaml", "name: fails\nsteps:\n  - id: a\n    shell: echo ok\n  - id: each\n    map: '[1,2]'\n    shell: echo {{ .item }}\n"+
		"  - id: check\n    needs: [a, each]\n    run: [\"false\"]\n")
	out, errOut, code := w.tandem("run", "fails.yaml", "--detach")
	if code != 0 {
		t.Fatalf("run --detach: exit %d %s", code, errOut)
	}
	id := firstLineRunID(t, out)
	// Until a worker takes it, the run is queued: not running, and no time passes on it.
	if out, _, _ := w.tandem("runs"); !regexp.MustCompile(id + `\s+fails\s+· queued .* 0s\n`).MatchString(out) {
		t.Errorf("a detached run no worker took is not listed queued:\n%s", out)
	}
	out, errOut, code = w.tandem("worker", "--until-idle")
	if code != 0 {
		t.Fatalf("worker: exit %d %s", code, errOut)
	}
	// One line per step that finished and per change of the run's status, as "TIME  run ID
	// step STEP ..." or "TIME  run ID STATUS ..." (other tests split them so); the last lines
	// are what the worker's last advance published just before it returned.
	for _, want := range []string{
		`\A\d\d:\d\d:\d\d  run ` + id + `  running\n`,
		`(?m)^\d\d:\d\d:\d\d  run ` + id + `  step a succeeded \d+ms$`,
		`(?m)^\d\d:\d\d:\d\d  run ` + id + `  step each succeeded \d+ms$`,
		`(?m)^\d\d:\d\d:\d\d  run ` + id + `  step check failed: exit status 1$`,
		`(?m)^\d\d:\d\d:\d\d  run ` + id + `  failed: step check failed: exit status 1\n\z`,
	} {
		if !regexp.MustCompile(want).MatchString(out) {
			t.Errorf("worker output does not match %s:\n%s", want, out)
		}
	}
	if strings.Contains(out, "each[") || strings.Contains(out, "_") {
		t.Errorf("worker output names map items or raw event types:\n%s", out)
	}
}
