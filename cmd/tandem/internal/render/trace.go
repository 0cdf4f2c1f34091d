package render

import (
	"fmt"
	"io"
	"os"
	"strings"

	"tandem/agents"
	"tandem/agents/tracefmt"
)

// Style is the terminal styling of a trace; the zero Style is plain text.
type Style struct{ dim, bold, red, reset string }

// StyleFor styles a trace for f: bold, dim and red on a terminal unless NO_COLOR is set,
// plain text otherwise.
func StyleFor(f *os.File) Style {
	if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 && os.Getenv("NO_COLOR") == "" {
		return Style{dim: "\033[2m", bold: "\033[1m", red: "\033[31m", reset: "\033[0m"}
	}
	return Style{}
}

// of is the terminal style of a formatted line's class.
func (s Style) of(c tracefmt.Class) string {
	switch c {
	case tracefmt.Heading:
		return s.bold
	case tracefmt.Dim, tracefmt.Thinking:
		return s.dim
	case tracefmt.Problem:
		return s.red
	}
	return ""
}

// Record is one entry of a trace, as `tandem trace --json` prints it.
type Record struct {
	RunID   string `json:"run_id"`
	StepID  string `json:"step_id"`
	Attempt int    `json:"attempt"`
	Kind    string `json:"kind"` // a trace kind, or content / thinking for streamed text
	Data    any    `json:"data,omitempty"`
	Text    string `json:"text,omitempty"`
}

// resultLines is how many lines of a tool result the trace prints: the last ones.
const resultLines = 12

// Trace renders trace records as people read them: a header per step, a rule per
// turn with its counters, thinking dimmed, tool calls and results as indented blocks, each
// record as tracefmt formats it.
func Trace(w io.Writer, s Style, recs []Record, hideThinking bool) {
	cur := ""
	inText := false
	endText := func() {
		if inText {
			fmt.Fprintln(w, s.reset)
			inText = false
		}
	}
	for _, r := range recs {
		key := r.RunID + "/" + r.StepID + fmt.Sprintf("#%d", r.Attempt)
		if key != cur {
			endText()
			cur = key
			fmt.Fprintf(w, "\n%s━━ run %s · step %s · attempt %d%s\n", s.bold, r.RunID, r.StepID, r.Attempt, s.reset)
		}
		switch agents.Kind(r.Kind) {
		case agents.KindThinking:
			if hideThinking {
				continue
			}
			if !inText {
				fmt.Fprint(w, "  "+s.dim)
			}
			fmt.Fprint(w, s.dim+indentText(r.Text))
			inText = true
		case agents.KindContent:
			if !inText {
				fmt.Fprint(w, "  ")
			}
			fmt.Fprint(w, s.reset+indentText(r.Text))
			inText = true
		default:
			endText()
			rec, err := agents.Decode(r.Kind, r.Data)
			if err != nil {
				fmt.Fprintf(w, "  %s! %v%s\n", s.red, err, s.reset)
				continue
			}
			printBlock(w, s, rec, tracefmt.Format(rec))
		}
	}
	endText()
}

// printBlock prints a formatted record: a turn's rule and the end flush left, the rest
// indented, a long tool result by its last lines.
func printBlock(w io.Writer, s Style, rec agents.Record, b tracefmt.Block) {
	indent := "  "
	if k := rec.Kind(); k == agents.KindTurn || k == agents.KindEnd {
		indent = ""
	}
	body := b.Body
	if rec.Kind() == agents.KindToolResult && len(body) > resultLines {
		fmt.Fprintf(w, "%s%s%s%s\n", indent, s.of(b.Head.Class), b.Head.Text, s.reset)
		fmt.Fprintf(w, "%s  %s│ … %d earlier lines%s\n", indent, s.dim, len(body)-resultLines, s.reset)
		body = body[len(body)-resultLines:]
	} else {
		fmt.Fprintf(w, "%s%s%s%s\n", indent, s.of(b.Head.Class), b.Head.Text, s.reset)
	}
	for _, l := range body {
		fmt.Fprintf(w, "%s  %s%s%s\n", indent, s.of(l.Class), l.Text, s.reset)
	}
}

func indentText(t string) string { return strings.ReplaceAll(t, "\n", "\n  ") }

// Join merges each run of consecutive streamed fragments (content, or thinking) of one
// step attempt into one record, so a reply reads as one text instead of a record a token.
func Join(recs []Record) []Record {
	var out []Record
	for _, r := range recs {
		if n := len(out); n > 0 && (r.Kind == "content" || r.Kind == "thinking") {
			last := &out[n-1]
			if last.Kind == r.Kind && last.RunID == r.RunID && last.StepID == r.StepID && last.Attempt == r.Attempt {
				last.Text += r.Text
				continue
			}
		}
		out = append(out, r)
	}
	return out
}
