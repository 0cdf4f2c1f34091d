package eval

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"tandem/flows"
)

// FuzzParse feeds arbitrary bytes to the suite parser: it must never panic, and every error
// must be positioned Diagnostics.
func FuzzParse(f *testing.F) {
	for _, name := range []string{"testdata/good.yaml", "testdata/bad.yaml", "testdata/badflow.yaml"} {
		if b, err := os.ReadFile(name); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("name: s\ntarget: agent.yaml\ncases:\n  - id: a\n    input: x\n    expect: [{json_path: {path: 'a[0][1].b', equals: [1]}}]\n"))
	f.Add([]byte("cases: {a: 1}"))
	dir, err := filepath.Abs("testdata")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		s, err := Parse(filepath.Join(dir, "fuzz.yaml"), src)
		if err == nil {
			if s == nil || len(s.Cases) == 0 || (s.Agent == nil) == (s.Flow == nil) {
				t.Fatalf("a suite without cases or target passed: %+v", s)
			}
			return
		}
		var diags flows.Diagnostics
		if !errors.As(err, &diags) || len(diags) == 0 {
			t.Fatalf("error is not positioned diagnostics: %v", err)
		}
		for _, d := range diags {
			if d.Pos.Line < 1 || d.Pos.Col < 1 || d.Msg == "" {
				t.Fatalf("bad diagnostic %+v", d)
			}
		}
	})
}
