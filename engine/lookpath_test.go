package engine_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"tandem/engine"
)

// tool writes an executable script named name into a new directory and returns the directory.
func tool(t *testing.T, name, body string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, name), []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestRunStepsFindCommandsOnTheCurrentPath(t *testing.T) {
	onEveryStore(t, func(t *testing.T, open opener) {
		h := newHarness(t, open)
		f := h.flow("f.yaml", `
name: tools
steps:
  - id: a
    run: ["greet"]
  - id: sh
    run: ["sh", "-c", "true"]
  - id: argv0
    needs: [a, sh]
    run: ["sh", "-c", "tr '\\0' ' ' < /proc/$$/cmdline"]
`)
		// greet is looked up once per PATH; argv0 finds sh where the step sh put it in the cache.
		base := os.Getenv("PATH")
		for _, who := range []string{"first", "second"} {
			t.Setenv("PATH", tool(t, "greet", "echo "+who)+string(os.PathListSeparator)+base)
			st := h.run(f, nil)
			if st.Status != engine.RunStatusSucceeded || st.Steps["a"].Output != who {
				t.Fatalf("with the %s greet on PATH: run %s, output %q", who, st.Status, st.Steps["a"].Output)
			}
			if got := st.Steps["argv0"].Output; !strings.HasPrefix(got, "sh -c ") {
				t.Fatalf("argv is %q, want it to start with the name as written", got)
			}
		}
	})
}

func TestACommandNotOnPathFailsWithoutRetrying(t *testing.T) {
	onEveryStore(t, func(t *testing.T, open opener) {
		h := newHarness(t, open)
		f := h.flow("f.yaml", `
name: missing
steps:
  - id: a
    run: ["no-such-tandem-tool"]
    retry: { max_attempts: 3, backoff: 1ms }
`)
		st := h.run(f, nil)
		if a := st.Steps["a"]; st.Status != engine.RunStatusFailed || len(a.Attempts) != 1 {
			t.Fatalf("run %s, %d attempts", st.Status, len(a.Attempts))
		}
	})
}
