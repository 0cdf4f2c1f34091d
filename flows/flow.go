// Package flows defines tandem's flow and agent files: parsing YAML with positions, validation
// that reports every problem as file:line:col, templates and expressions.
package flows

import (
	"time"
)

// Pos is a position in a source file, 1-based.
type Pos struct {
	Line int `json:"line"`
	Col  int `json:"col"`
}

// Kind names what a step does.
type Kind string

// Step kinds.
const (
	KindShell    Kind = "shell"    // sh -c with a template
	KindRun      Kind = "run"      // argv, no shell
	KindFlow     Kind = "flow"     // a sub-flow, a child run
	KindLLM      Kind = "llm"      // one model call
	KindAgent    Kind = "agent"    // an agent run
	KindWait     Kind = "wait"     // waits for an external event
	KindSleep    Kind = "sleep"    // a durable timer
	KindApproval Kind = "approval" // waits for a person
)

// Flow is a parsed, validated flow file.
type Flow struct {
	Name        string
	Description string
	Path        string // absolute path of the file
	Dir         string // directory of the file; shell and run steps start there
	Inputs      []Input
	Steps       []*Step
	// Outputs maps output names to templates rendered when the run succeeds. When empty, the
	// flow's output is an object of the outputs of its leaf steps (steps nothing needs).
	Outputs map[string]string
	outputs map[string]fieldPos // where each output's template is
	// Source is the file's bytes as parsed, recorded with each run so resume and fork use
	// the definition the run started with.
	Source []byte
	// Warnings are problems that do not stop the flow from running (raw data in a shell
	// command, say); tandem validate prints them.
	Warnings Diagnostics
}

// Input is a typed flow input.
type Input struct {
	Name        string
	Type        string // string, number, integer, boolean, object, array
	Description string
	Default     any
	HasDefault  bool
	Required    bool // true when no default is given, unless required: false
	Enum        []any
	// Secret inputs never enter the run's log: steps get them as $TANDEM_SECRET_NAME and
	// templates render them as a reference to that variable (see SecretRef).
	Secret bool
	Pos    Pos
}

// Retry is a step's retry policy.
type Retry struct {
	MaxAttempts int           // total attempts, >= 1
	Backoff     time.Duration // delay before the second attempt; doubles each time, with jitter
	MaxBackoff  time.Duration // cap on the delay; 0 means 1 minute
}

// LLMSpec configures a single model call step.
type LLMSpec struct {
	Model   string
	System  string // template
	Prompt  string // template
	Schema  map[string]any
	Options map[string]any // temperature, seed, num_ctx, num_predict
	Think   bool
}

// AgentSpec configures an agent step.
type AgentSpec struct {
	File    string // agent file, relative to the flow's directory
	Prompt  string // template
	Schema  map[string]any
	Session string // template; a memory session the agent continues ("" = none)
	// Model is a template naming the model to run the agent on instead of its file's (""
	// after rendering: the agent's own).
	Model string
}

// WaitSpec configures a wait step: the first of Events to arrive resolves it.
type WaitSpec struct {
	Events  []string
	Timeout time.Duration // 0: no timeout
}

// SleepSpec configures a durable timer: either a duration from the step's start or a fixed time.
type SleepSpec struct {
	Duration time.Duration
	Until    time.Time
}

// ApprovalSpec configures a human approval.
type ApprovalSpec struct {
	Prompt  string // template
	Timeout time.Duration
}

// Join says when a step with several needs may run.
type Join string

// Joins.
const (
	// JoinAll runs a step once every need succeeded (or failed with continue_on_error); a need
	// that failed or was skipped skips it.
	JoinAll Join = "all"
	// JoinAny runs a step once every need is finished and at least one succeeded: the merge
	// after an exclusive choice made with when:. It is skipped only when none succeeded.
	JoinAny Join = "any"
)

// ModelTimeouts are a model step's stall timeouts (model_timeouts: { header: 10m, idle: 90s }).
type ModelTimeouts struct {
	Header time.Duration // until the model server's first reply
	Idle   time.Duration // between two deltas of a reply
}

// Step is one node of a flow's DAG.
type Step struct {
	ID          string
	Description string
	Kind        Kind
	Needs       []string
	Join        Join   // how the needs combine: JoinAll (the default) or JoinAny
	When        string // expression; false skips the step
	Map         string // expression yielding a list; the step runs once per item
	Retry       Retry
	Timeout     time.Duration // per attempt; 0 means none
	Env         map[string]string
	// ContinueOnError lets dependents run after this step fails; its output is then empty.
	ContinueOnError bool
	// ModelTimeouts bound how long an llm: or agent: step's model calls may go without an
	// answer; zero fields take the environment's or the defaults.
	ModelTimeouts ModelTimeouts

	Shell    string            // KindShell
	Run      []string          // KindRun
	Flow     string            // KindFlow: path relative to the flow's directory
	With     map[string]string // KindFlow: templated inputs for the sub-flow
	LLM      *LLMSpec          // KindLLM
	Agent    *AgentSpec        // KindAgent
	Wait     *WaitSpec         // KindWait
	Sleep    *SleepSpec        // KindSleep
	Approval *ApprovalSpec     // KindApproval

	Pos Pos // position of the step's "id" key (or the step mapping)
	// fields are the positions of the step's keys and values, for problems in one of them.
	fields map[string]fieldPos

	// Refs are the steps this step's templates and expressions read (set by validation), so
	// the engine gives a step only the outputs it uses; RefsAll when it reads .steps whole.
	Refs    []string
	RefsAll bool
	// InputRefs are the inputs the step's templates and expressions read (set by
	// validation), so a fork with a changed input re-runs the steps that read it;
	// InputsAll when it reads .inputs whole or through a variable the check cannot follow.
	InputRefs []string
	InputsAll bool
}

// StepByIndex returns the step with that id using a prepared id -> index map, or nil.
func (f *Flow) StepByIndex(index map[string]int, id string) *Step {
	i, ok := index[id]
	if !ok || i >= len(f.Steps) {
		return nil
	}
	return f.Steps[i]
}

// StepByID returns the step with that id, or nil.
func (f *Flow) StepByID(id string) *Step {
	for _, s := range f.Steps {
		if s.ID == id {
			return s
		}
	}
	return nil
}
