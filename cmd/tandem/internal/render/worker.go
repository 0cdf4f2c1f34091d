package render

import (
	"fmt"
	"strings"

	"tandem/engine"
)

// WorkerLine says what an event of a top-level run means, as `tandem worker` prints it
// after the time: "run ID running", "run ID step build succeeded 120ms", "run ID failed:
// ...". Every line starts "run ID", then either "step STEP ..." or the run's new status as
// one word, so a script can split it. Events that change nothing a person follows (output,
// traces, requests) and the events of child runs (their parent's step stands for them)
// give false.
func WorkerLine(e *engine.Event) (string, bool) {
	if strings.Contains(e.RunID, ".") {
		return "", false // a child run's id is its parent's run, step and attempt
	}
	what := ""
	switch e.Type {
	case engine.RunResumed:
		what = "running"
	case engine.RunWaiting:
		what = "waiting"
	case engine.RunSucceeded:
		what = "succeeded"
	case engine.RunCancelled:
		what = "cancelled"
	case engine.RunInterrupted:
		what = "interrupted"
	case engine.RunFailed:
		var d engine.RunResultData
		_ = e.Decode(&d)
		what = "failed: " + firstLine(d.Error, 200)
	case engine.RunPaused:
		var d engine.RunPausedData
		_ = e.Decode(&d)
		what = "paused: " + d.Reason
	case engine.StepSucceeded:
		var d engine.StepResultData
		_ = e.Decode(&d)
		if _, item := childOf(e.StepID); item || d.ReusedFrom != "" {
			return "", false // a map's items add up to the map step's line
		}
		what = fmt.Sprintf("step %s succeeded %s%s", e.StepID, fmtDur(d.DurationMS), tokenNote(d.Tokens))
	case engine.StepFailed:
		var d engine.StepResultData
		_ = e.Decode(&d)
		if d.Final {
			what = fmt.Sprintf("step %s failed: %s", e.StepID, firstLine(d.Error, 200))
		} else {
			what = fmt.Sprintf("step %s attempt %d failed: %s; retrying in %s", e.StepID, e.Attempt, firstLine(d.Error, 200), fmtDur(d.RetryInMS))
		}
	case engine.StepInterrupted:
		var d engine.StepResultData
		_ = e.Decode(&d)
		what = fmt.Sprintf("step %s interrupted: %s", e.StepID, d.Reason)
	case engine.StepSkipped:
		var d engine.StepSkippedData
		_ = e.Decode(&d)
		what = fmt.Sprintf("step %s skipped: %s", e.StepID, d.Reason)
	case engine.StepWaiting:
		var d engine.StepWaitingData
		_ = e.Decode(&d)
		what = fmt.Sprintf("step %s %s", e.StepID, WaitText(d))
	default:
		return "", false
	}
	return "run " + e.RunID + "  " + what, true
}
