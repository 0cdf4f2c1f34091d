package main_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
)

// runShape decodes one run as run, fork and show print it.
func runShape(t *testing.T, what, out string) map[string]any {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("%s: %v\n%s", what, err, out)
	}
	if strings.Contains(out, "0001-01-01") {
		t.Errorf("%s prints an unset time as Go's zero time:\n%s", what, out)
	}
	return doc
}

func keys(m map[string]any) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

func TestCLIRunForkAndShowPrintOneRunShape(t *testing.T) {
	w := newWorkspace(t)
	w.write("two.yaml", "name: two\ninputs:\n  word: { type: string, default: alpha }\nsteps:\n"+
		"  - id: fetch\n    shell: echo {{ .inputs.word }}\n  - id: gate\n    needs: [fetch]\n    approval: { prompt: \"ok?\" }\n")
	out, errOut, code := w.tandem("run", "two.yaml", "--json")
	if code != 0 {
		t.Fatalf("run --json: exit %d\n%s", code, errOut)
	}
	ran := runShape(t, "run --json", out)
	id := ran["run"].(map[string]any)["id"].(string)
	out, _, _ = w.tandem("show", id, "--json")
	shown := runShape(t, "show --json", out)
	out, errOut, code = w.tandem("fork", id, "fetch", "-i", "word=beta", "--json")
	if code != 0 {
		t.Fatalf("fork --json: exit %d\n%s", code, errOut)
	}
	forked := runShape(t, "fork --json", out)
	want := []string{"run", "state", "steps"}
	for name, doc := range map[string]map[string]any{"run": ran, "show": shown, "fork": forked} {
		if got := keys(doc); !reflect.DeepEqual(got, want) {
			t.Errorf("%s --json keys = %v, want %v", name, got, want)
		}
		state := doc["state"].(map[string]any)
		steps := doc["steps"].([]any)
		if len(steps) != 2 {
			t.Fatalf("%s --json: %d steps, want 2", name, len(steps))
		}
		for _, s := range steps {
			s := s.(map[string]any)
			// The list and the map hold the same step in the same form.
			if byID := state["steps"].(map[string]any)[s["id"].(string)]; !reflect.DeepEqual(byID, s) {
				t.Errorf("%s --json: step %s differs between steps and state.steps:\n%v\n%v", name, s["id"], s, byID)
			}
		}
		fetch := steps[0].(map[string]any)["attempts"].([]any)[0].(map[string]any)
		if fetch["attempt"] != 1.0 || fetch["n"] != nil {
			t.Errorf("%s --json: the first attempt is %v, want attempt 1 (and no n)", name, fetch)
		}
		// The run waits at the gate: it has not ended, and the gate's attempt has not either.
		if v, ok := doc["run"].(map[string]any)["ended"]; !ok || v != nil {
			t.Errorf("%s --json: run.ended = %v (present %v), want null", name, v, ok)
		}
		if v, ok := state["ended_at"]; !ok || v != nil {
			t.Errorf("%s --json: state.ended_at = %v (present %v), want null", name, v, ok)
		}
		gate := steps[1].(map[string]any)
		if a := gate["attempts"].([]any)[0].(map[string]any); a["ended_at"] != nil || a["started_at"] == nil {
			t.Errorf("%s --json: a waiting attempt reads %v, want started_at set and ended_at null", name, a)
		}
		if u, ok := gate["waiting"].(map[string]any)["until"]; !ok || u != nil {
			t.Errorf("%s --json: an approval without a deadline has until = %v (present %v), want null", name, u, ok)
		}
	}
}

// chunkedModel answers /api/chat one word a chunk; a request whose last message contains
// "broken" gets a reply that is not JSON the first time.
func chunkedModel(t *testing.T) *httptest.Server {
	var mu sync.Mutex
	broken := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/chat" {
			serveScripted(w, r, nil)
			return
		}
		var req struct{ Messages []chatMessage }
		_ = json.NewDecoder(r.Body).Decode(&req)
		last := req.Messages[len(req.Messages)-1].Content
		reply := `{"word": "tide"}`
		if strings.Contains(last, "broken") {
			mu.Lock()
			broken++
			if broken == 1 {
				reply = "not json at all"
			}
			mu.Unlock()
		}
		enc := json.NewEncoder(w)
		for _, part := range strings.SplitAfter(reply, " ") {
			enc.Encode(map[string]any{"model": "scripted", "created_at": "2025-01-02T03:04:05Z",
				"message": map[string]any{"role": "assistant", "content": part}, "done": false})
		}
		enc.Encode(map[string]any{"model": "scripted", "created_at": "2025-01-02T03:04:05Z",
			"message": map[string]any{"role": "assistant", "content": ""}, "done": true, "done_reason": "stop",
			"prompt_eval_count": 10, "eval_count": 5})
	}))
	t.Cleanup(srv.Close)
	return srv
}

type traceRec struct {
	RunID   string `json:"run_id"`
	StepID  string `json:"step_id"`
	Attempt int    `json:"attempt"`
	Kind    string `json:"kind"`
	Text    string `json:"text"`
}

func TestCLITraceOfOneStepAndOneAttempt(t *testing.T) {
	srv := chunkedModel(t)
	t.Setenv("OLLAMA_HOST", srv.URL)
	t.Setenv("TANDEM_MODEL", "scripted")
	w := newWorkspace(t)
	schema := "      schema: { type: object, required: [word], properties: { word: { type: string } } }\n"
	w.write("words.yaml", "name: words\nsteps:\n  - id: first\n    llm:\n      prompt: a word\n"+schema+
		"  - id: second\n    needs: [first]\n    retry: { max_attempts: 2, backoff: 10ms }\n    llm:\n      prompt: a broken word\n"+schema)
	out, errOut, code := w.tandem("run", "words.yaml")
	if code != 0 {
		t.Fatalf("run: exit %d\n%s\n%s", code, out, errOut)
	}
	id := firstLineRunID(t, out)
	records := func(args ...string) []traceRec {
		t.Helper()
		out, errOut, code := w.tandem(append([]string{"trace", id}, args...)...)
		var recs []traceRec
		if err := json.Unmarshal([]byte(out), &recs); err != nil || code != 0 {
			t.Fatalf("trace %v: exit %d %v\n%s\n%s", args, code, err, out, errOut)
		}
		return recs
	}
	attempts := func(recs []traceRec) map[string]bool {
		seen := map[string]bool{}
		for _, r := range recs {
			seen[r.StepID+"#"+string(rune('0'+r.Attempt))] = true
		}
		return seen
	}
	if got := attempts(records("--json")); !got["first#1"] || !got["second#1"] || !got["second#2"] {
		t.Fatalf("the whole trace holds %v, want first#1, second#1 and second#2", got)
	}
	if got := attempts(records("second", "--json")); len(got) != 2 || !got["second#1"] || !got["second#2"] {
		t.Errorf("trace RUN second holds %v, want second's two attempts only", got)
	}
	one := records("second", "--attempt", "1", "--json")
	if got := attempts(one); len(got) != 1 || !got["second#1"] {
		t.Errorf("trace RUN second --attempt 1 holds %v, want that attempt only", got)
	}
	content := func(recs []traceRec) (n int, text string) {
		for _, r := range recs {
			if r.Kind == "content" {
				n++
				text += r.Text
			}
		}
		return n, text
	}
	// The log batches fragments as they stream (how many records depends on when it
	// flushed); --join makes one record of them whatever the batching was.
	if n, text := content(one); n < 1 || text != "not json at all" {
		t.Errorf("without --join: %d content records reading %q, want the reply's fragments", n, text)
	}
	if n, text := content(records("second", "--attempt", "1", "--json", "--join")); n != 1 || text != "not json at all" {
		t.Errorf("with --join: %d content records reading %q, want one record with the whole reply", n, text)
	}
	out, _, code = w.tandem("trace", id, "second", "--attempt", "2")
	if code != 0 || !strings.Contains(out, "step second · attempt 2") || strings.Contains(out, "attempt 1") || strings.Contains(out, "step first") {
		t.Errorf("trace RUN second --attempt 2 (exit %d):\n%s", code, out)
	}
	if _, errOut, code := w.tandem("trace", id, "--attempt", "2"); code != 2 || !strings.Contains(errOut, "needs a STEP") {
		t.Errorf("--attempt without a step: exit %d %q, want 2 and a reason", code, errOut)
	}
	if _, errOut, code := w.tandem("trace", id, "secnod"); code != 2 || !strings.Contains(errOut, `no step "secnod"`) || !strings.Contains(errOut, "second") {
		t.Errorf("trace of a step the run does not have: exit %d %q, want 2 naming the run's steps", code, errOut)
	}
}
