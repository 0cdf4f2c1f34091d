package main_test

import (
	"strings"
	"testing"
)

// uiDebugFlow has an input, a slow first step to pause during, a wait to signal, a failing
// step to skip by hand and a last step to hold at.
const uiDebugFlow = `name: order
inputs:
  qty: { type: integer, default: 1 }
steps:
  - id: take
    shell: sleep 2; echo took {{ .inputs.qty }}
  - id: pack
    needs: [take]
    shell: echo packed
  - id: pay
    needs: [pack]
    wait: paid
  - id: ship
    needs: [pay]
    shell: exit 4
  - id: done
    needs: [ship]
    shell: echo "done with {{ .steps.ship.output }}"
`

// statusBar returns the status bar: the line with the open run's token counts.
func statusBar(screen string) string {
	for _, l := range strings.Split(screen, "\n") {
		if strings.Contains(l, "tokens ") {
			return l
		}
	}
	return ""
}

// TestUIE2EDebugControlsInARealTerminal drives the debug keys of the workbench in tmux:
// the inputs form refuses a bad integer, p pauses a running run and continues it, s runs one
// step, B sets a breakpoint the run stops at, ! answers a wait, S skips a failed step with
// an output written in $EDITOR (ctrl+e), F forks the run and D compares the two.
func TestUIE2EDebugControlsInARealTerminal(t *testing.T) {
	requireTmux(t)
	w := newWorkspace(t)
	w.write("order.yaml", uiDebugFlow)
	editor := w.write("editor.sh", "#!/bin/sh\necho by-editor > \"$1\"\n")
	s := startTmux(t, w.dir, 160, 30, []string{"TANDEM_DB=" + w.db, "EDITOR=sh " + editor}, tandemBin(t), "ui")
	s.waitForText("▸ order")

	// r asks for the flow's inputs and refuses a bad integer.
	s.keys("r")
	s.waitForText("run order with these inputs", "qty")
	s.keys("BSpace", "x", "C-s")
	s.waitForText(`input "qty": "x" is not an integer`)
	s.keys("BSpace", "7", "Enter")

	// p while take sleeps (once the run is open): take finishes, nothing after it starts.
	s.waitFor("the run open and running", func(scr string) bool {
		bar := statusBar(scr)
		return strings.Contains(bar, " order ") && strings.Contains(bar, " running ")
	})
	s.keys("p")
	s.waitFor("the run paused after take", func(scr string) bool {
		bar := statusBar(scr)
		return strings.Contains(scr, "✓ take shell") && strings.Contains(bar, " order ") && strings.Contains(bar, " paused ")
	})
	if !strings.Contains(s.screen(), "· pack shell") {
		t.Fatalf("pack ran while the run was paused:\n%s", s.screen())
	}

	// s runs pack alone; p runs on to the wait.
	s.keys("s")
	s.waitForText("✓ pack shell", "paused (step mode)")
	s.keys("p")
	s.waitFor("the run waiting at pay", func(scr string) bool { return strings.Contains(statusBar(scr), " waiting ") })

	// A breakpoint before done, then ! answers pay (the event is prefilled): ship fails. The
	// DAG scrolls to the selected box, so marks are looked for on the selected step.
	s.keys("l", "l", "l", "l", "B")
	s.waitForText("● break")
	s.keys("h", "h", "!")
	s.waitForText("send an event to run", "paid")
	s.keys(`{"ok":true}`, "Enter")
	s.waitFor("the run failed at ship", func(scr string) bool { return strings.Contains(statusBar(scr), " failed ") })

	// S on ship with its output written in $EDITOR: the run stops at done's breakpoint.
	s.keys("l", "S")
	s.waitForText("skip ship with this output")
	s.keys("C-e")
	s.waitForText("by-editor")
	s.keys("C-s")
	s.waitForText("paused (breakpoint at done)")
	s.keys("l")
	s.waitForText("● held here")
	s.keys("p")
	s.waitFor("order succeeded", func(scr string) bool { return runSucceeded(scr, "order") })

	var first string
	for _, r := range listRuns(t, w) {
		first = r.ID
	}
	if got := strings.TrimSpace(stepOutput(t, w, first, "done")); got != "done with by-editor" {
		t.Fatalf("done's output is %q", got)
	}
	if got := strings.TrimSpace(stepOutput(t, w, first, "take")); got != "took 7" {
		t.Fatalf("take's output is %q", got)
	}

	// F forks the run at done and opens the fork; D compares it with the first run.
	s.keys("F")
	s.waitForText("forked run ")
	s.waitFor("the fork succeeded", func(scr string) bool { return runSucceeded(scr, "order") })
	s.keys("D")
	s.waitForText("compare run ", first)
	s.keys("Enter")
	s.waitForText("0 of 5 steps differ", "same")
	// Escape alone: followed at once by q, the terminal would read them as alt+q.
	s.keys("Escape")
	s.waitForText("Flows", "Runs")
	s.keys("q")
	if status := s.waitExit(); status != "0" {
		t.Fatalf("tandem ui exited with %s", status)
	}
}
