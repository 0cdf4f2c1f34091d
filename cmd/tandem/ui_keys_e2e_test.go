package main_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

// reviewFlow parks at an approval after a step called assist, whose name starts with the
// approve key: typing /assist in the DAG pane must search, not approve.
const reviewFlow = `name: review
steps:
  - id: draft
    shell: echo text
  - id: assist
    needs: [draft]
    shell: echo helped
  - id: gate
    needs: [assist]
    approval: { prompt: "ship it?" }
  - id: publish
    needs: [gate]
    shell: echo published
`

const twoStepFlow = `name: two
steps:
  - id: first
    shell: echo first >> effects.log
  - id: second
    needs: [first]
    shell: echo second >> effects.log
`

// TestUIE2EKeysDoWhatTheySay drives the workbench in tmux: B on a flow's preview sets a
// breakpoint the run then holds at, r runs the flow under the sidebar cursor whichever pane
// has the keys, /assist typed in the DAG pane only searches, and a asks, takes a comment
// and records it with who answered.
func TestUIE2EKeysDoWhatTheySay(t *testing.T) {
	requireTmux(t)
	w := newWorkspace(t)
	w.write("review.yaml", reviewFlow)
	w.write("two.yaml", twoStepFlow)
	s := startTmux(t, w.dir, 160, 45, []string{"TANDEM_DB=" + w.db, "USER=tester"}, tandemBin(t), "ui")
	s.waitForText("▸ review", "▸ two")

	// A breakpoint before two's second step, set on its preview, holds the run r starts.
	s.keys("j")
	s.waitForText("two  (not run; r runs it)")
	s.keys("Tab", "l", "B")
	s.waitForText("● break", "r runs two holding before second")
	s.keys("r")
	s.waitForText("paused (breakpoint at second)")
	if got := countEffects(t, w); got["first"] != 1 || got["second"] != 0 {
		t.Fatalf("effects at the breakpoint = %v, want first only", got)
	}
	s.keys("p")
	s.waitFor("two succeeded", func(scr string) bool { return runSucceeded(scr, "two") })

	// The DAG has the keys and shows two; the sidebar cursor moves to review: r runs review.
	s.keys("BTab", "k", "Tab", "r")
	s.waitForText("waiting on gate (approval)")
	if bar := statusBar(s.screen()); !strings.Contains(bar, " review ") {
		t.Fatalf("r did not run review: %s", bar)
	}

	// /assist in the DAG pane searches step ids; nothing answers the gate.
	s.keys("/", "a", "s", "s", "i", "s", "t")
	scr := s.waitForText("/assist")
	if strings.Contains(scr, "approve gate") || !strings.Contains(statusBar(scr), "waiting on gate") {
		t.Fatalf("typing /assist changed the run:\n%s", scr)
	}
	s.keys("Enter")
	runs := listRuns(t, w)
	review := ""
	for _, r := range runs {
		if r.Flow == "review" {
			review = r.ID
			if r.Status != "waiting" {
				t.Fatalf("review is %s after typing /assist, want waiting", r.Status)
			}
		}
	}

	// a asks (the gate is not selected: it moves there), takes a comment, records who.
	s.keys("a")
	s.waitForText("approve gate of run", "comment:")
	s.keys("ship it", "Enter")
	s.waitFor("review succeeded", func(scr string) bool { return runSucceeded(scr, "review") })
	var d struct {
		Approved bool   `json:"approved"`
		Who      string `json:"who"`
		Comment  string `json:"comment"`
	}
	out := stepOutput(t, w, review, "gate")
	if err := json.Unmarshal([]byte(out), &d); err != nil || !d.Approved || d.Who != "tester" || d.Comment != "ship it" {
		t.Fatalf("the gate recorded %q (%v)", out, err)
	}
	s.keys("q")
	if status := s.waitExit(); status != "0" {
		t.Fatalf("tandem ui exited with %s", status)
	}
}

const commitsReviewFlow = `name: commits
inputs:
  commits: { type: string, default: a1 }
steps:
  - id: files
    shell: 'echo files >> effects.log; echo "files of {{ .inputs.commits }}"'
  - id: stats
    shell: 'echo stats >> effects.log; echo 42'
  - id: summary
    needs: [files, stats]
    shell: 'echo summary >> effects.log; echo "summary of {{ .steps.files.output }}"'
`

// TestUIE2EForkWithAChangedInputRerunsTheStepsThatReadIt drives F at 80x24: the form is
// prefilled with the run's inputs, says which steps the fork reuses, and the files step that
// reads the changed input runs again, with the summary after it; stats is reused.
func TestUIE2EForkWithAChangedInputRerunsTheStepsThatReadIt(t *testing.T) {
	requireTmux(t)
	w := newWorkspace(t)
	w.write("commits.yaml", commitsReviewFlow)
	s := startTmux(t, w.dir, 80, 24, []string{"TANDEM_DB=" + w.db}, tandemBin(t), "ui")
	s.waitForText("▸ commits")
	s.keys("r")
	s.waitForText("run commits with these inputs")
	s.keys("C-s")
	s.waitFor("commits succeeded", func(scr string) bool { return runSucceeded(scr, "commits") })
	first := listRuns(t, w)[0].ID

	s.keys("l", "F") // summary
	s.waitForText("at summary with these inputs", "› a1", "reuses files, stats")
	s.keys("C-u", "b2")
	s.waitForText("reuses stats · runs files, summary")
	s.keys("C-s")
	s.waitFor("the fork open and succeeded", func(scr string) bool {
		id := barRunID(scr)
		return id != "" && !strings.HasPrefix(first, id) && runSucceeded(scr, "commits")
	})
	var fork string
	for _, r := range listRuns(t, w) {
		if r.ID != first {
			fork = r.ID
		}
	}
	if got := stepOutput(t, w, fork, "summary"); got != "summary of files of b2" {
		t.Fatalf("the fork's summary is %q", got)
	}
	if got := countEffects(t, w); got["files"] != 2 || got["summary"] != 2 || got["stats"] != 1 {
		t.Fatalf("effects = %v, want files and summary run again, stats reused", got)
	}
	s.keys("q")
	if status := s.waitExit(); status != "0" {
		t.Fatalf("tandem ui exited with %s", status)
	}
}

// chatOllama serves the Ollama API for a chat with a model without tools: "list" is answered
// in markdown, and "stall" with the start of a story and then nothing until the request is
// cancelled (the person stops the reply).
func startChatOllama(t *testing.T) *httptest.Server {
	return streamingOllama(t, func(r *http.Request, messages []chatMessage, chunk func(string, bool)) {
		last := ""
		if len(messages) > 0 {
			last = messages[len(messages)-1].Content
		}
		switch last {
		case "stall":
			chunk("Once upon ", false)
			chunk("a time", false)
			<-r.Context().Done()
		default:
			for _, c := range []string{"Two things:\n\n", "- **milk**\n", "- eggs"} {
				chunk(c, false)
			}
			chunk("", true)
		}
	})
}

// streamingOllama serves serveScriptedStream's API for the length of the test.
func streamingOllama(t *testing.T, reply func(r *http.Request, msgs []chatMessage, chunk func(s string, done bool))) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		serveScriptedStream(w, r, reply)
	}))
	t.Cleanup(srv.Close)
	return srv
}

var sessionInTitle = regexp.MustCompile(`session (chat-helper-[0-9-]+)`)

// TestUIE2EChatSessionsMarkdownAndAStoppedReply drives the chat in tmux: a reply renders as
// markdown, two new sessions made in a row are distinct, and a reply stopped with ctrl+c is
// saved to its session, shown as text when the session is opened again.
func TestUIE2EChatSessionsMarkdownAndAStoppedReply(t *testing.T) {
	requireTmux(t)
	srv := startChatOllama(t)
	w := newWorkspace(t)
	w.write("helper.yaml", "name: helper\nmodel: scripted\nsystem: You help.\n")
	s := startTmux(t, w.dir, 120, 30, []string{"TANDEM_DB=" + w.db, "OLLAMA_HOST=" + srv.URL, "TANDEM_MODEL=scripted"},
		tandemBin(t), "ui")
	s.waitForText("helper (agent)")
	s.keys("Enter")
	session := func() string {
		m := sessionInTitle.FindStringSubmatch(s.waitForText("chat · helper · session"))
		if m == nil {
			t.Fatalf("no session in the chat's title:\n%s", s.screen())
		}
		return m[1]
	}
	first := session()

	s.keys("list", "Enter")
	scr := s.waitForText("• milk", "• eggs")
	if strings.Contains(scr, "**milk**") {
		t.Fatalf("the reply is not rendered as markdown:\n%s", scr)
	}

	// Two new sessions, one after the other: each its own.
	names := map[string]bool{first: true}
	for range 2 {
		s.keys("C-r")
		s.waitForText("choose a session of helper", "new session")
		s.keys("Up", "Up", "Up", "Enter")
		s.waitForText("say something to helper")
		n := session()
		if names[n] {
			t.Fatalf("a new session reused the name %s (had %v)", n, names)
		}
		names[n] = true
	}
	stopped := session()

	// A stopped reply keeps what it said, marked stopped, and is saved to the session.
	s.keys("stall", "Enter")
	s.waitForText("Once upon a time")
	s.keys("C-c")
	s.waitForText("■ reply stopped")
	s.keys("C-r")
	s.waitForText(stopped+" · 2 messages", first+" · 2 messages")
	s.keys("Down", "Enter") // the first session, listed after the newer one
	s.waitForText("session "+first, "• milk")
	s.keys("C-r")
	s.waitForText("choose a session of helper")
	s.keys("Up", "Enter")
	scr = s.waitForText("session "+stopped, "› stall", "Once upon a time", "■ reply stopped")
	if strings.Contains(scr, "• milk") {
		t.Fatalf("the stopped session shows the other session's reply:\n%s", scr)
	}
	s.keys("Escape")
	s.waitForText("Flows")
	s.keys("q")
	if status := s.waitExit(); status != "0" {
		t.Fatalf("tandem ui exited with %s", status)
	}
}
