package main_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"

	"tandem/internal/ollamatest"
)

const draftFlow = "name: draft\nsteps:\n  - id: draft\n    llm: { prompt: \"Say hi in two words.\", options: { num_predict: 8 } }\n"

func TestCLIAModelStepRetriesAnUnreachableOllamaThenFailsNamingTheRetry(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := l.Addr().String()
	l.Close()
	t.Setenv("OLLAMA_HOST", closed)
	t.Setenv("TANDEM_MODEL_RETRY_BACKOFF", "20ms")
	w := newWorkspace(t)
	w.write("draft.yaml", draftFlow)
	out, errOut, code := w.tandem("run", "draft.yaml")
	id := firstLineRunID(t, out)
	for _, want := range []string{
		"↻ draft            ollama unreachable, retrying in 20ms (1/3)",
		"ollama unreachable, retrying in 40ms (2/3)",
		"ollama unreachable, retrying in 80ms (3/3)",
		"cannot reach Ollama at http://" + closed,
		"gave up after 3 retries over 140ms",
		"retry with: tandem retry " + id + " draft",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the run's output lacks %q", want)
		}
	}
	if code != 1 || t.Failed() {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	show, _, _ := w.tandem("show", id, "--json")
	var doc struct {
		State struct {
			Status string `json:"status"`
		} `json:"state"`
		Steps []struct {
			Status   string `json:"status"`
			Attempts []struct {
				Error string `json:"error"`
			} `json:"attempts"`
		} `json:"steps"`
	}
	if err := json.Unmarshal([]byte(show), &doc); err != nil || doc.State.Status != "failed" || len(doc.Steps) != 1 ||
		doc.Steps[0].Status != "failed" || !strings.Contains(doc.Steps[0].Attempts[0].Error, "gave up after 3 retries") {
		t.Fatalf("the failure is not recorded: %v\n%s", err, show)
	}
	if trace, _, _ := w.tandem("trace", id, "draft"); !strings.Contains(trace, "↻ ollama unreachable, retrying in 20ms (1/3)") {
		t.Errorf("the trace does not keep the retries:\n%s", trace)
	}
}

func TestCLIAModelStepWaitsForAnOllamaThatStartsLate(t *testing.T) {
	host := ollamatest.FreeHost(t)
	t.Setenv("OLLAMA_HOST", host)
	t.Setenv("TANDEM_MODEL", ollamatest.Model)
	t.Setenv("TANDEM_MODEL_RETRIES", "8")
	t.Setenv("TANDEM_MODEL_RETRY_BACKOFF", "1s")
	w := newWorkspace(t)
	w.write("draft.yaml", draftFlow)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	c := w.cmd(ctx, "run", "draft.yaml")
	stdout, err := c.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(stdout)
	var seen strings.Builder
	for sc.Scan() {
		seen.WriteString(sc.Text() + "\n")
		if strings.Contains(sc.Text(), "ollama unreachable, retrying in 1s (1/8)") {
			break
		}
	}
	if !strings.Contains(seen.String(), "retrying in 1s (1/8)") {
		_ = c.Process.Kill()
		t.Fatalf("no retry before the server started:\n%s", seen.String())
	}
	// Only now does Ollama come up, on the address the run keeps trying.
	ollamatest.StartAt(t, host)
	for sc.Scan() {
		seen.WriteString(sc.Text() + "\n")
	}
	err = c.Wait()
	if ee, ok := err.(*exec.ExitError); ok || err != nil {
		t.Fatalf("the run did not succeed once Ollama was up (%v %v):\n%s", err, ee, seen.String())
	}
	if !strings.Contains(seen.String(), "✓ draft") || !strings.Contains(seen.String(), "succeeded") {
		t.Fatalf("output:\n%s", seen.String())
	}
}
