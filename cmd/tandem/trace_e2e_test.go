package main_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
)

// TestTraceGroupsTheRecordsOfParallelStepsByStep runs two llm: steps at once against a
// scripted model that answers neither until both have asked, so their records interleave in
// the log. The trace reads one step at a time, in the order they started: one header each,
// its request and its reply under it; --json lists each step's records together too.
func TestTraceGroupsTheRecordsOfParallelStepsByStep(t *testing.T) {
	var mu sync.Mutex
	asked := 0
	both := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		serveScriptedStream(w, r, func(_ *http.Request, msgs []chatMessage, chunk func(string, bool)) {
			mu.Lock()
			if asked++; asked == 2 {
				close(both)
			}
			mu.Unlock()
			<-both
			word := "left"
			if strings.Contains(msgs[len(msgs)-1].Content, "right") {
				word = "right"
			}
			for i := 0; i < 3; i++ {
				chunk(word+" ", false)
			}
			chunk("", true)
		})
	}))
	defer srv.Close()
	t.Setenv("OLLAMA_HOST", srv.URL)
	w := newWorkspace(t)
	w.write("pair.yaml", "name: pair\nsteps:\n  - id: one\n    llm: { model: scripted, prompt: say left }\n"+
		"  - id: two\n    llm: { model: scripted, prompt: say right }\n")
	out, errOut, code := w.tandem("run", "pair.yaml", "--parallel", "2")
	if code != 0 {
		t.Fatalf("run: exit %d\n%s%s", code, out, errOut)
	}
	id := firstLineRunID(t, out)

	var recs []struct {
		StepID string `json:"step_id"`
	}
	out, _, _ = w.tandem("trace", id, "--json")
	if err := json.Unmarshal([]byte(out), &recs); err != nil || len(recs) < 4 {
		t.Fatalf("trace --json: %v\n%s", err, out)
	}
	var steps []string
	for _, r := range recs {
		if len(steps) == 0 || steps[len(steps)-1] != r.StepID {
			steps = append(steps, r.StepID)
		}
	}
	if len(steps) != 2 {
		t.Errorf("trace --json goes from step to step %v; want each step's records together", steps)
	}

	trace, _, _ := w.tandem("trace", id)
	headers := regexp.MustCompile(`━━ run \S+ · step (\S+) · attempt 1`).FindAllStringSubmatch(trace, -1)
	if len(headers) != 2 || headers[0][1] != steps[0] || headers[1][1] != steps[1] {
		t.Fatalf("want one header per step, in the order of --json %v:\n%s", steps, trace)
	}
	first, second, _ := strings.Cut(trace[strings.Index(trace, headers[0][0]):], headers[1][0])
	mine := map[string]string{"one": "left", "two": "right"}
	if !strings.Contains(first, "say "+mine[steps[0]]) || !strings.Contains(first, mine[steps[0]]+" "+mine[steps[0]]) ||
		!strings.Contains(second, "say "+mine[steps[1]]) || !strings.Contains(second, mine[steps[1]]+" "+mine[steps[1]]) ||
		strings.Contains(first, "say "+mine[steps[1]]) {
		t.Errorf("a step's request and reply are not under its header:\n%s", trace)
	}
}
