package render

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"tandem/engine"
)

// End says how a run ended (or why it stopped) and the command that takes it further: the
// output of a run that succeeded, what a waiting run waits on and how to resolve each wait,
// how to resume, continue or retry.
func End(w io.Writer, st *engine.State, took time.Duration) {
	short := took.Round(time.Millisecond)
	switch st.Status {
	case engine.RunStatusSucceeded:
		fmt.Fprintf(w, "run %s succeeded in %s\n", st.ID, short)
		if st.Output != nil {
			b, _ := json.Marshal(st.Output)
			if len(b) > 400 {
				b = append(b[:400], "…"...)
			}
			fmt.Fprintf(w, "output: %s\n", b)
		}
	case engine.RunStatusWaiting:
		fmt.Fprintf(w, "run %s is waiting:\n", st.ID)
		worker := false // a wait that only a worker passing by resolves (a timer, a signal)
		for _, id := range st.StepIDs() {
			s := st.Steps[id]
			if s.Status != engine.StatusWaiting || s.Waiting == nil {
				continue
			}
			fmt.Fprintf(w, "  %s: %s\n", id, WaitText(*s.Waiting))
			switch s.Waiting.Kind {
			case "approval":
				fmt.Fprintf(w, "    answer it: tandem approve %s %s [--comment TEXT] (or tandem reject %s %s)\n", st.ID, id, st.ID, id)
			case "sleep":
				worker = true
			default:
				if len(s.Waiting.Events) > 0 {
					fmt.Fprintf(w, "    send it: tandem signal %s %s, then tandem resume %s\n", st.ID, s.Waiting.Events[0], st.ID)
				}
				worker = true
			}
		}
		if worker {
			fmt.Fprintf(w, "it goes on when a worker advances it: tandem worker (or tandem resume %s)\n", st.ID)
		}
	case engine.RunStatusInterrupted:
		fmt.Fprintf(w, "run %s interrupted after %s; resume with: tandem resume %s\n", st.ID, short, st.ID)
	case engine.RunStatusPaused:
		fmt.Fprintf(w, "run %s is paused (%s)\n", st.ID, st.HoldReason)
		fmt.Fprintf(w, "go on with: tandem continue %s (or one step: tandem step %s)\n", st.ID, st.ID)
	default:
		fmt.Fprintf(w, "run %s %s after %s: %s\n", st.ID, st.Status, short, st.Error)
		if st.Status == engine.RunStatusFailed {
			for _, id := range st.StepIDs() {
				if st.Steps[id].Status == engine.StatusFailed && !strings.Contains(id, "[") {
					fmt.Fprintf(w, "retry with: tandem retry %s %s\n", st.ID, id)
					break
				}
			}
		}
	}
}

// StatusPhrase says how a run stands in a sentence: "has succeeded", "is waiting".
func StatusPhrase(s engine.RunStatus) string {
	switch s {
	case engine.RunStatusSucceeded, engine.RunStatusFailed:
		return "has " + string(s)
	case engine.RunStatusCancelled, engine.RunStatusInterrupted:
		return "was " + string(s)
	}
	return "is " + string(s)
}
