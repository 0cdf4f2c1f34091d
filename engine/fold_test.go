package engine_test

import (
	"context"
	"encoding/json"
	"regexp"
	"testing"
	"time"

	"tandem/engine"
)

func foldEvent(typ engine.EventType, step string, data any) engine.Event {
	b, _ := json.Marshal(data)
	return engine.Event{RunID: "r", Type: typ, StepID: step, Attempt: 1, Time: time.Unix(1_700_000_000, 0), Data: b}
}

func TestARetryReopensOnlyTheStepsSkippedBecauseOfIt(t *testing.T) {
	failed := engine.StepResultData{Error: "exit 1", Reason: "exit", Final: true}
	tests := []struct {
		name         string
		bSkip, zSkip engine.StepSkippedData
		wantB, wantZ engine.StepStatus
	}{
		{
			name:  "typed causes: a's dependent re-opens, y's stays skipped",
			bSkip: engine.StepSkippedData{Reason: "needs a, which failed", Cause: engine.SkipNeed, Needs: []string{"a"}},
			zSkip: engine.StepSkippedData{Reason: "needs y, which failed", Cause: engine.SkipNeed, Needs: []string{"y"}},
			wantB: engine.StatusPending, wantZ: engine.StatusSkipped,
		},
		{
			name:  "a log from before causes were typed re-opens every need skip, as it did",
			bSkip: engine.StepSkippedData{Reason: "needs a, which failed"},
			zSkip: engine.StepSkippedData{Reason: "needs y, which failed"},
			wantB: engine.StatusPending, wantZ: engine.StatusPending,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := engine.Fold([]engine.Event{
				foldEvent(engine.StepStarted, "a", engine.StepStartedData{Key: "r/a/1"}),
				foldEvent(engine.StepFailed, "a", failed),
				foldEvent(engine.StepSkipped, "b", tt.bSkip),
				foldEvent(engine.StepStarted, "y", engine.StepStartedData{Key: "r/y/1"}),
				foldEvent(engine.StepFailed, "y", failed),
				foldEvent(engine.StepSkipped, "z", tt.zSkip),
				foldEvent(engine.StepSkipped, "w", engine.StepSkippedData{Reason: "when is false: false", Cause: engine.SkipWhen}),
				foldEvent(engine.StepRetryRequested, "a", engine.StepRetryData{}),
			})
			if st.Steps["b"].Status != tt.wantB || st.Steps["z"].Status != tt.wantZ {
				t.Fatalf("after retrying a: b %s, z %s; want b %s, z %s", st.Steps["b"].Status, st.Steps["z"].Status, tt.wantB, tt.wantZ)
			}
			if st.Steps["w"].Status != engine.StatusSkipped || st.Steps["w"].SkipCause != engine.SkipWhen {
				t.Fatalf("a step skipped by its when: is %s (%s) after an unrelated retry", st.Steps["w"].Status, st.Steps["w"].SkipCause)
			}
		})
	}
}

func TestATransitiveSkipReopensWithItsCause(t *testing.T) {
	st := engine.Fold([]engine.Event{
		foldEvent(engine.StepStarted, "a", engine.StepStartedData{Key: "r/a/1"}),
		foldEvent(engine.StepFailed, "a", engine.StepResultData{Error: "x", Final: true}),
		foldEvent(engine.StepSkipped, "b", engine.StepSkippedData{Reason: "needs a", Cause: engine.SkipNeed, Needs: []string{"a"}}),
		foldEvent(engine.StepSkipped, "c", engine.StepSkippedData{Reason: "needs b", Cause: engine.SkipNeed, Needs: []string{"b"}}),
		foldEvent(engine.StepManual, "a", engine.StepManualData{Output: "by hand"}),
	})
	if st.Steps["b"].Status != engine.StatusPending || st.Steps["c"].Status != engine.StatusPending {
		t.Fatalf("after a manual output for a: b %s, c %s; both were skipped because of it", st.Steps["b"].Status, st.Steps["c"].Status)
	}
}

func TestAPayloadTheFoldCannotReadIsReportedInTheState(t *testing.T) {
	bad := engine.Event{RunID: "r", Seq: 7, Type: engine.StepSucceeded, StepID: "a", Data: json.RawMessage(`{"output": 5}`)}
	st := engine.Fold([]engine.Event{
		foldEvent(engine.StepStarted, "a", engine.StepStartedData{Key: "r/a/1"}),
		bad,
	})
	if len(st.Undecodable) != 1 || st.Undecodable[0].Seq != 7 || st.Undecodable[0].Type != engine.StepSucceeded || st.Undecodable[0].Error == "" {
		t.Fatalf("undecodable = %+v, want the step_succeeded at seq 7 with its error", st.Undecodable)
	}
}

func TestAHoldIsFoldedWithItsCause(t *testing.T) {
	tests := []struct {
		name string
		data engine.RunPausedData
		want engine.Hold
	}{
		{"a typed breakpoint", engine.RunPausedData{Reason: "breakpoint at s2", Cause: engine.HoldBreakpoint, Step: "s2"}, engine.Hold{Cause: engine.HoldBreakpoint, Step: "s2"}},
		{"step mode from an older log", engine.RunPausedData{Reason: "step mode"}, engine.Hold{Cause: engine.HoldStepMode}},
		{"a breakpoint from an older log", engine.RunPausedData{Reason: "breakpoint at s3"}, engine.Hold{Cause: engine.HoldBreakpoint, Step: "s3"}},
		{"a pause from an older log", engine.RunPausedData{Reason: "paused"}, engine.Hold{Cause: engine.HoldPause}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := engine.Fold([]engine.Event{foldEvent(engine.RunPaused, "", tt.data)})
			if got := (engine.Hold{Cause: st.HoldCause, Step: st.HoldStep}); got != tt.want || st.HoldReason != tt.want.String() {
				t.Fatalf("hold %+v (%q), want %+v (%q)", got, st.HoldReason, tt.want, tt.want.String())
			}
		})
	}
}

func TestARunHeldAtABreakpointRecordsTheTypedHold(t *testing.T) {
	onEveryStore(t, func(t *testing.T, open opener) {
		h := newHarness(t, open)
		id := h.start(chainFlow, nil)
		must(t, h.eng.SetBreakpoint(context.Background(), id, "s3", true))
		st := h.execute(id)
		if st.HoldCause != engine.HoldBreakpoint || st.HoldStep != "s3" {
			t.Fatalf("held %s at %q, want a breakpoint at s3", st.HoldCause, st.HoldStep)
		}
	})
}

func TestTheStateARunnerKeepsIsTheFoldOfItsLog(t *testing.T) {
	onEveryStore(t, func(t *testing.T, open opener) {
		h := newHarness(t, open)
		st := h.run(h.flow("f.yaml", `name: f
steps:
  - id: a
    shell: echo hello
  - id: bytes
    needs: [a]
    shell: printf 'caf\351'
  - id: each
    needs: [a]
    map: '[1, 2.5, "x"]'
    shell: echo "item {{ .item }}"
  - id: fails
    needs: [a]
    shell: exit 3
    continue_on_error: true
`), nil)
		evs, err := h.store.Events(context.Background(), st.ID, 0)
		if err != nil {
			t.Fatal(err)
		}
		// SQLite keeps times to the millisecond; everything else must be the same.
		seconds := regexp.MustCompile(`\.\d+Z"`)
		live, _ := json.Marshal(st)
		folded, _ := json.Marshal(engine.Fold(evs))
		live, folded = seconds.ReplaceAll(live, []byte(`Z"`)), seconds.ReplaceAll(folded, []byte(`Z"`))
		if string(live) != string(folded) {
			t.Fatalf("the runner's state:\n%s\nthe fold of its log:\n%s", live, folded)
		}
	})
}
