package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"tandem/engine"
)

func init() {
	register(command{name: "trace", summary: "print the reasoning trace of a run's agent and llm steps", run: runTrace})
}

// Terminal styling for traces; plain text when stdout is not a terminal.
type traceStyle struct{ dim, bold, reset string }

func styleFor(f *os.File) traceStyle {
	if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 && os.Getenv("NO_COLOR") == "" {
		return traceStyle{dim: "\033[2m", bold: "\033[1m", reset: "\033[0m"}
	}
	return traceStyle{}
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
				if ev.Decode(&d) == nil {
					var data any // for this printer, which reads fields by key until it formats typed records
					if raw, ok := d.Data.(json.RawMessage); ok {
						_ = json.Unmarshal(raw, &data)
					}
					recs = append(recs, traceRecord{RunID: id, StepID: ev.StepID, Attempt: ev.Attempt, Kind: d.Kind, Data: data})
				}
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

// printTrace renders trace records as people read them: a header per step, a rule per
// turn with its counters, thinking dimmed, tool calls and results as indented blocks.
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
		m, _ := r.Data.(map[string]any)
		switch r.Kind {
		case "thinking":
			if hideThinking {
				continue
			}
			if !inText {
				fmt.Fprint(w, "  "+s.dim)
			}
			fmt.Fprint(w, s.dim+indentText(r.Text))
			inText = true
		case "content":
			if !inText {
				fmt.Fprint(w, "  ")
			}
			fmt.Fprint(w, s.reset+indentText(r.Text))
			inText = true
		default:
			endText()
			printTraceRecord(w, s, r.Kind, m)
		}
	}
	endText()
}

func indentText(t string) string { return strings.ReplaceAll(t, "\n", "\n  ") }

func printTraceRecord(w io.Writer, s traceStyle, kind string, m map[string]any) {
	j := func(v any) string { b, _ := json.Marshal(v); return string(b) }
	switch kind {
	case "start":
		fmt.Fprintf(w, "  agent %v · model %v · mode %v · tools %s · max_turns %v\n", m["agent"], m["model"], m["mode"], j(m["tools"]), m["max_turns"])
		fmt.Fprintf(w, "  prompt: %v\n", m["prompt"])
	case "llm_request":
		fmt.Fprintf(w, "  model %v · schema %v\n", m["model"], m["schema"])
	case "turn":
		fmt.Fprintf(w, "%s── turn %v (%v, %v messages) ──%s\n", s.bold, m["turn"], m["mode"], m["messages"], s.reset)
	case "usage", "llm_response":
		u := m
		if inner, ok := m["usage"].(map[string]any); ok {
			u = inner
		}
		ended := ""
		if d, ok := m["done_reason"].(string); ok && d != "" {
			ended = " · ended: " + d
		}
		fmt.Fprintf(w, "  %s[%v prompt + %v output tokens · %.1f tok/s%s]%s\n", s.dim, u["prompt_tokens"], u["output_tokens"], m["tokens_per_second"], ended, s.reset)
	case "tool_call":
		fmt.Fprintf(w, "  ┌ call %v %s\n", m["name"], j(m["arguments"]))
	case "tool_result":
		label := "result"
		if e, _ := m["error"].(bool); e {
			label = "error"
		}
		res := fmt.Sprint(m["result"])
		fmt.Fprintf(w, "  └ %s of %v (%v chars):\n", label, m["name"], m["size"])
		for _, l := range lastLines(strings.TrimRight(res, "\n"), 12) {
			fmt.Fprintf(w, "    │ %s\n", l)
		}
	case "child_run":
		fmt.Fprintf(w, "  ↳ child run %v (see below)\n", m["run_id"])
	case "invalid_action", "invalid_answer":
		fmt.Fprintf(w, "  ! %s: %v\n", kind, m["error"])
	case "repair":
		fmt.Fprintf(w, "  ! repair: %v\n", m["reason"])
	case "memory":
		fmt.Fprintf(w, "  memory: session %v, %v earlier messages\n", m["session"], m["messages"])
	case "trimmed":
		fmt.Fprintf(w, "  memory trimmed: dropped %v oldest messages to fit num_ctx %v\n", m["dropped_messages"], m["num_ctx"])
	case "end":
		fmt.Fprintf(w, "%s■ end: %v%s after %v turns · %v tool calls · %v invalid actions · %v+%v tokens",
			s.bold, m["end_reason"], s.reset, m["turns"], m["tool_calls"], m["invalid_actions"], m["prompt_tokens"], m["output_tokens"])
		if d, ok := m["detail"]; ok && d != "" {
			fmt.Fprintf(w, " · %v", d)
		}
		fmt.Fprintln(w)
	default:
		fmt.Fprintf(w, "  %s %s\n", kind, j(m))
	}
}
