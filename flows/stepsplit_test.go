package flows

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// longFlow is a flow of n steps of several shapes (a block scalar with lines that look like
// comments and list items, a flow mapping, comments, needs), with extra text after step i
// when i is a key of after.
func longFlow(n int, after map[int]string) string {
	var b strings.Builder
	b.WriteString("name: long\ninputs:\n  who: { type: string, default: x }\nsteps:\n")
	for i := range n {
		fmt.Fprintf(&b, "  - id: s%d\n", i)
		switch i % 3 {
		case 0:
			b.WriteString("    shell: |\n      echo {{ .inputs.who }}\n      # not a comment\n\n      - not an item\n")
		case 1:
			b.WriteString("    env: { A: &v x, B: y }\n    run: [\"true\"]\n")
		default:
			b.WriteString("    # a comment\n    run: [\"true\"]\n")
		}
		if i > 0 {
			fmt.Fprintf(&b, "    needs: [s%d]\n", i-1)
		}
		b.WriteString(after[i])
	}
	b.WriteString("outputs:\n  last: \"{{ .steps.s0 }}\"\n")
	return b.String()
}

func TestALongStepsListIsReadInPartsAsTheWholeFileReadsIt(t *testing.T) {
	src := []byte(longFlow(1500, nil))
	sp := splitSteps(src, stepsGroupBytes)
	if sp == nil || len(sp.groups) < 3 {
		t.Fatalf("split = %+v, want several groups", sp)
	}
	got, held, err := parseFlowFrom("f.yaml", src, sp, map[string]bool{})
	if !held || err != nil {
		t.Fatalf("read in parts: held %v, %v", held, err)
	}
	want, _, err := parseFlowFrom("f.yaml", src, nil, map[string]bool{})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatal("the flow read in parts differs from the flow read whole")
	}
	if s := got.Steps[1499]; s.ID != "s1499" || s.Pos.Line != lineOf(src, "  - id: s1499\n") || s.Pos.Col != 5 {
		t.Errorf("last step = %s at %+v", s.ID, s.Pos)
	}
}

func TestProblemsInALongStepsListKeepTheirPositions(t *testing.T) {
	src := []byte(longFlow(1500, map[int]string{
		1200: "    shel: x\n",
		1300: "    needs: [s1]\n",
	}))
	_, err := Parse("f.yaml", src)
	want, _, wantErr := parseFlowFrom("f.yaml", src, nil, map[string]bool{})
	if err == nil || want != nil || err.Error() != wantErr.Error() {
		t.Fatalf("read in parts:\n%v\nread whole:\n%v", err, wantErr)
	}
	for _, w := range []string{
		fmt.Sprintf("f.yaml:%d:5: unknown key \"shel\" in a step", lineOf(src, "    shel: x")),
		fmt.Sprintf("f.yaml:%d:5: duplicate key \"needs\" in a step (first on line %d)",
			lineOf(src, "    needs: [s1299]")+1, lineOf(src, "    needs: [s1299]")),
	} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("missing %q in\n%v", w, err)
		}
	}
}

// lineOf is the line text starts on in src.
func lineOf(src []byte, text string) int {
	return strings.Count(string(src[:strings.Index(string(src), text)]), "\n") + 1
}

func TestAnAliasToAnotherPartOfTheStepsListIsReadAsTheWholeFile(t *testing.T) {
	src := []byte(longFlow(1500, map[int]string{1499: "    description: *v\n"}))
	if sp := splitSteps(src, stepsGroupBytes); sp == nil || len(sp.groups) < 3 {
		t.Fatal("the file should split into several groups")
	}
	// Read in parts, the alias's anchor is in another part: the whole file is read instead,
	// and says what it says of an alias there.
	_, err := Parse("f.yaml", src)
	want := fmt.Sprintf("f.yaml:%d:18: description must be a string, not an alias", lineOf(src, "    description: *v"))
	if err == nil || err.Error() != want {
		t.Fatalf("error = %v, want %s", err, want)
	}
}
