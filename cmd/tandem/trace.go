package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"tandem/agents"
	"tandem/agents/tracefmt"
	"tandem/engine"
)

func init() {
	register(command{name: "trace", summary: "print the reasoning trace of a run's agent and llm steps", run: runTrace})
}

// Terminal styling for traces; plain text when stdout is not a terminal.
type traceStyle struct{ dim, bold, red, reset string }

func styleFor(f *os.File) traceStyle {
	if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 && os.Getenv("NO_COLOR") == "" {
		return traceStyle{dim: "\033[2m", bold: "\033[1m", red: "\033[31m", reset: "\033[0m"}
	}
	return traceStyle{}
}

// of is the terminal style of a formatted line's class.
func (s traceStyle) of(c tracefmt.Class) string {
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

// traceRecord is one entry of --json output.
type traceRecord struct {
	RunID   string `json:"run_id"`
	StepID  string `json:"step_id"`
	Attempt int    `json:"attempt"`
	Kind    string `json:"kind"` // a trace kind, or content / thinking for streamed text
	Data    any    `json:"data,omitempty"`
	Text    string `json:"text,omitempty"`
}

func runTrace(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("trace", flag.ContinueOnError)
	var c common
	c.register(fs)
	jsonOut := fs.Bool("json", false, "print JSON records")
	hideThinking := fs.Bool("no-thinking", false, "leave thinking out")
	pos, err := interspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("usage: tandem trace RUN [--json]")
	}
	e, info, err := c.openRun(ctx, pos[0])
	if err != nil {
		return err
	}
	defer e.close()
	// The run and the runs its steps started (flow tools, agent handoffs, sub-flows).
	ids := []string{info.ID}
	for i := 0; i < len(ids); i++ {
		kids, err := e.db.Runs(ctx, engine.RunQuery{ParentID: ids[i]})
		if err != nil {
			return err
		}
		for j := len(kids) - 1; j >= 0; j-- {
			ids = append(ids, kids[j].ID)
		}
	}
	var recs []traceRecord
	for _, id := range ids {
		events, err := e.db.Events(ctx, id, 0)
		if err != nil {
			return err
		}
		for _, ev := range events {
			switch ev.Type {
			case engine.StepTrace:
				var d engine.TraceData
				if err := ev.Decode(&d); err != nil {
					return fmt.Errorf("read the trace of run %s: event %d: %w", id, ev.Seq, err)
				}
				recs = append(recs, traceRecord{RunID: id, StepID: ev.StepID, Attempt: ev.Attempt, Kind: d.Kind, Data: d.Data})
			case engine.StepOutput:
				var d engine.StepOutputData
				if ev.Decode(&d) == nil && (d.Stream == "content" || d.Stream == "thinking") {
					recs = append(recs, traceRecord{RunID: id, StepID: ev.StepID, Attempt: ev.Attempt, Kind: d.Stream, Text: d.Text})
				}
			}
		}
	}
	if *jsonOut {
		if recs == nil {
			recs = []traceRecord{}
		}
		return printJSON(recs)
	}
	if len(recs) == 0 {
		fmt.Fprintf(stdout, "run %s has no agent or llm trace (tandem show %s lists its steps)\n", info.ID, info.ID)
		return nil
	}
	printTrace(stdout, styleFor(os.Stdout), recs, *hideThinking)
	return nil
}

// resultLines is how many lines of a tool result the trace prints: the last ones.
const resultLines = 12

// printTrace renders trace records as people read them: a header per step, a rule per
// turn with its counters, thinking dimmed, tool calls and results as indented blocks, each
// record as tracefmt formats it.
func printTrace(w io.Writer, s traceStyle, recs []traceRecord, hideThinking bool) {
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
func printBlock(w io.Writer, s traceStyle, rec agents.Record, b tracefmt.Block) {
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
