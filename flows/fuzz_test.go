package flows

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// FuzzParse feeds arbitrary bytes to the flow parser: it must never panic, every error
// must be positioned Diagnostics, and reading the steps list in parts (splitSteps) must give
// exactly what reading the whole file gives: the same flow or the same messages.
func FuzzParse(f *testing.F) {
	for _, name := range []string{"testdata/good.yaml", "testdata/bad.yaml"} {
		if b, err := os.ReadFile(name); err == nil {
			f.Add(b)
		}
	}
	for _, src := range splitSeeds {
		f.Add([]byte(src))
	}
	f.Add([]byte("steps: {a: 1}"))
	f.Add([]byte("- 1\n- 2"))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, src []byte) {
		path := filepath.Join(dir, "fuzz.yaml")
		got, err := Parse(path, src)
		checkDiagnostics(t, err)
		want, _, wantErr := parseFlowFrom(path, src, nil, map[string]bool{})
		sameReading(t, "read in parts", got, err, want, wantErr)
		// Each item a group of its own: every boundary between items is a boundary of parts.
		if sp := splitSteps(src, 1); sp != nil {
			if got, held, err := parseFlowFrom(path, src, sp, map[string]bool{}); held {
				sameReading(t, "read item by item", got, err, want, wantErr)
			}
		}
	})
}

func sameReading(t *testing.T, how string, got *Flow, err error, want *Flow, wantErr error) {
	t.Helper()
	if fmt.Sprint(err) != fmt.Sprint(wantErr) {
		t.Fatalf("%s:\n%v\nread whole:\n%v", how, err, wantErr)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s: %+v\nread whole: %+v", how, got, want)
	}
}

// splitSeeds are layouts of a steps list that splitSteps cuts, or must refuse to.
var splitSeeds = []string{
	"name: x\nsteps:\n  - id: a\n    map: '[1,2]'\n    shell: echo {{ .item }}\n",
	"name: x\nsteps:\n- id: a\n  run: [\"true\"]\n- id: b\n  needs: a\n  run: [\"true\"]\noutputs: {o: x}\n",
	"name: x\nsteps: # the list\n  # first\n  - id: a\n    shell: |\n      echo 1\n      # not a comment\n\n  - id: b\n    shell: echo 2\n",
	"name: x\nsteps:\n  - id: a\n    shell: \"echo\n  - id: b\"\n",
	"name: x\nsteps:\n  - id: a\n    shell: \"echo\nname: y\"\n",
	"name: x\nsteps:\n  - &s {id: a, shell: echo}\n  - *s\n",
	"a: &n x\nname: *n\nsteps:\n  - id: a\n    shell: *n\n",
	"name: x\nsteps:\n  - id: a\n    shell: &c echo\noutputs: {o: *c}\n",
	"description: \"a\nsteps:\n- id: a\n\"\nname: x\n",
	"{name: x,\nsteps:\n- id: a\n}\n",
	"name: x\nsteps:\n  - id: a\n    shell: echo\n  id: b\n",
	"name: x\nsteps:\n  - id: a\n    run: [a,\n  - b]\n",
	"name: x\nsteps:\n  - id: a\n    shell: echo\nsteps:\n  - id: b\n    shell: echo\n",
	"name: x\nsteps:\n  - id: a\n    shell: echo\n---\nname: y\n",
	"name: x\r\nsteps:\r\n  - id: a\r\n    shell: echo\r\n  - id: b\r\n    shell: echo\r\n",
	"name: x\nsteps:\n  - id: a\n    shell: echo\r  - id: b\n    shell: echo\n",
	"name: x\nsteps:\n  - id: a\n    shell: echo\n  - id: a\n    shell: echo\n    shel: x\n",
	"  name: x\nsteps:\n  - id: a\n    shell: echo\n",
	"name: x\nsteps:\n\t- id: a\n",
	"name: x\nsteps:\n  -\n    id: a\n    shell: echo\n  - - 1\n",
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
