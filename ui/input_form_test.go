package ui

import (
	"strings"
	"testing"

	"tandem/flows"
)

func TestARefusedFormFocusesTheFirstFieldWithAProblem(t *testing.T) {
	t.Parallel()
	f, err := flows.Parse("f.yaml", []byte("name: f\ninputs:\n  who: { type: string }\n  times: { type: integer }\n  loud: { type: boolean, default: false }\nsteps:\n  - id: a\n    shell: echo hi\n"))
	if err != nil {
		t.Fatal(err)
	}
	m := NewForm(NewTheme(true), FormRunInputs, "run f", inputFields(f, nil))
	// The message names "who" inside another input's problem; only the problems' inputs count.
	_, err = resolveFormInputs(f, map[string]string{"who": "x", "times": "who", "loud": "maybe"})
	if err == nil {
		t.Fatal("bad values were accepted")
	}
	m.SetError(err, "; fix it")
	if m.focus != 1 || !strings.HasSuffix(m.Err(), "; fix it") || !strings.Contains(m.Err(), `input "loud"`) {
		t.Fatalf("focus %d, error %q; want the times field focused and both problems shown", m.focus, m.Err())
	}
}
