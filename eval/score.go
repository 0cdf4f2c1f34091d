package eval

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"time"

	"tandem/flows"
)

// Observation is what one case run did, read from its log: the input to every scorer.
type Observation struct {
	RunID  string
	Status string // the run's status: succeeded, failed, ...
	Error  string
	// Answer is the agent's answer (an agent target) or the flow's output as JSON (a flow
	// target, or the output itself when it is one string).
	Answer    string
	EndReason string // the last agent's end reason: answer, max_turns, loop_detected, ...
	Turns     int
	Tokens    int
	Duration  time.Duration
	ToolCalls []ToolCall
	// InvalidActions counts replies the agent runtime could not use as a tool call or answer.
	InvalidActions int
	// Workspace is the directory the run worked in, where file expectations look.
	Workspace string
	Model     string
	// Steps counts the run's steps that ran (succeeded or failed, not skipped or never
	// reached): what a flow target's case did, where an agent's has turns.
	Steps int
}

// ToolCall is one tool call an agent in the run made.
type ToolCall struct {
	Name  string         `json:"name"`
	Args  map[string]any `json:"args,omitempty"`
	Error bool           `json:"error,omitempty"` // the tool refused or failed
}

// Outcome is one expectation's verdict on a run.
type Outcome struct {
	Expect string `json:"expect"` // the expectation, described
	Pass   bool   `json:"pass"`
	Detail string `json:"detail,omitempty"` // why it failed, or the judge's reason
	// JudgeRunID is the judge's own run, for judge expectations.
	JudgeRunID string `json:"judge_run_id,omitempty"`
}

// Judge asks a model whether an answer meets a rubric; the eval runner gives one that runs
// the question as its own traced run.
type Judge interface {
	Judge(ctx context.Context, x Expectation, c *Case, o Observation) (Verdict, error)
}

// Verdict is a judge's schema-constrained reply.
type Verdict struct {
	Pass   bool
	Reason string
	RunID  string
}

// Score checks every expectation of a case against an observation. A judge error fails
// that expectation (saying why) rather than the whole case run.
func Score(ctx context.Context, c *Case, o Observation, j Judge) []Outcome {
	out := make([]Outcome, 0, len(c.Expect))
	for _, x := range c.Expect {
		oc := Outcome{Expect: x.String()}
		if x.Kind == KindJudge {
			if j == nil {
				oc.Detail = "no judge configured"
			} else if v, err := j.Judge(ctx, x, c, o); err != nil {
				oc.Detail, oc.JudgeRunID = "judge: "+err.Error(), v.RunID
			} else {
				oc.Pass, oc.Detail, oc.JudgeRunID = v.Pass, v.Reason, v.RunID
			}
		} else {
			oc.Pass, oc.Detail = Check(x, o)
		}
		out = append(out, oc)
	}
	return out
}

// answerText is the answer as a failure quotes it; an empty one says so.
func answerText(o Observation) string {
	if strings.TrimSpace(o.Answer) == "" {
		return "(no answer)"
	}
	return clip(o.Answer, 160)
}

// Check applies one (non-judge) expectation to an observation, and says why it failed.
func Check(x Expectation, o Observation) (bool, string) {
	switch x.Kind {
	case KindContains:
		if strings.Contains(o.Answer, x.Text) {
			return true, ""
		}
		return false, "the answer does not contain it: " + answerText(o)
	case KindEquals:
		if strings.TrimSpace(o.Answer) == strings.TrimSpace(x.Text) {
			return true, ""
		}
		return false, "the answer is " + strconv.Quote(clip(o.Answer, 160))
	case KindRegex:
		if x.Re != nil && x.Re.MatchString(o.Answer) {
			return true, ""
		}
		return false, "the answer does not match: " + clip(o.Answer, 160)
	case KindJSONSchema:
		if err := flows.ValidateJSON(x.Schema, o.Answer); err != nil {
			return false, "the answer " + err.Error()
		}
		return true, ""
	case KindJSONPath:
		var doc any
		if err := json.Unmarshal([]byte(o.Answer), &doc); err != nil {
			return false, "the answer is not JSON: " + clip(o.Answer, 120)
		}
		got, err := lookup(doc, x.Path)
		if err != nil {
			return false, err.Error()
		}
		if sameJSON(got, x.Value) {
			return true, ""
		}
		return false, fmt.Sprintf("%s is %s", x.Path, compactJSON(got))
	case KindToolCalled:
		for _, c := range o.ToolCalls {
			if c.Name == x.Tool && argsMatch(x.Args, c.Args) {
				return true, ""
			}
		}
		return false, "calls made: " + describeCalls(o.ToolCalls)
	case KindToolNotCalled:
		for _, c := range o.ToolCalls {
			if c.Name == x.Tool {
				return false, fmt.Sprintf("called %s %s", c.Name, compactJSON(c.Args))
			}
		}
		return true, ""
	case KindFile:
		return checkFile(x, o.Workspace)
	case KindEndReason:
		if o.EndReason == x.Text {
			return true, ""
		}
		return false, "ended with " + orNone(o.EndReason)
	case KindMaxTurns:
		return within(float64(o.Turns), x.Limit, "turns")
	case KindMaxTokens:
		return within(float64(o.Tokens), x.Limit, "tokens")
	case KindMaxSeconds:
		return within(o.Duration.Seconds(), x.Limit, "seconds")
	}
	return false, "unknown expectation " + string(x.Kind)
}

func within(got, limit float64, unit string) (bool, string) {
	if got <= limit {
		return true, ""
	}
	return false, fmt.Sprintf("took %s %s", strconv.FormatFloat(got, 'f', -1, 64), unit)
}

func orNone(s string) string {
	if s == "" {
		return "no end reason (not an agent run?)"
	}
	return s
}

func checkFile(x Expectation, ws string) (bool, string) {
	if ws == "" {
		return false, "the run has no workspace"
	}
	root, err := os.OpenRoot(ws)
	if err != nil {
		return false, "open workspace: " + err.Error()
	}
	defer root.Close()
	b, err := root.ReadFile(filepath.Clean(x.File))
	if errors.Is(err, os.ErrNotExist) {
		if !x.Exists {
			return true, ""
		}
		return false, x.File + " does not exist"
	}
	if err != nil {
		return false, "read " + x.File + ": " + err.Error()
	}
	switch {
	case !x.Exists:
		return false, x.File + " exists"
	case x.Equals != nil:
		if strings.TrimRight(string(b), " \t\r\n") == strings.TrimRight(*x.Equals, " \t\r\n") {
			return true, ""
		}
		return false, x.File + " holds " + strconv.Quote(clip(string(b), 120))
	case x.Re != nil:
		if x.Re.Match(b) {
			return true, ""
		}
		return false, x.File + " does not match: " + strconv.Quote(clip(string(b), 120))
	}
	return true, ""
}

// argsMatch reports whether every wanted argument is in got with an equal value; numbers
// and strings compare by their text, so {line: 3} matches "3".
func argsMatch(want, got map[string]any) bool {
	for k, w := range want {
		g, ok := got[k]
		if !ok {
			return false
		}
		if !sameJSON(w, g) && fmt.Sprint(w) != fmt.Sprint(g) {
			return false
		}
	}
	return true
}

func describeCalls(calls []ToolCall) string {
	if len(calls) == 0 {
		return "none"
	}
	parts := make([]string, 0, len(calls))
	for _, c := range calls {
		parts = append(parts, c.Name+" "+compactJSON(c.Args))
	}
	return clip(strings.Join(parts, ", "), 200)
}

// sameJSON compares two values as their JSON forms decode (so 3 == 3.0).
func sameJSON(a, b any) bool {
	var x, y any
	ab, err1 := json.Marshal(a)
	bb, err2 := json.Marshal(b)
	if err1 != nil || err2 != nil || json.Unmarshal(ab, &x) != nil || json.Unmarshal(bb, &y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}

// splitPath splits a dotted path with [n] indexes (a.b[0].c) into keys and indexes.
func splitPath(p string) ([]any, error) {
	var parts []any
	for _, seg := range strings.Split(p, ".") {
		name, rest, _ := strings.Cut(seg, "[")
		if name == "" && rest == "" {
			return nil, fmt.Errorf("empty segment in %q", p)
		}
		if name != "" {
			parts = append(parts, name)
		}
		for rest != "" {
			idx, tail, ok := strings.Cut(rest, "]")
			n, err := strconv.Atoi(idx)
			if !ok || err != nil || n < 0 {
				return nil, fmt.Errorf("bad index [%s in %q; use a.b[0]", rest, p)
			}
			parts = append(parts, n)
			if tail == "" {
				break
			}
			if !strings.HasPrefix(tail, "[") {
				return nil, fmt.Errorf("unexpected %q after ] in %q", tail, p)
			}
			rest = tail[1:]
		}
	}
	return parts, nil
}

// lookup follows a path through decoded JSON.
func lookup(doc any, path string) (any, error) {
	parts, err := splitPath(path)
	if err != nil {
		return nil, err
	}
	cur := doc
	for i, p := range parts {
		switch k := p.(type) {
		case string:
			m, ok := cur.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("%s: not an object", joinPath(parts[:i+1]))
			}
			if cur, ok = m[k]; !ok {
				return nil, fmt.Errorf("%s: no such key", joinPath(parts[:i+1]))
			}
		case int:
			l, ok := cur.([]any)
			if !ok || k >= len(l) {
				return nil, fmt.Errorf("%s: no such item", joinPath(parts[:i+1]))
			}
			cur = l[k]
		}
	}
	return cur, nil
}

func joinPath(parts []any) string {
	var b strings.Builder
	for _, p := range parts {
		switch k := p.(type) {
		case string:
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(k)
		case int:
			fmt.Fprintf(&b, "[%d]", k)
		}
	}
	return b.String()
}

func compactJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

func clip(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n]) + "…"
	}
	return s
}
