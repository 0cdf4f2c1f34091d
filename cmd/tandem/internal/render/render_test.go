package render

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"tandem/engine"
)

func TestJoinMergesTheFragmentsOfOneReplyOnly(t *testing.T) {
	recs := []Record{
		{RunID: "r", StepID: "a", Attempt: 1, Kind: "thinking", Text: "hm"},
		{RunID: "r", StepID: "a", Attempt: 1, Kind: "content", Text: "Once "},
		{RunID: "r", StepID: "a", Attempt: 1, Kind: "content", Text: "upon"},
		{RunID: "r", StepID: "a", Attempt: 1, Kind: "usage"},
		{RunID: "r", StepID: "a", Attempt: 1, Kind: "content", Text: "again"},
		{RunID: "r", StepID: "a", Attempt: 2, Kind: "content", Text: " a time"},
		{RunID: "r.a.2", StepID: "a", Attempt: 2, Kind: "content", Text: "child"},
	}
	got := Join(recs)
	var texts []string
	for _, r := range got {
		texts = append(texts, r.Kind+":"+r.Text)
	}
	want := "thinking:hm|content:Once upon|usage:|content:again|content: a time|content:child"
	if strings.Join(texts, "|") != want {
		t.Fatalf("Join = %s\nwant   %s", strings.Join(texts, "|"), want)
	}
	if recs[1].Text != "Once " {
		t.Errorf("Join changed its input: %q", recs[1].Text)
	}
}

func TestTheRunShapeHasNullTimesAndTheStepsInBothForms(t *testing.T) {
	started := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	st := &engine.State{ID: "r1", Status: engine.RunStatusRunning, StartedAt: started, Steps: map[string]*engine.StepState{
		"a": {ID: "a", Status: engine.StatusRunning, Attempts: []engine.Attempt{{N: 1, Key: "r1/a/1", Status: engine.StatusRunning, StartedAt: started}}},
	}}
	b, err := json.Marshal(NewRun(engine.RunInfo{ID: "r1", Status: engine.RunStatusRunning, CreatedAt: started, UpdatedAt: started}, st))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Run struct {
			Ended      *string `json:"ended"`
			LeaseUntil *string `json:"lease_until"`
		} `json:"run"`
		State struct {
			EndedAt *string                    `json:"ended_at"`
			Steps   map[string]json.RawMessage `json:"steps"`
		} `json:"state"`
		Steps []json.RawMessage `json:"steps"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	for _, null := range []string{`"ended":null`, `"lease_until":null`, `"ended_at":null`, `"retry_at":null`, `"attempt":1`} {
		if !strings.Contains(string(b), null) {
			t.Errorf("the run shape lacks %s:\n%s", null, b)
		}
	}
	if strings.Contains(string(b), "0001-01-01") || strings.Contains(string(b), `"n":`) {
		t.Errorf("the run shape has a zero time or an attempt named n:\n%s", b)
	}
	if len(doc.Steps) != 1 || string(doc.Steps[0]) != string(doc.State.Steps["a"]) {
		t.Errorf("steps and state.steps differ:\n%s\n%s", doc.Steps, doc.State.Steps["a"])
	}
	// Decoding what it printed gives the same times back.
	var back engine.State
	if err := json.Unmarshal(b[strings.Index(string(b), `"state":`)+8:strings.Index(string(b), `,"steps":[`)], &back); err != nil {
		t.Fatal(err)
	}
	if !back.StartedAt.Equal(started) || !back.EndedAt.IsZero() || !back.Steps["a"].Attempts[0].EndedAt.IsZero() || back.Steps["a"].Attempts[0].N != 1 {
		t.Errorf("decoded back: %+v", back)
	}
}

func TestRunRowsKeepTheirDuration(t *testing.T) {
	start := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	rows := RunRows([]engine.RunInfo{{ID: "r", Status: engine.RunStatusSucceeded, CreatedAt: start, UpdatedAt: start, EndedAt: start.Add(1500 * time.Millisecond)}}, start)
	b, err := json.Marshal(rows)
	if err != nil || !strings.Contains(string(b), `"duration_ms":1500`) || !strings.Contains(string(b), `"id":"r"`) {
		t.Fatalf("runs --json row: %v %s", err, b)
	}
}

func TestTheProgressShowsAModelCallWaitingForTheServer(t *testing.T) {
	var out strings.Builder
	p := NewPrinter(&out, "r")
	data, _ := json.Marshal(engine.TraceData{Kind: TraceModelRetry, Data: map[string]any{"message": "ollama unreachable, retrying in 2s (1/3)"}})
	p.Notice(engine.Notice{Event: &engine.Event{RunID: "r", Type: engine.StepTrace, StepID: "draft", Attempt: 1, Data: data}})
	other, _ := json.Marshal(engine.TraceData{Kind: "turn", Data: map[string]any{"turn": 1}})
	p.Notice(engine.Notice{Event: &engine.Event{RunID: "r", Type: engine.StepTrace, StepID: "draft", Attempt: 1, Data: other}})
	if got := out.String(); got != "  ↻ draft            ollama unreachable, retrying in 2s (1/3)\n" {
		t.Fatalf("progress = %q", got)
	}
}

func TestAFailedRunNamesTheRetryCommand(t *testing.T) {
	var out strings.Builder
	End(&out, &engine.State{ID: "r1", Status: engine.RunStatusFailed, Error: "step draft failed: cannot reach Ollama",
		Steps: map[string]*engine.StepState{"draft": {ID: "draft", Status: engine.StatusFailed}}}, time.Second)
	if !strings.Contains(out.String(), "cannot reach Ollama") || !strings.Contains(out.String(), "retry with: tandem retry r1 draft") {
		t.Fatalf("end of a failed run:\n%s", out.String())
	}
}

// The header of a run that has not ended does not say it "took" anything: a finished run took
// its time, a running one has been running so long, a parked one says since when.
func TestShowsHeaderSaysTookOnlyOfAnEndedRun(t *testing.T) {
	t.Setenv("TZ", "UTC")
	started := time.Date(2026, 1, 2, 3, 4, 5, 0, time.Local)
	now := started.Add(time.Hour)
	for _, tt := range []struct {
		info engine.RunInfo
		want string
	}{
		{engine.RunInfo{Status: engine.RunStatusSucceeded, CreatedAt: started, EndedAt: started.Add(62 * time.Millisecond)}, ", took 62ms\n"},
		{engine.RunInfo{Status: engine.RunStatusRunning, CreatedAt: started}, ", running for 1h0m0s\n"},
		{engine.RunInfo{Status: engine.RunStatusWaiting, CreatedAt: started, UpdatedAt: started.Add(62 * time.Millisecond)}, ", waiting since 2026-01-02 03:04:05\n"},
	} {
		var b strings.Builder
		tt.info.ID, tt.info.FlowName, tt.info.FlowPath = "r1", "ship", "/w/ship.yaml"
		Show(&b, tt.info, &engine.State{ID: "r1", Steps: map[string]*engine.StepState{}}, false, now)
		if !strings.Contains(b.String(), "flow /w/ship.yaml, started 2026-01-02 03:04:05"+tt.want) {
			t.Errorf("%s run: header\n%s\nwant it to end %q", tt.info.Status, b.String(), tt.want)
		}
	}
}
