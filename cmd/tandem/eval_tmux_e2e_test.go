package main_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestUIE2EEvalProgressBarInATerminal runs `tandem eval` in tmux against a model server
// that answers only when the test lets it: the bar is on the last line while a cell runs,
// its clock moves on while nothing else happens, a finished cell's line goes above it, and
// it is gone when the table is printed.
func TestUIE2EEvalProgressBarInATerminal(t *testing.T) {
	requireTmux(t)
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		serveScriptedStream(w, r, func(r *http.Request, msgs []chatMessage, chunk func(string, bool)) {
			select {
			case <-release:
			case <-r.Context().Done():
				return
			}
			answer := "no idea"
			if strings.Contains(msgs[len(msgs)-1].Content, "port") {
				answer = "The port is 8421."
			}
			chunk(answer, false) // an agent without tools answers in plain text
			chunk("", true)
		})
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) }) // lets a request still held go before the server closes
	w := newWorkspace(t)
	writeReaderSuite(w)
	s := startTmux(t, w.dir, 80, 24, []string{"TANDEM_DB=" + w.db, "OLLAMA_HOST=" + srv.URL, "TANDEM_MODEL=scripted"},
		tandemBin(t), "eval", "suite.yaml", "--work", filepath.Join(w.dir, "work"))
	// Keep the pane after the program ends, to read the screen it left (it cannot end before
	// this: the model holds its first reply).
	s.tmux("set-option", "-t", s.target, "remain-on-exit", "on")

	lastLine := func(scr string) string {
		lines := strings.Split(strings.TrimRight(scr, "\n "), "\n")
		return lines[len(lines)-1]
	}
	bar := regexp.MustCompile(`^\[[#-]{20}\] (\d)/2 .*· (\d+)s`)
	portLine := regexp.MustCompile(`(?m)^✓ port( on sc[a-z]*…?)?, repeat 1: 1 turn, [0-9.]+s \(run \w+\.port--default--r1\.1\)$`)
	scr := s.waitFor("the bar while port runs", func(scr string) bool {
		return bar.MatchString(lastLine(scr)) && strings.HasSuffix(lastLine(scr), "0/2 · 0s · port")
	})
	if !strings.HasPrefix(lastLine(scr), "[--------------------] 0/2") {
		t.Fatalf("the bar before any cell finished: %q", lastLine(scr))
	}
	// Nothing finishes while the model holds its reply; the bar's clock still moves.
	s.waitFor("the bar redrawn a second later", func(scr string) bool {
		m := bar.FindStringSubmatch(lastLine(scr))
		return m != nil && m[1] == "0" && m[2] != "0"
	})

	release <- struct{}{}
	scr = s.waitFor("port's line above the bar", func(scr string) bool {
		// At 80 columns the line is cut to fit (the model gives way), never wrapped, and
		// keeps its run id whole.
		return portLine.MatchString(scr) && strings.Contains(lastLine(scr), "] 1/2 · ") &&
			strings.HasSuffix(lastLine(scr), " · owner")
	})
	if n := strings.Count(scr, "] 0/2"); n != 0 {
		t.Fatalf("an old bar is left on the screen:\n%s", scr)
	}
	if !strings.HasPrefix(lastLine(scr), "[##########----------] 1/2") {
		t.Fatalf("the bar after one of two: %q", lastLine(scr))
	}

	release <- struct{}{}
	if code := s.waitExit(); code != "1" {
		t.Fatalf("exit %s (one case fails: want 1)\n%s", code, s.screen())
	}
	scr = s.tmux("capture-pane", "-p", "-S", "-200", "-t", s.target) // with what scrolled off
	for _, want := range []string{"✓ port", "✗ owner", "1 of 2 runs passed"} {
		if !strings.Contains(scr, want) {
			t.Fatalf("the final screen has no %q:\n%s", want, scr)
		}
	}
	if strings.Contains(scr, "] 1/2") || strings.Contains(scr, "] 2/2") || strings.Contains(scr, "[###") {
		t.Fatalf("the bar is left on the screen with the table:\n%s", scr)
	}
}

// TestUIE2EEvalRunsHaveASidebarSectionOfTheirOwn runs a suite with the real binary, then
// opens the workbench in tmux, wide and at 80x24: the eval run is a row under Evals with its
// pass count, its case runs are not rows, and enter on the row opens the eval view.
func TestUIE2EEvalRunsHaveASidebarSectionOfTheirOwn(t *testing.T) {
	requireTmux(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		serveScripted(w, r, func(msgs []chatMessage) string {
			if strings.Contains(msgs[len(msgs)-1].Content, "port") {
				return "The port is 8421."
			}
			return "no idea"
		})
	}))
	t.Cleanup(srv.Close)
	t.Setenv("OLLAMA_HOST", srv.URL)
	t.Setenv("TANDEM_MODEL", "scripted")
	w := newWorkspace(t)
	writeReaderSuite(w)
	w.write("hello.yaml", "name: hello\nsteps:\n  - id: greet\n    shell: echo hi\n")
	if out, errOut, code := w.tandem("eval", "suite.yaml", "--work", filepath.Join(w.dir, "work")); code != 1 {
		t.Fatalf("eval: exit %d\n%s\n%s", code, out, errOut)
	}
	if _, errOut, code := w.tandem("run", "hello.yaml"); code != 0 {
		t.Fatalf("run hello: exit %d\n%s", code, errOut)
	}
	for _, size := range [][2]int{{160, 45}, {80, 24}} {
		t.Run(fmt.Sprintf("%dx%d", size[0], size[1]), func(t *testing.T) {
			s := startTmux(t, w.dir, size[0], size[1], []string{"TANDEM_DB=" + w.db, "OLLAMA_HOST=" + srv.URL, "TANDEM_MODEL=scripted"}, tandemBin(t), "ui")
			// Wide, the sidebar is narrow and the count comes before the name ("✓ 1/2
			// reader-evals 0s"); at 80x24 it has the whole width ("✓ reader-evals · 1/2 passed").
			scr := s.waitFor("the eval row under Evals", func(scr string) bool {
				return strings.Contains(scr, "Evals") && (strings.Contains(scr, "✓ 1/2 reader-evals") || strings.Contains(scr, "✓ reader-evals · 1/2 passed"))
			})
			if strings.Contains(scr, ".port--") || strings.Contains(scr, ".owner--") || strings.Contains(scr, "suite.yaml") {
				t.Fatalf("a case run is listed:\n%s", scr)
			}
			// Down to the eval row, then enter.
			for n := 0; !strings.Contains(cursorLine(s.screen()), "reader-evals"); n++ {
				if n > 10 {
					t.Fatalf("the cursor never reached the eval row:\n%s", s.screen())
				}
				before := cursorLine(s.screen())
				s.keys("j")
				s.waitFor("the cursor to move", func(scr string) bool { return cursorLine(scr) != before })
			}
			s.keys("Enter")
			s.waitForText("eval reader-evals · run", "port", "owner")
			s.keys("q")
		})
	}
}

// cursorLine is the sidebar line with the cursor (›), or "".
func cursorLine(scr string) string {
	for _, l := range strings.Split(scr, "\n") {
		if i := strings.Index(l, "›"); i >= 0 {
			return l[i:]
		}
	}
	return ""
}

// writeReaderSuite writes a fallback-mode reader agent and a two-case suite on it.
func writeReaderSuite(w *workspace) {
	w.write("reader.yaml", "name: reader\nsystem: You answer.\ntool_calling: fallback\nmax_turns: 2\n")
	w.write("suite.yaml", `name: reader-evals
target: reader.yaml
cases:
  - id: port
    input: What port does the app use?
    expect: [{ contains: "8421" }]
  - id: owner
    input: Who owns the service?
    expect: [{ contains: "Ada" }]
`)
}
