package eval

import (
	"bytes"
	"encoding/xml"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestJUnitOutputHasATestCasePerRunAndItsFailures(t *testing.T) {
	r := cells("small", map[string][]bool{"port": {true, false}, "write": {true}}, 2)
	r.Cells[1].Outcomes[0].Detail = "got 8080 & <nothing>"
	var buf bytes.Buffer
	if err := WriteJUnit(&buf, r); err != nil {
		t.Fatal(err)
	}
	var doc junitSuites
	if err := xml.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatalf("not XML: %v\n%s", err, buf.String())
	}
	if doc.Tests != 3 || doc.Fails != 1 || len(doc.Suites) != 1 || len(doc.Suites[0].Cases) != 3 {
		t.Fatalf("junit = %+v", doc)
	}
	f := doc.Suites[0].Cases[1].Failure
	if f == nil || f.Text != `contains "8421": got 8080 & <nothing>` || doc.Suites[0].Cases[1].Name != "port #2" {
		t.Fatalf("failure = %+v", doc.Suites[0].Cases[1])
	}
	// The cells. runs have turns: each names its trace; a flow's case (no turns) names show.
	if out := doc.Suites[0].Cases[0].SystemOut; !strings.HasPrefix(out, "tandem trace ") {
		t.Errorf("system-out of an agent case = %q", out)
	}
	r.Cells[0].Turns, r.Cells[0].EndReason = 0, ""
	buf.Reset()
	if err := WriteJUnit(&buf, r); err != nil || !strings.Contains(buf.String(), "<system-out>tandem show ") {
		t.Errorf("a flow case's system-out does not name show (%v):\n%s", err, buf.String())
	}

	// A real JUnit parser reads it too, when one is installed (pip install junitparser).
	py, err := exec.LookPath("python3")
	if err != nil || exec.Command(py, "-c", "import junitparser").Run() != nil {
		t.Log("junitparser not installed; checked with encoding/xml only")
		return
	}
	path := filepath.Join(t.TempDir(), "eval.xml")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	script := `import sys, junitparser
xml = junitparser.JUnitXml.fromfile(sys.argv[1])
for suite in xml:
    for case in suite:
        print(case.name, "fail" if not case.is_passed else "pass", *[r.message for r in case.result])`
	out, err := exec.Command(py, "-c", script, path).CombinedOutput()
	if err != nil {
		t.Fatalf("junitparser: %v\n%s", err, out)
	}
	want := "port #1 pass\nport #2 fail 1 of 1 expectations failed\nwrite #1 pass\n"
	if string(out) != want {
		t.Fatalf("junitparser read:\n%s\nwant:\n%s", out, want)
	}
	if strings.Contains(buf.String(), "<nothing>") {
		t.Fatal("failure text is not escaped")
	}
}
