// Package model is tandem's model layer: one small interface for streaming chat with local
// models, implemented by the Ollama client and by a scripted fake for unit tests.
package model

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"time"
)

// Model streams one chat reply. Implementations are safe for concurrent use.
type Model interface {
	// Chat sends the request and calls onDelta (if not nil) for each content or thinking
	// delta as it arrives. On error the Response still holds what was received, with
	// Incomplete set.
	Chat(ctx context.Context, req Request, onDelta func(Delta)) (Response, error)
}

// Request is one chat call.
type Request struct {
	Model    string
	Messages []Message
	Tools    []Tool
	// Format is "json" or a JSON schema the reply must match (structured output).
	Format    json.RawMessage
	Options   Options
	Think     bool
	KeepAlive time.Duration // 0: the server's default
}

// Message is one chat message. Role is system, user, assistant or tool.
type Message struct {
	Role      string     `json:"role"`
	Content   string     `json:"content"`
	Thinking  string     `json:"thinking,omitempty"`
	ToolCalls []ToolCall `json:"tool_calls,omitempty"`
	ToolName  string     `json:"tool_name,omitempty"` // role tool: which tool answered
	// Stopped marks an assistant reply cut short on purpose (ctrl+c in the chat): what it
	// said so far, kept in the session. It is not sent to the model.
	Stopped bool `json:"stopped,omitempty"`
}

// Tool is a function the model may call, with a JSON schema for its arguments.
type Tool struct {
	Name        string         `json:"name"`
	Description string         `json:"description"`
	Parameters  map[string]any `json:"parameters"`
}

// ToolCall is the model asking for a tool.
type ToolCall struct {
	ID        string         `json:"id,omitempty"`
	Name      string         `json:"name"`
	Arguments map[string]any `json:"arguments"`
}

// Options are sampling and context options. Nil pointers and zeros leave the model's default.
type Options struct {
	Temperature *float64 `json:"temperature,omitempty"`
	Seed        *int     `json:"seed,omitempty"`
	NumCtx      int      `json:"num_ctx,omitempty"`
	NumPredict  int      `json:"num_predict,omitempty"`
}

// Delta is a piece of a streaming reply.
type Delta struct {
	Content  string
	Thinking string
	// Retry, when set, is no part of the reply: the call waits to try an unreachable
	// server again (see WithRetry).
	Retry *Retry
}

// Response is a finished (or cut) reply.
type Response struct {
	Message    Message
	Incomplete bool   // the stream ended early; Message holds what arrived
	DoneReason string // stop, length, ...
	Usage      Usage
}

// Usage is what a reply cost, as the server reports it.
type Usage struct {
	PromptTokens   int           `json:"prompt_tokens"`
	OutputTokens   int           `json:"output_tokens"`
	LoadDuration   time.Duration `json:"load_duration"`
	PromptDuration time.Duration `json:"prompt_duration"`
	EvalDuration   time.Duration `json:"eval_duration"`
	TotalDuration  time.Duration `json:"total_duration"`
}

// TokensPerSecond is the generation rate the server measured.
func (u Usage) TokensPerSecond() float64 {
	if u.EvalDuration <= 0 {
		return 0
	}
	return float64(u.OutputTokens) / u.EvalDuration.Seconds()
}

// Capabilities are what a model supports, from the server's model metadata.
type Capabilities struct {
	Completion bool `json:"completion"`
	Tools      bool `json:"tools"`
	Thinking   bool `json:"thinking"`
	// Parameters is the model's parameter count (0: unknown), from its reported size.
	Parameters int64 `json:"parameters,omitempty"`
}

// Errors callers decide on. They are wrapped in *Error with the detail a person needs.
var (
	ErrUnreachable    = errors.New("model server unreachable")
	ErrModelNotFound  = errors.New("model not found")
	ErrContextTooLong = errors.New("prompt too long for the model's context")
	ErrStreamCut      = errors.New("reply stream cut before it finished")
	ErrServer         = errors.New("model server error")
)

// Error is a model-layer error: Kind is one of the sentinels above, Msg says what to do.
type Error struct {
	Kind error
	Msg  string
	Err  error // the underlying error, if any
}

func (e *Error) Error() string { return e.Msg }

// Is lets errors.Is match the sentinel kind.
func (e *Error) Is(target error) bool { return target == e.Kind }

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

// Retryable reports whether retrying the same call may succeed.
func Retryable(err error) bool {
	return errors.Is(err, ErrUnreachable) || errors.Is(err, ErrStreamCut) || errors.Is(err, ErrServer)
}

// DefaultAgentModel is the model tandem uses unless told otherwise: Qwen2.5-Coder-0.5B-
// Instruct, the smallest model here that carries a file name into a tool call and reads an
// answer out of a tool result. scripts/ollama-setup installs it offline.
const DefaultAgentModel = "qwen2.5-coder:0.5b"

// DefaultModel is the model used when a flow or agent names none: $TANDEM_MODEL or
// DefaultAgentModel.
func DefaultModel() string {
	if m := os.Getenv("TANDEM_MODEL"); m != "" {
		return m
	}
	return DefaultAgentModel
}
