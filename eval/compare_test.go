package eval

import (
	"bytes"
	"strings"
	"testing"
)

func cells(model string, results map[string][]bool, turns int) *Report {
	var cs []CellResult
	for _, id := range []string{"port", "write", "judged", "only"} {
		for i, pass := range results[id] {
			o := Outcome{Expect: `contains "8421"`, Pass: pass}
			cs = append(cs, CellResult{Case: id, Model: model, Repeat: i + 1, Pass: pass, Turns: turns, Tokens: 100 * turns,
				Seconds: float64(turns), Outcomes: []Outcome{o}})
		}
	}
	r := &Report{RunID: "run-" + model, Suite: "s", Cells: cs}
	r.Rows, r.Models = summarize(cs)
	return r
}

func TestCompareListsRegressionsFirstWithTheirDeltas(t *testing.T) {
	a := cells("small", map[string][]bool{"port": {true, true}, "write": {true, false}, "judged": {false, false}, "only": {true}}, 3)
	b := cells("big", map[string][]bool{"port": {false, false}, "write": {false, false}, "judged": {true, false}}, 2)
	changes := Compare(a, b)
	var got []string
	for _, c := range changes {
		got = append(got, c.Kind+" "+c.Case)
	}
	want := "regressed port,regressed write,improved judged,removed only"
	if strings.Join(got, ",") != want {
		t.Fatalf("changes = %v, want %s", got, want)
	}
	w := changes[1]
	if w.PassDelta != -0.5 || w.TurnsDelta != -1 || w.TokensDelta != -100 || w.Model != "small → big" {
		t.Fatalf("write change = %+v", w)
	}
	if len(changes[0].NewlyFailed) != 1 || changes[0].NewlyFailed[0] != `contains "8421"` {
		t.Fatalf("port newly failed = %v", changes[1].NewlyFailed)
	}
	var out bytes.Buffer
	if err := WriteCompare(&out, a, b, changes); err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{
		"eval s (run run-small) → s (run run-big): 2 regressed, 1 improved, 0 unchanged, 0 added, 1 removed",
		"✗  write   small → big  1/2 → 0/2   -1     -100    -1.0s",
		"✓  judged  small → big  0/2 → 1/2",
		"-  only    small → big  1/1 → gone",
		"port (small → big) now fails:\n  ✗ contains \"8421\"",
	} {
		if !strings.Contains(out.String(), line) {
			t.Errorf("output lacks %q:\n%s", line, out.String())
		}
	}
}

func TestCompareMatchesByModelWhenBothRunsUsedSeveral(t *testing.T) {
	a := cells("m1", map[string][]bool{"port": {true}}, 1)
	a2 := cells("m2", map[string][]bool{"port": {false}}, 1)
	a.Cells = append(a.Cells, a2.Cells...)
	a.Rows, a.Models = summarize(a.Cells)
	b := cells("m2", map[string][]bool{"port": {true}}, 1)
	b1 := cells("m1", map[string][]bool{"port": {true}}, 1)
	b.Cells = append(b.Cells, b1.Cells...)
	b.Rows, b.Models = summarize(b.Cells)
	var got []string
	for _, c := range Compare(a, b) {
		got = append(got, c.Kind+" "+c.Case+" "+c.Model)
	}
	if strings.Join(got, ",") != "improved port m2,unchanged port m1" {
		t.Fatalf("changes = %v", got)
	}
}

func TestTheTableShowsPassRatesAndWhyRunsFailed(t *testing.T) {
	r := cells("small", map[string][]bool{"port": {true, false}}, 3)
	r.Cells[1].RunID = "run-small.port--small--r2.1"
	r.Cells[1].Outcomes[0].Detail = "the answer does not contain it: 8080"
	r.Models[0].LoopStops = 1
	var out bytes.Buffer
	if err := WriteTable(&out, r); err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{
		"eval s (run run-small): 1 of 2 runs passed",
		"port  small  1/2   3      300     3.0s",
		"small  50% (1/2)  0%–100%",
		"  1 loop\n",
		"port on small, repeat 2 (tandem trace run-small.port--small--r2.1)",
		`✗ contains "8421": the answer does not contain it: 8080`,
	} {
		if !strings.Contains(out.String(), line) {
			t.Errorf("table lacks %q:\n%s", line, out.String())
		}
	}
}

func TestAFailedFlowCaseNamesShowAndTheRunsError(t *testing.T) {
	r := cells("", map[string][]bool{"only": {false}}, 0)
	c := &r.Cells[0]
	c.RunID, c.EndReason, c.Status, c.Error = "run-flow.deploy.1", "", "failed", "step e failed: exit status 3"
	c.Flow = true // whose steps used no model: the line names none
	if ok, detail := Check(Expectation{Kind: KindContains, Text: "done"}, Observation{}); ok || !strings.HasSuffix(detail, "(no answer)") {
		t.Fatalf("an empty answer's detail = %q", detail)
	}
	var out bytes.Buffer
	if err := WriteTable(&out, r); err != nil {
		t.Fatal(err)
	}
	if want := "  only, repeat 1 (tandem show run-flow.deploy.1): failed: step e failed: exit status 3"; !strings.Contains(out.String(), want) {
		t.Fatalf("table lacks %q:\n%s", want, out.String())
	}
}
