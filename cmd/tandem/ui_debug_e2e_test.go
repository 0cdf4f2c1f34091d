package main_test

import (
	"strings"
	"testing"
)

// takeGate is the file, in the workspace (the flow's directory, where its shell steps run),
// whose creation lets the order flow's first step finish: the test holds the step running
// until a pause has reached the runner, however slow the machine. The step gives up (and
// fails) after five minutes, so a test that dies leaves nothing running for long.
const takeGate = "take.gate"

// uiDebugFlow has an input, a first step that runs until the test releases it (to pause
// during), a wait to signal, a failing step to skip by hand and a last step to hold at.
// seen is there for the test's synchronisation only: a runner reads what other processes
// append on its own clock, all of it in order, so once it resolves seen with a signal sent
// after the pause, it has read the pause too.
const uiDebugFlow = `name: order
inputs:
  qty: { type: integer, default: 1 }
steps:
  - id: take
    shell: 'i=0; while [ ! -e ` + takeGate + ` ] && [ $i -lt 6000 ]; do sleep 0.05; i=$((i+1)); done; [ -e ` + takeGate + ` ] && echo took {{ .inputs.qty }}'
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
  - id: seen
    wait: pause-seen
`

// statusBar returns the status bar of an open run: the line that says whether follow mode
// is on.
func statusBar(screen string) string {
	for _, l := range strings.Split(screen, "\n") {
		if strings.Contains(l, "follow ✓") || strings.Contains(l, "follow ✗") {
			return l
		}
	}
	return ""
}

// barRunID returns the run ID the status bar shows (shortened as the bar shortens it), or ""
// when no run is open.
func barRunID(screen string) string {
	if f := strings.Fields(statusBar(screen)); len(f) > 2 {
		return f[2]
	}
	return ""
}

// TestUIE2EDebugControlsInARealTerminal drives the debug keys of the workbench in tmux:
// the inputs form refuses a bad integer, p pauses a running run and continues it, s runs one
// step, B sets a breakpoint the run stops at, ! answers a wait, S skips a failed step with
// an output written in $EDITOR (ctrl+e), F forks the run (its form shows which steps are
// reused) and D compares the two.
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

	// p while take runs (once the run is open): take finishes, nothing after it starts. The
	// bar says pausing once the pause is in the log; take is let go only when seen, signalled
	// after that, has succeeded, so the runner holds the pause before take ends.
	s.waitFor("the run open and running", func(scr string) bool {
		bar := statusBar(scr)
		return strings.Contains(bar, " order ") && strings.Contains(bar, " running ")
	})
	s.keys("p")
	s.waitFor("the run pausing", func(scr string) bool { return strings.Contains(statusBar(scr), " running, pausing ") })
	runs := listRuns(t, w)
	if len(runs) != 1 {
		t.Fatalf("runs while take runs: %+v", runs)
	}
	first := runs[0].ID
	if out, errOut, code := w.tandem("signal", first, "pause-seen"); code != 0 {
		t.Fatalf("signal pause-seen: exit %d\n%s\n%s", code, out, errOut)
	}
	s.waitForText("✓ seen wait")
	w.write(takeGate, "")
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

	if got := strings.TrimSpace(stepOutput(t, w, first, "done")); got != "done with by-editor" {
		t.Fatalf("done's output is %q", got)
	}
	if got := strings.TrimSpace(stepOutput(t, w, first, "take")); got != "took 7" {
		t.Fatalf("take's output is %q", got)
	}

	// F forks the run at done and opens the fork; D compares it with the first run.
	// The note names the fork before the fork is loaded, while the bar still shows the first
	// run (succeeded too), so the wait is for the bar to show the fork itself.
	s.keys("F")
	s.waitForText("at done with these inputs", "› 7", "reuses take, pack, pay, ship, seen · runs done")
	s.keys("C-s")
	var fork string
	s.waitFor("the note naming the fork", func(scr string) bool {
		_, note, ok := strings.Cut(scr, "forked run ")
		if f := strings.Fields(note); ok && len(f) > 0 {
			fork = f[0]
		}
		return fork != ""
	})
	s.waitFor("the fork open and succeeded", func(scr string) bool {
		id := barRunID(scr)
		return id != "" && strings.HasPrefix(fork, id) && runSucceeded(scr, "order")
	})
	s.keys("D")
	s.waitForText("compare run "+fork+" of order", first)
	s.keys("Enter")
	s.waitForText("0 of 6 steps differ", "inputs: the same")
	// Escape alone: followed at once by q, the terminal would read them as alt+q.
	s.keys("Escape")
	s.waitForText("Flows", "Runs")
	s.keys("q")
	if status := s.waitExit(); status != "0" {
		t.Fatalf("tandem ui exited with %s", status)
	}
}
