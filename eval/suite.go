// Package eval runs suites of cases against an agent or a flow and scores what each run did:
// its answer, its tool calls, the files it left, how it ended and what it cost. Every case run
// is an ordinary durable tandem run, linked to an eval run that records the scores, so a
// failing case can be read with tandem show and tandem trace, and two eval runs compared.
package eval

import (
	"fmt"
	"regexp"
	"strings"

	"tandem/flows"
)

// Suite is a parsed, validated eval file.
type Suite struct {
	Name        string
	Description string
	// Target is the agent or flow under test (absolute path); exactly one of Agent and
	// Flow is set.
	Target string
	Agent  *flows.Agent
	Flow   *flows.Flow
	// Models is the model matrix (agent targets only); empty means the agent's own model.
	Models []string
	Repeat int // runs per case and model, at least 1
	// JudgeModel is the model judge expectations use when they name none; "" means the
	// model of the run being judged.
	JudgeModel string
	Cases      []*Case
	Path, Dir  string
	Source     []byte
}

// Case is one input with what its run must do.
type Case struct {
	ID          string
	Description string
	Prompt      string         // agent targets
	Inputs      map[string]any // flow targets
	// Workspace is a fixture directory (absolute) copied fresh for each run; "" runs in the
	// target's own workspace.
	Workspace string
	Expect    []Expectation
	Pos       flows.Pos
}

// Kind names what an expectation checks.
type Kind string

// Expectation kinds.
const (
	KindContains      Kind = "contains"
	KindRegex         Kind = "regex"
	KindEquals        Kind = "equals"
	KindJSONSchema    Kind = "json_schema"
	KindJSONPath      Kind = "json_path"
	KindToolCalled    Kind = "tool_called"
	KindToolNotCalled Kind = "tool_not_called"
	KindFile          Kind = "file"
	KindEndReason     Kind = "end_reason"
	KindMaxTurns      Kind = "max_turns"
	KindMaxTokens     Kind = "max_tokens"
	KindMaxSeconds    Kind = "max_seconds"
	KindJudge         Kind = "judge"
)

var expectKinds = []string{string(KindContains), string(KindRegex), string(KindEquals), string(KindJSONSchema),
	string(KindJSONPath), string(KindToolCalled), string(KindToolNotCalled), string(KindFile), string(KindEndReason),
	string(KindMaxTurns), string(KindMaxTokens), string(KindMaxSeconds), string(KindJudge)}

// Expectation is one check on a case's run. Which fields are set depends on Kind.
type Expectation struct {
	Kind Kind
	Text string         // contains, equals, end_reason; the pattern of regex
	Re   *regexp.Regexp // regex; file matches
	// Schema is the JSON schema of json_schema.
	Schema map[string]any
	// Path and Value are json_path's: a dotted path (a.b[0].c) and the value it must hold.
	Path  string
	Value any
	// Tool and Args are tool_called's and tool_not_called's: the tool's name and, for
	// tool_called, arguments the call must have (others may be present too).
	Tool string
	Args map[string]any
	// File is file's path relative to the run's workspace; Exists (false: must be absent),
	// Equals (whole content, trailing whitespace ignored) and Re check it.
	File   string
	Exists bool
	Equals *string
	Limit  float64 // max_turns, max_tokens, max_seconds
	// Rubric and Model are judge's: what the answer must do, and the judging model ("" the
	// suite's judge_model, then the run's model).
	Rubric string
	Model  string
	Pos    flows.Pos
}

// String describes the expectation in a line, for reports.
func (x Expectation) String() string {
	switch x.Kind {
	case KindContains, KindEquals, KindEndReason, KindRegex:
		return fmt.Sprintf("%s %q", x.Kind, x.Text)
	case KindJSONSchema:
		return "json_schema"
	case KindJSONPath:
		return fmt.Sprintf("json_path %s = %s", x.Path, compactJSON(x.Value))
	case KindToolCalled:
		if len(x.Args) > 0 {
			return fmt.Sprintf("tool_called %s %s", x.Tool, compactJSON(x.Args))
		}
		return "tool_called " + x.Tool
	case KindToolNotCalled:
		return "tool_not_called " + x.Tool
	case KindFile:
		switch {
		case x.Equals != nil:
			return fmt.Sprintf("file %s equals %q", x.File, *x.Equals)
		case x.Re != nil:
			return fmt.Sprintf("file %s matches %q", x.File, x.Re.String())
		case !x.Exists:
			return fmt.Sprintf("file %s absent", x.File)
		}
		return fmt.Sprintf("file %s exists", x.File)
	case KindMaxTurns, KindMaxTokens, KindMaxSeconds:
		return fmt.Sprintf("%s %s", x.Kind, strings.TrimSuffix(strings.TrimRight(fmt.Sprintf("%.3f", x.Limit), "0"), "."))
	case KindJudge:
		return fmt.Sprintf("judge %q", x.Rubric)
	}
	return string(x.Kind)
}
