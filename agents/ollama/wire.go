package ollama

import (
	"encoding/json"
	"time"
)

// The JSON of the parts of Ollama's HTTP API this client uses (docs/api.md in Ollama's
// repository): /api/chat, /api/show, /api/tags, /api/ps, /api/pull and /api/version. Only
// the fields tandem reads or sends are here; the server ignores what is left out.

type chatRequest struct {
	Model     string          `json:"model"`
	Messages  []chatMessage   `json:"messages"`
	Stream    bool            `json:"stream"`
	Format    json.RawMessage `json:"format,omitempty"`
	KeepAlive string          `json:"keep_alive,omitempty"` // a Go duration, "5m0s"
	Tools     []chatTool      `json:"tools,omitempty"`
	Options   map[string]any  `json:"options"`
	Think     bool            `json:"think,omitempty"`
}

type chatMessage struct {
	Role      string         `json:"role"`
	Content   string         `json:"content"`
	Thinking  string         `json:"thinking,omitempty"`
	ToolCalls []chatToolCall `json:"tool_calls,omitempty"`
	ToolName  string         `json:"tool_name,omitempty"`
}

type chatToolCall struct {
	ID       string `json:"id,omitempty"`
	Function struct {
		Index     int            `json:"index"`
		Name      string         `json:"name"`
		Arguments map[string]any `json:"arguments"`
	} `json:"function"`
}

type chatTool struct {
	Type     string `json:"type"` // "function"
	Function struct {
		Name        string         `json:"name"`
		Description string         `json:"description,omitempty"`
		Parameters  map[string]any `json:"parameters"` // a JSON schema
	} `json:"function"`
}

// chatChunk is one line of /api/chat's NDJSON stream; the last has Done set and the counts.
type chatChunk struct {
	Message            chatMessage   `json:"message"`
	Done               bool          `json:"done"`
	DoneReason         string        `json:"done_reason"`
	PromptEvalCount    int           `json:"prompt_eval_count"`
	EvalCount          int           `json:"eval_count"`
	TotalDuration      time.Duration `json:"total_duration"` // nanoseconds
	LoadDuration       time.Duration `json:"load_duration"`
	PromptEvalDuration time.Duration `json:"prompt_eval_duration"`
	EvalDuration       time.Duration `json:"eval_duration"`
}

type showRequest struct {
	Model string `json:"model"`
}

type showResponse struct {
	Capabilities []string       `json:"capabilities"`
	Details      modelDetails   `json:"details"`
	ModelInfo    map[string]any `json:"model_info"`
}

type modelDetails struct {
	Family            string `json:"family"`
	ParameterSize     string `json:"parameter_size"`
	QuantizationLevel string `json:"quantization_level"`
}

// listResponse is the reply of /api/tags (local models) and of /api/ps (loaded ones).
type listResponse struct {
	Models []struct {
		Name    string       `json:"name"`
		Size    int64        `json:"size"`
		Details modelDetails `json:"details"`
	} `json:"models"`
}

type pullRequest struct {
	Model string `json:"model"`
}

// pullProgress is one line of /api/pull's stream.
type pullProgress struct {
	Status    string `json:"status"`
	Total     int64  `json:"total"`
	Completed int64  `json:"completed"`
}

type versionResponse struct {
	Version string `json:"version"`
}
