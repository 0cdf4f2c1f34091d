package agents

import (
	"encoding/json"
	"fmt"

	"tandem/agents/model"
)

// An agent's trace is a sequence of typed records. The runner hands them to its Tracer as
// values; the engine logs each as a StepTrace event {"kind": ..., "data": ...}, and Decode
// turns either form back into the value. The JSON field names are the log's format: a
// record may gain fields, but a field is never renamed, so old logs still decode.

// Kind names a kind of trace record: the "kind" of a logged StepTrace event.
type Kind string

// The kinds of trace records.
const (
	KindStart          Kind = "start"           // Start
	KindMemory         Kind = "memory"          // MemoryLoaded
	KindTrimmed        Kind = "trimmed"         // Trimmed
	KindTurn           Kind = "turn"            // Turn
	KindRequest        Kind = "request"         // Request
	KindRetry          Kind = "retry"           // Retry
	KindForceAnswer    Kind = "force_answer"    // ForceAnswer
	KindLookFirst      Kind = "look_first"      // LookFirst
	KindToolPolicy     Kind = "tool_policy"     // ToolPolicy
	KindRejectedAnswer Kind = "rejected_answer" // RejectedAnswer
	KindUsage          Kind = "usage"           // Usage
	KindInvalidAction  Kind = "invalid_action"  // InvalidAction
	KindInvalidAnswer  Kind = "invalid_answer"  // InvalidAnswer
	KindRepair         Kind = "repair"          // Repair
	KindTextToolCall   Kind = "text_tool_call"  // TextToolCall
	KindToolCall       Kind = "tool_call"       // ToolCall
	KindToolResult     Kind = "tool_result"     // ToolResult
	KindRepeatedCall   Kind = "repeated_call"   // RepeatedCall
	KindEnd            Kind = "end"             // End
	KindChildRun       Kind = "child_run"       // ChildRun
	KindLLMRequest     Kind = "llm_request"     // LLMRequest
	KindLLMResponse    Kind = "llm_response"    // LLMResponse
	KindModelRetry     Kind = "model_retry"     // ModelRetry

	// Streamed text (Text): logged as step output, not as trace records.
	KindContent  Kind = "content"  // the model's reply as it streams
	KindThinking Kind = "thinking" // the model's reasoning as it streams
	KindAnswer   Kind = "answer"   // a fallback reply's answer, decoded from its JSON as it streams
)

// Record is one trace record.
type Record interface {
	Kind() Kind
}

// Start opens an agent run: who runs, on what, with which tools and budgets.
type Start struct {
	Agent      string   `json:"agent"`
	Model      string   `json:"model"`
	Mode       string   `json:"mode"` // chat, native or fallback
	ModeReason string   `json:"mode_reason,omitempty"`
	Tools      []string `json:"tools"`
	MaxTurns   int      `json:"max_turns"`
	MaxTokens  int      `json:"max_tokens"`
	Prompt     string   `json:"prompt"`
}

// MemoryLoaded says how many messages of a memory session were loaded.
type MemoryLoaded struct {
	Session  string `json:"session"`
	Messages int    `json:"messages"`
	// DroppedStopped counts the messages of a stopped attempt at this same prompt that were
	// left out (the prompt and its stopped reply), so a resumed run asks it once.
	DroppedStopped int `json:"dropped_stopped,omitempty"`
}

// Trimmed says the oldest messages were dropped to fit the model's context.
type Trimmed struct {
	DroppedMessages int `json:"dropped_messages"`
	Kept            int `json:"kept"`
	NumCtx          int `json:"num_ctx"`
}

// Turn starts a model call of the agent loop.
type Turn struct {
	Turn     int    `json:"turn"`
	Mode     string `json:"mode"`
	Messages int    `json:"messages"`
}

// Request is what the model saw at a turn, recorded without repeating the request before
// it: the first Base messages are the previous request's conversation, Messages the ones
// after them (all of them at the first turn), Total the sum. SameTools and SameFormat mean
// the tools and the reply format were the previous request's; otherwise Tools and Format are
// this request's (none when empty). A Conversation puts the whole request back together.
type Request struct {
	Turn       int             `json:"turn"`
	Base       int             `json:"base"`
	Messages   []model.Message `json:"messages"`
	Total      int             `json:"total"`
	SameTools  bool            `json:"same_tools,omitempty"`
	Tools      []model.Tool    `json:"tools,omitempty"`
	SameFormat bool            `json:"same_format,omitempty"`
	Format     json.RawMessage `json:"format,omitempty"`
}

// Retry says the turn asks again after an invalid reply, and how it samples.
type Retry struct {
	Turn               int      `json:"turn"`
	Attempt            int      `json:"attempt"`
	HalvedStringBudget int      `json:"halved_string_budget"`
	Reason             string   `json:"reason"`
	Temperature        *float64 `json:"temperature,omitempty"`
	Seed               *int     `json:"seed,omitempty"`
}

// ForceAnswer says the turn may only answer (the last call repeated an earlier one).
type ForceAnswer struct {
	Turn   int    `json:"turn"`
	Reason string `json:"reason"`
}

// LookFirst says the turn may only call a read-only tool: the task names workspace paths
// that exist, and nothing was looked at yet.
type LookFirst struct {
	Turn   int      `json:"turn"`
	Named  []string `json:"named"`
	Tools  []string `json:"tools"`
	Reason string   `json:"reason"`
}

// ToolPolicy says, at the start of a run, which tools the task does not get and where the
// tools that write files may write (see asks.go).
type ToolPolicy struct {
	Withheld     []string `json:"withheld,omitempty"`
	WriteTargets []string `json:"write_targets,omitempty"`
	Reason       string   `json:"reason"`
}

// RejectedAnswer is a well-formed answer the runtime did not take (it is only a tool's
// name); the turn is retried. It is not an invalid action: the reply was a valid JSON
// action, just not an answer to the task.
type RejectedAnswer struct {
	Turn   int    `json:"turn"`
	Answer string `json:"answer"`
	Reason string `json:"reason"`
}

// Usage is what a model call cost.
type Usage struct {
	Turn            int     `json:"turn"`
	PromptTokens    int     `json:"prompt_tokens"`
	OutputTokens    int     `json:"output_tokens"`
	EvalMS          int64   `json:"eval_ms"`
	TotalMS         int64   `json:"total_ms,omitempty"`  // load, prompt and generation; absent in old logs
	LoadMS          int64   `json:"load_ms,omitempty"`   // loading the model, when this call had to
	PromptMS        int64   `json:"prompt_ms,omitempty"` // reading the prompt
	TokensPerSecond float64 `json:"tokens_per_second"`
	DoneReason      string  `json:"done_reason,omitempty"`
}

// InvalidAction is a fallback reply that is not a valid action.
type InvalidAction struct {
	Turn       int    `json:"turn"`
	Error      string `json:"error"`
	Content    string `json:"content"`
	DoneReason string `json:"done_reason"`
	Cut        bool   `json:"cut"`
}

// InvalidAnswer is an answer that does not match the output schema.
type InvalidAnswer struct {
	Turn   int    `json:"turn"`
	Error  string `json:"error"`
	Answer string `json:"answer"`
}

// Repair says a native reply looked like a broken tool call and the turn is asked again in
// the JSON action format.
type Repair struct {
	Turn    int    `json:"turn"`
	Reason  string `json:"reason"`
	Content string `json:"content"`
}

// TextToolCall says a native reply was a tool call written as text, taken as the call.
type TextToolCall struct {
	Turn   int    `json:"turn"`
	Name   string `json:"name"`
	Reason string `json:"reason"`
}

// ToolCall is the model calling a tool.
type ToolCall struct {
	Turn      int            `json:"turn"`
	ID        string         `json:"id"`
	Name      string         `json:"name"`
	Arguments map[string]any `json:"arguments"`
}

// ToolResult is what a tool returned. Result is cut at maxResultChars; Size is the whole
// result's length in bytes.
type ToolResult struct {
	Turn             int    `json:"turn"`
	ID               string `json:"id"`
	Name             string `json:"name"`
	Error            bool   `json:"error"`
	InvalidArguments bool   `json:"invalid_arguments,omitempty"`
	Result           string `json:"result"`
	Size             int    `json:"size"`
	Truncated        bool   `json:"truncated,omitempty"`
	DurationMS       int64  `json:"duration_ms,omitempty"`
}

// RepeatedCall says a call repeats one made before with the same arguments; Times counts
// the calls so far, this one included.
type RepeatedCall struct {
	Turn      int            `json:"turn"`
	Name      string         `json:"name"`
	Arguments map[string]any `json:"arguments"`
	Times     int            `json:"times"`
}

// End is how the agent run ended, with its answer or why it stopped.
type End struct {
	Result
}

// Stopped reports whether a guard or a budget stopped the agent (not an answer, not an
// error of the model call).
func (e End) Stopped() bool { return e.EndReason != EndAnswer && e.EndReason != EndError }

// ChildRun names the run a flow tool or an agent tool started.
type ChildRun struct {
	Tool  string `json:"tool"`
	RunID string `json:"run_id"`
}

// LLMRequest is the call of an llm: step.
type LLMRequest struct {
	Model    string          `json:"model"`
	Messages []model.Message `json:"messages"`
	Schema   bool            `json:"schema"`
}

// LLMResponse is what an llm: step's call cost and how it ended.
type LLMResponse struct {
	Model           string      `json:"model"`
	Usage           model.Usage `json:"usage"`
	DoneReason      string      `json:"done_reason"`
	Incomplete      bool        `json:"incomplete"`
	TokensPerSecond float64     `json:"tokens_per_second"`
}

// Text is streamed text (content, thinking or a decoded answer), for readers that take the
// log's step output and the trace records as one sequence.
type Text struct {
	Stream Kind   `json:"stream"`
	Text   string `json:"text"`
}

// ModelRetry is a model call waiting to try a server it could not reach again (see
// model.WithRetry): retry Retry of Of, after WaitMS.
type ModelRetry struct {
	Message string `json:"message"` // as people read it: "ollama unreachable, retrying in 2s (1/3)"
	Retry   int    `json:"retry"`
	Of      int    `json:"of"`
	WaitMS  int64  `json:"wait_ms"`
	Error   string `json:"error,omitempty"` // why the last try failed
}

// ModelRetryOf is the trace record of a model call's retry notice.
func ModelRetryOf(r model.Retry) ModelRetry {
	m := ModelRetry{Message: r.String(), Retry: r.N, Of: r.Of, WaitMS: r.Wait.Milliseconds()}
	if r.Err != nil {
		m.Error = r.Err.Error()
	}
	return m
}

// Unknown is a record of a kind this version does not know, kept as it was logged.
type Unknown struct {
	Type Kind            `json:"-"`
	Data json.RawMessage `json:"data"`
}

// Kind implements Record.
func (Start) Kind() Kind          { return KindStart }
func (MemoryLoaded) Kind() Kind   { return KindMemory }
func (Trimmed) Kind() Kind        { return KindTrimmed }
func (Turn) Kind() Kind           { return KindTurn }
func (Request) Kind() Kind        { return KindRequest }
func (Retry) Kind() Kind          { return KindRetry }
func (ForceAnswer) Kind() Kind    { return KindForceAnswer }
func (LookFirst) Kind() Kind      { return KindLookFirst }
func (ToolPolicy) Kind() Kind     { return KindToolPolicy }
func (RejectedAnswer) Kind() Kind { return KindRejectedAnswer }
func (Usage) Kind() Kind          { return KindUsage }
func (InvalidAction) Kind() Kind  { return KindInvalidAction }
func (InvalidAnswer) Kind() Kind  { return KindInvalidAnswer }
func (Repair) Kind() Kind         { return KindRepair }
func (TextToolCall) Kind() Kind   { return KindTextToolCall }
func (ToolCall) Kind() Kind       { return KindToolCall }
func (ToolResult) Kind() Kind     { return KindToolResult }
func (RepeatedCall) Kind() Kind   { return KindRepeatedCall }
func (End) Kind() Kind            { return KindEnd }
func (ChildRun) Kind() Kind       { return KindChildRun }
func (LLMRequest) Kind() Kind     { return KindLLMRequest }
func (LLMResponse) Kind() Kind    { return KindLLMResponse }
func (ModelRetry) Kind() Kind     { return KindModelRetry }
func (t Text) Kind() Kind         { return t.Stream }
func (u Unknown) Kind() Kind      { return u.Type }

// decoders decode the JSON of each logged kind.
var decoders = map[Kind]func([]byte) (Record, error){
	KindStart:          decodeAs[Start],
	KindMemory:         decodeAs[MemoryLoaded],
	KindTrimmed:        decodeAs[Trimmed],
	KindTurn:           decodeAs[Turn],
	KindRequest:        decodeAs[Request],
	KindRetry:          decodeAs[Retry],
	KindForceAnswer:    decodeAs[ForceAnswer],
	KindLookFirst:      decodeAs[LookFirst],
	KindToolPolicy:     decodeAs[ToolPolicy],
	KindRejectedAnswer: decodeAs[RejectedAnswer],
	KindUsage:          decodeAs[Usage],
	KindInvalidAction:  decodeAs[InvalidAction],
	KindInvalidAnswer:  decodeAs[InvalidAnswer],
	KindRepair:         decodeAs[Repair],
	KindTextToolCall:   decodeAs[TextToolCall],
	KindToolCall:       decodeAs[ToolCall],
	KindToolResult:     decodeAs[ToolResult],
	KindRepeatedCall:   decodeAs[RepeatedCall],
	KindEnd:            decodeAs[End],
	KindChildRun:       decodeAs[ChildRun],
	KindLLMRequest:     decodeAs[LLMRequest],
	KindLLMResponse:    decodeAs[LLMResponse],
	KindModelRetry:     decodeAs[ModelRetry],
}

func decodeAs[T Record](raw []byte) (Record, error) {
	var v T
	err := json.Unmarshal(raw, &v)
	return v, err
}

// Decode turns a trace record into its typed value, whether it is live (data is the value
// the runner traced, returned as it is) or logged (data is its JSON, as json.RawMessage or
// []byte, or that JSON decoded into maps). A kind this version does not know decodes to
// Unknown; data that does not fit its kind is an error.
func Decode(kind string, data any) (Record, error) {
	if r, ok := data.(Record); ok && r.Kind() == Kind(kind) {
		return r, nil
	}
	var raw []byte
	switch d := data.(type) {
	case json.RawMessage:
		raw = d
	case []byte:
		raw = d
	case nil:
		raw = []byte("{}")
	default:
		b, err := json.Marshal(d)
		if err != nil {
			return nil, fmt.Errorf("decode %s record: %w", kind, err)
		}
		raw = b
	}
	if len(raw) == 0 || string(raw) == "null" {
		raw = []byte("{}")
	}
	mk, ok := decoders[Kind(kind)]
	if !ok {
		return Unknown{Type: Kind(kind), Data: append(json.RawMessage(nil), raw...)}, nil
	}
	r, err := mk(raw)
	if err != nil {
		return nil, fmt.Errorf("decode %s record: %w", kind, err)
	}
	return r, nil
}
