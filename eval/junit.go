package eval

import (
	"encoding/xml"
	"fmt"
	"io"
	"strings"
)

// JUnit's XML, as CI systems read it: a test suite per model, a test case per cell.
type junitSuites struct {
	XMLName xml.Name     `xml:"testsuites"`
	Name    string       `xml:"name,attr"`
	Tests   int          `xml:"tests,attr"`
	Fails   int          `xml:"failures,attr"`
	Time    string       `xml:"time,attr"`
	Suites  []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name  string      `xml:"name,attr"`
	Tests int         `xml:"tests,attr"`
	Fails int         `xml:"failures,attr"`
	Time  string      `xml:"time,attr"`
	Cases []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitFailure `xml:"failure,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitFailure struct {
	Message string `xml:"message,attr"`
	Text    string `xml:",chardata"`
}

// WriteJUnit writes a report as JUnit XML: one testsuite per model, one testcase per run
// (case and repeat), failing with the expectations it missed; system-out names the run.
func WriteJUnit(w io.Writer, r *Report) error {
	out := junitSuites{Name: r.Suite}
	index := map[string]int{}
	var total float64
	for _, c := range r.Cells {
		i, ok := index[c.Model]
		if !ok {
			i = len(out.Suites)
			index[c.Model] = i
			out.Suites = append(out.Suites, junitSuite{Name: r.Suite + " on " + orDefault(c.Model)})
		}
		s := &out.Suites[i]
		tc := junitCase{Name: fmt.Sprintf("%s #%d", c.Case, c.Repeat), Classname: r.Suite + "." + c.Case,
			Time: fmt.Sprintf("%.3f", c.Seconds), SystemOut: readCommand(c)}
		if !c.Pass {
			var missed []string
			for _, o := range c.Outcomes {
				if !o.Pass {
					missed = append(missed, o.Expect+": "+o.Detail)
				}
			}
			msg := c.Status
			if len(missed) > 0 {
				msg = fmt.Sprintf("%d of %d expectations failed", len(missed), len(c.Outcomes))
			}
			tc.Failure = &junitFailure{Message: msg, Text: strings.Join(missed, "\n")}
			s.Fails++
			out.Fails++
		}
		s.Tests++
		out.Tests++
		s.Cases = append(s.Cases, tc)
		total += c.Seconds
	}
	for i := range out.Suites {
		var t float64
		for _, c := range out.Suites[i].Cases {
			var f float64
			fmt.Sscan(c.Time, &f)
			t += f
		}
		out.Suites[i].Time = fmt.Sprintf("%.3f", t)
	}
	out.Time = fmt.Sprintf("%.3f", total)
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(out); err != nil {
		return fmt.Errorf("write junit: %w", err)
	}
	_, err := io.WriteString(w, "\n")
	return err
}
