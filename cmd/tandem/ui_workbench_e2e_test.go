package main_test

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fifteenSteps is a flow a person would write: a fan-out, a join, a branch on when: and a
// merge after it, fifteen steps in all.
const fifteenSteps = `name: release
steps:
  - id: fetch
    shell: echo fetched
  - id: parse
    needs: [fetch]
    shell: printf '{"stage":true}'
  - id: lint-go
    needs: [parse]
    shell: echo ok
  - id: lint-yaml
    needs: [parse]
    shell: echo ok
  - id: unit
    needs: [parse]
    shell: echo ok
  - id: e2e
    needs: [parse]
    shell: echo ok
  - id: bench
    needs: [parse]
    shell: echo ok
  - id: gather
    needs: [lint-go, lint-yaml, unit, e2e, bench]
    shell: echo gathered
  - id: to-stage
    needs: [gather]
    when: steps.parse.json.stage == true
    shell: echo stage
  - id: to-prod
    needs: [gather]
    when: steps.parse.json.stage == false
    shell: echo prod
  - id: announce
    needs: [to-stage, to-prod]
    join: any
    shell: echo announced
  - id: report
    needs: [announce]
    shell: echo report
  - id: archive
    needs: [report]
    shell: echo archived
  - id: tidy
    needs: [gather]
    shell: echo tidy
  - id: finish
    needs: [archive, tidy]
    shell: echo finished
`

var fifteenIDs = []string{"fetch", "parse", "lint-go", "lint-yaml", "unit", "e2e", "bench", "gather",
	"to-stage", "to-prod", "announce", "report", "archive", "tidy", "finish"}

// sixSteps is a diamond and a chain whose fifth step fails.
const sixSteps = `name: six
steps:
  - id: start
    shell: echo start
  - id: left
    needs: [start]
    shell: echo left
  - id: right
    needs: [start]
    shell: echo right
  - id: join
    needs: [left, right]
    shell: echo joined
  - id: check
    needs: [join]
    shell: echo the-check-broke >&2; exit 3
  - id: ship
    needs: [check]
    shell: echo shipped
`

// dagPane returns the DAG pane of a wide screen: the cells between the sidebar's and the
// trace's borders, row by row.
func dagPane(screen string) string {
	var out []string
	for _, row := range strings.Split(screen, "\n") {
		cells := strings.Split(row, "││")
		if len(cells) >= 3 {
			out = append(out, cells[1])
		}
	}
	return strings.Join(out, "\n")
}

func TestUIE2EAFifteenStepFlowIsWholeInThePane(t *testing.T) {
	for _, size := range [][2]int{{160, 45}, {120, 40}} {
		w := newWorkspace(t)
		w.write("release.yaml", fifteenSteps)
		s := startTmux(t, w.dir, size[0], size[1], []string{"TANDEM_DB=" + w.db}, tandemBin(t), "ui")
		s.waitForText("▸ release")
		s.keys("r")
		scr := s.waitFor("the release run succeeded", func(scr string) bool { return runSucceeded(scr, "release") })
		pane := dagPane(scr)
		for _, id := range fifteenIDs {
			if !strings.Contains(pane, " "+id+" ") {
				t.Errorf("%dx%d: step %s is not in the DAG pane:\n%s", size[0], size[1], id, scr)
			}
		}
		// The branch not taken says why.
		if !strings.Contains(pane, "to-prod shell · when false") {
			t.Errorf("%dx%d: the skipped branch does not say it was skipped by when:\n%s", size[0], size[1], scr)
		}
		s.keys("q")
		if st := s.waitExit(); st != "0" {
			t.Fatalf("tandem ui exited with %s", st)
		}
	}
}

func TestUIE2EAFailedStepIsSelectedWithoutAKey(t *testing.T) {
	w := newWorkspace(t)
	w.write("six.yaml", sixSteps)
	s := startTmux(t, w.dir, 160, 45, []string{"TANDEM_DB=" + w.db}, tandemBin(t), "ui")
	s.waitForText("▸ six")
	s.keys("r")
	scr := s.waitFor("the failed check selected, its error in the trace", func(scr string) bool {
		return strings.Contains(scr, "check · following") && strings.Contains(scr, "the-check-broke") &&
			strings.Contains(scr, "failed in")
	})
	pane := dagPane(scr)
	for _, id := range []string{"start", "left", "right", "join", "check", "ship"} {
		if !strings.Contains(pane, " "+id+" ") {
			t.Errorf("step %s is not in the DAG pane:\n%s", id, scr)
		}
	}
	if !strings.Contains(scr, "follow ✓") {
		t.Errorf("the status bar does not say follow is on:\n%s", scr)
	}
	// A move by hand turns follow off; f turns it on and goes back to the failed step.
	s.keys("k")
	s.waitForText("follow ✗")
	s.keys("f")
	s.waitForText("follow ✓", "check · following")
}

func TestUIE2EAFileAddedWhileOpenIsListed(t *testing.T) {
	w := newWorkspace(t)
	w.write("first.yaml", "name: first\nsteps:\n  - id: a\n    shell: echo a\n")
	s := startTmux(t, w.dir, 120, 40, []string{"TANDEM_DB=" + w.db}, tandemBin(t), "ui")
	s.waitForText("▸ first")
	// A flow in a new folder, and an agent beside it: both appear, under their folder.
	if err := os.MkdirAll(filepath.Join(w.dir, "team"), 0o755); err != nil {
		t.Fatal(err)
	}
	w.write("team/later.yaml", "name: later\nsteps:\n  - id: b\n    shell: echo b\n")
	w.write("team/helper.yaml", "name: helper\nmodel: smollm2:135m\nsystem: You help.\n")
	s.waitForText("team/", "▸ later", "◇ helper (agent)")
	// A file broken while open shows its error with its position.
	w.write("first.yaml", "name: first\nsteps:\n  - id: a\n    shel: echo a\n")
	s.waitForText("first.yaml:4")
	// And a removed file goes.
	if err := os.Remove(filepath.Join(w.dir, "team", "later.yaml")); err != nil {
		t.Fatal(err)
	}
	s.waitFor("later gone from the sidebar", func(scr string) bool { return !strings.Contains(scr, "▸ later") })
}

const brokenRelease = "name: fix\nsteps:\n  - id: a\n    shell: echo a\n  - id: b\n    needs: [a]\n    shell: 'echo broken >&2; exit 4'\n"
const fixedRelease = "name: fix\nsteps:\n  - id: a\n    shell: echo a\n  - id: b\n    needs: [a]\n    shell: echo fixed-now\n  - id: c\n    needs: [b]\n    shell: echo added-step\n"

func TestCLIRetryReloadGoesOnWithTheFileAsItIsNow(t *testing.T) {
	w := newWorkspace(t)
	w.write("fix.yaml", brokenRelease)
	out, _, code := w.tandem("run", "fix.yaml")
	if code != 1 {
		t.Fatalf("the broken flow exited %d\n%s", code, out)
	}
	id := firstLineRunID(t, out)
	w.write("fix.yaml", fixedRelease)
	// Without --reload the run keeps the flow it started with, and b fails again.
	if out, _, code := w.tandem("retry", id, "b"); code != 1 || !strings.Contains(out, "broken") {
		t.Fatalf("retry as recorded: exit %d\n%s", code, out)
	}
	out, errOut, code := w.tandem("retry", id, "b", "--reload")
	if code != 0 || !strings.Contains(out, "succeeded") {
		t.Fatalf("retry --reload: exit %d\n%s\n%s", code, out, errOut)
	}
	if got := stepOutput(t, w, id, "c"); strings.TrimSpace(got) != "added-step" {
		t.Fatalf("the step the file added ran with %q", got)
	}
	// A file that changed what the run completed is refused, with the reason.
	w.write("fix.yaml", "name: fix\nsteps:\n  - id: b\n    shell: echo b\n")
	if _, errOut, code := w.tandem("retry", id, "b", "--reload"); code != 2 || !strings.Contains(errOut, "a (removed)") {
		t.Fatalf("retry --reload of an incompatible file: exit %d\n%s", code, errOut)
	}
}

func TestUIE2EAnEditedFlowIsRetriedWithTheNewDefinition(t *testing.T) {
	w := newWorkspace(t)
	w.write("fix.yaml", brokenRelease)
	s := startTmux(t, w.dir, 160, 45, []string{"TANDEM_DB=" + w.db}, tandemBin(t), "ui")
	s.waitForText("▸ fix")
	s.keys("r")
	s.waitForText("✗ b shell", "broken")
	w.write("fix.yaml", fixedRelease)
	s.waitForText("file changed (+4 -1 lines; V shows)")
	s.keys("R")
	s.waitForText("the file changed", "with the file as it is now")
	s.keys("n")
	s.waitFor("the run succeeded with the added step", func(scr string) bool {
		return runSucceeded(scr, "fix") && strings.Contains(dagPane(scr), "✓ c shell")
	})
}

// gatedOllama serves one streamed chat reply: its first words at once, the rest when the
// test closes release, so the test sees the step while it streams.
func gatedOllama(t *testing.T, release <-chan struct{}) *httptest.Server {
	return streamingOllama(t, func(r *http.Request, _ []chatMessage, chunk func(string, bool)) {
		chunk("Streaming-words-first ", false)
		select {
		case <-release:
		case <-r.Context().Done():
			return
		}
		chunk("and-the-rest.", false)
		chunk("", true)
	})
}

func TestUIE2EAStepStreamingMidRunIsFollowed(t *testing.T) {
	release := make(chan struct{})
	srv := gatedOllama(t, release)
	w := newWorkspace(t)
	w.write("mid.yaml", `name: mid
steps:
  - id: prep
    shell: echo prepared
  - id: side
    needs: [prep]
    shell: echo side-done
  - id: ask
    needs: [prep]
    llm:
      prompt: Say something.
  - id: after
    needs: [ask, side]
    shell: echo after-done
`)
	s := startTmux(t, w.dir, 160, 45, []string{"TANDEM_DB=" + w.db, "OLLAMA_HOST=" + srv.URL, "TANDEM_MODEL=scripted"},
		tandemBin(t), "ui")
	s.waitForText("▸ mid")
	s.keys("r")
	// While the model streams, the selection and the trace are on the streaming step.
	s.waitFor("ask selected while it streams", func(scr string) bool {
		pane, ok := paneBelow(scr, "ask · following")
		return ok && strings.Contains(pane, "Streaming-words-first")
	})
	close(release)
	s.waitFor("the run succeeded", func(scr string) bool { return runSucceeded(scr, "mid") })
}

func TestUIE2ESmallTerminalsShowTheFocusedPaneAndSayHowToReachTheOthers(t *testing.T) {
	for _, size := range [][2]int{{80, 24}, {60, 20}} {
		w := newWorkspace(t)
		w.write("six.yaml", sixSteps)
		s := startTmux(t, w.dir, size[0], size[1], []string{"TANDEM_DB=" + w.db}, tandemBin(t), "ui")
		s.waitForText("[sidebar]", "▸ six")
		s.keys("r")
		// The run opens in the DAG, alone, with every step in view.
		scr := s.waitForText("[DAG]", "✗ check")
		for _, id := range []string{"start", "left", "right", "join", "check", "ship"} {
			if !strings.Contains(scr, " "+id+" ") {
				t.Errorf("%dx%d: %s is not on screen:\n%s", size[0], size[1], id, scr)
			}
		}
		s.keys("Tab")
		s.waitForText("[trace]", "check · following")
		s.keys("Tab")
		s.waitForText("[sidebar]", "▸ six")
		s.keys("q")
		s.waitExit()
	}
}
