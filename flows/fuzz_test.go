package flows

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse feeds arbitrary bytes to the flow parser: it must never panic, and every error
// must be positioned Diagnostics.
func FuzzParse(f *testing.F) {
	for _, name := range []string{"testdata/good.yaml", "testdata/bad.yaml"} {
		if b, err := os.ReadFile(name); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("name: x\nsteps:\n  - id: a\n    map: '[1,2]'\n    shell: echo {{ .item }}\n"))
	f.Add([]byte("steps: {a: 1}"))
	f.Add([]byte("- 1\n- 2"))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, src []byte) {
		_, err := Parse(filepath.Join(dir, "fuzz.yaml"), src)
		checkDiagnostics(t, err)
	})
}

// FuzzParseAgent does the same for agent files.
func FuzzParseAgent(f *testing.F) {
	f.Add([]byte("name: a\nsystem: hi\ntools: [read_file]\nmax_turns: 3\n"))
	f.Add([]byte("name: a\noutput: { schema: { type: object } }\n"))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, src []byte) {
		_, err := ParseAgent(filepath.Join(dir, "agent.yaml"), src)
		checkDiagnostics(t, err)
	})
}

func checkDiagnostics(t *testing.T, err error) {
	if err == nil {
		return
	}
	var ds Diagnostics
	if !errors.As(err, &ds) || len(ds) == 0 {
		t.Fatalf("error is not positioned diagnostics: %v", err)
	}
	for _, d := range ds {
		if d.Pos.Line < 1 || d.Pos.Col < 1 || d.Msg == "" {
			t.Fatalf("bad diagnostic %+v", d)
		}
	}
}
