package flows_test

import (
	"errors"
	"strings"
	"testing"

	"tandem/flows"
)

func TestRefusedInputsListEachInputsProblem(t *testing.T) {
	t.Parallel()
	f, err := flows.Parse("f.yaml", []byte("name: f\ninputs:\n  n: { type: integer }\n  need: { type: string }\nsteps:\n  - id: a\n    shell: echo hi\n"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = flows.ResolveInputs(f, map[string]string{"n": "x", "nn": "1"})
	var ie *flows.InputError
	if !errors.As(err, &ie) {
		t.Fatalf("err = %v, want an *InputError", err)
	}
	var got []string
	for _, p := range ie.Problems {
		got = append(got, p.Input)
	}
	if strings.Join(got, ",") != "n,need,nn" || err.Error() != `input "n": "x" is not an integer; missing required input "need" (string); unknown input "nn" (did you mean "n"?)` {
		t.Fatalf("problems for %v: %v", got, err)
	}
}
