package ollama

import (
	"tandem/agents/model"

	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"syscall"
	"time"
)

// DefaultHost is where Ollama listens unless OLLAMA_HOST says otherwise.
const DefaultHost = "127.0.0.1:11434"

// Client is the Model backed by an Ollama server, spoken to over its HTTP API (wire.go has
// the JSON of the calls it makes).
type Client struct {
	http *http.Client
	base *url.URL
	// Attempts and Backoff govern retries of transient failures that happen before any
	// token arrived (connection refused, 5xx). A reply that started streaming is never
	// retried: its deltas were already delivered.
	Attempts int
	Backoff  time.Duration
	caps     sync.Map // model name -> Capabilities
}

var _ model.Model = (*Client)(nil)

// New returns a client for the server at host ("127.0.0.1:11434" or a URL).
func New(host string) (*Client, error) {
	base, err := parseHost(host)
	if err != nil {
		return nil, err
	}
	// No overall timeout: replies stream for as long as the caller's context allows.
	hc := &http.Client{Transport: &http.Transport{Proxy: nil, DialContext: (&net.Dialer{Timeout: 5 * time.Second}).DialContext}}
	return &Client{http: hc, base: base, Attempts: 3, Backoff: 250 * time.Millisecond}, nil
}

// FromEnvironment returns a client for $OLLAMA_HOST, or the default local server.
func FromEnvironment() (*Client, error) {
	return New(os.Getenv("OLLAMA_HOST"))
}

func parseHost(host string) (*url.URL, error) {
	host = strings.TrimSpace(host)
	if host == "" {
		host = DefaultHost
	}
	if !strings.Contains(host, "://") {
		host = "http://" + host
	}
	u, err := url.Parse(host)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("OLLAMA_HOST %q is not a host:port or URL", host)
	}
	if u.Port() == "" {
		u.Host = net.JoinHostPort(u.Hostname(), "11434")
	}
	return u, nil
}

// Host is the server's base URL.
func (o *Client) Host() string { return o.base.String() }

// Chat streams one reply.
func (o *Client) Chat(ctx context.Context, req model.Request, onDelta func(model.Delta)) (model.Response, error) {
	areq := toAPIRequest(req)
	attempts := max(o.Attempts, 1)
	for attempt := 1; ; attempt++ {
		var resp model.Response
		resp.Message.Role = "assistant"
		started, done := false, false
		err := o.stream(ctx, "/api/chat", areq, func(line []byte) error {
			var r chatChunk
			if err := json.Unmarshal(line, &r); err != nil {
				return fmt.Errorf("a line of the reply: %w", err)
			}
			m := r.Message
			if m.Content != "" || m.Thinking != "" {
				started = true
				resp.Message.Content += m.Content
				resp.Message.Thinking += m.Thinking
				if onDelta != nil {
					onDelta(model.Delta{Content: m.Content, Thinking: m.Thinking})
				}
			}
			for _, tc := range m.ToolCalls {
				started = true
				resp.Message.ToolCalls = append(resp.Message.ToolCalls, fromAPIToolCall(tc))
			}
			if r.Done {
				done = true
				resp.DoneReason = r.DoneReason
				resp.Usage = model.Usage{PromptTokens: r.PromptEvalCount, OutputTokens: r.EvalCount,
					LoadDuration: r.LoadDuration, PromptDuration: r.PromptEvalDuration,
					EvalDuration: r.EvalDuration, TotalDuration: r.TotalDuration}
			}
			return nil
		})
		if err == nil && done {
			return resp, nil
		}
		if err == nil && ctx.Err() != nil {
			// A cancelled request ends the stream quietly.
			err = fmt.Errorf("chat with %s: %w", req.Model, ctx.Err())
		} else if err == nil {
			err = errorf(model.ErrStreamCut, nil, "the reply from %s was cut after %d characters (the server closed the stream); what arrived is kept", req.Model, len(resp.Message.Content))
		} else {
			err = o.classify(ctx, err, req.Model, started)
		}
		resp.Incomplete = true
		if started || attempt >= attempts || !retryBeforeStart(err) || ctx.Err() != nil {
			return resp, err
		}
		select {
		case <-ctx.Done():
			return resp, fmt.Errorf("chat with %s: %w", req.Model, ctx.Err())
		case <-time.After(o.Backoff << (attempt - 1)):
		}
	}
}

func retryBeforeStart(err error) bool {
	return errors.Is(err, model.ErrUnreachable) || errors.Is(err, model.ErrServer)
}

// classify turns client errors into the model layer's errors.
func (o *Client) classify(ctx context.Context, err error, name string, started bool) error {
	if ctx.Err() != nil {
		return fmt.Errorf("chat with %s: %w", name, ctx.Err())
	}
	var se statusError
	if errors.As(err, &se) {
		msg := strings.ToLower(se.Message)
		switch {
		case se.StatusCode == http.StatusNotFound || strings.Contains(msg, "not found"):
			return errorf(model.ErrModelNotFound, err, "model %q not found on %s: run `ollama pull %s`", name, o.base, name)
		case strings.Contains(msg, "context") && (strings.Contains(msg, "length") || strings.Contains(msg, "too long") || strings.Contains(msg, "exceed")):
			return errorf(model.ErrContextTooLong, err, "the prompt is too long for %s's context: shorten it or raise num_ctx (%s)", name, se.Message)
		case se.StatusCode >= 500:
			return errorf(model.ErrServer, err, "Ollama at %s failed (%d): %s", o.base, se.StatusCode, se.Message)
		}
		return errorf(model.ErrServer, err, "Ollama at %s refused the request (%d): %s", o.base, se.StatusCode, se.Message)
	}
	if isUnreachable(err) {
		host := "OLLAMA_HOST unset, so the default"
		if h := os.Getenv("OLLAMA_HOST"); h != "" {
			host = "OLLAMA_HOST=" + h
		}
		return errorf(model.ErrUnreachable, err, "cannot reach Ollama at %s: is `ollama serve` running? (%s)", o.base, host)
	}
	if started {
		return errorf(model.ErrStreamCut, err, "the reply from %s was cut mid-stream (%v); what arrived is kept", name, err)
	}
	return errorf(model.ErrServer, err, "unexpected reply from Ollama at %s: %v", o.base, err)
}

func isUnreachable(err error) bool {
	var oe *net.OpError
	return errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		(errors.As(err, &oe) && oe.Op == "dial")
}

func toAPIRequest(req model.Request) *chatRequest {
	areq := &chatRequest{Model: req.Model, Stream: true, Format: req.Format, Options: map[string]any{}, Think: req.Think}
	if req.Model == "" {
		areq.Model = model.DefaultModel()
	}
	for _, m := range req.Messages {
		am := chatMessage{Role: m.Role, Content: m.Content, Thinking: m.Thinking, ToolName: m.ToolName}
		for _, tc := range m.ToolCalls {
			var c chatToolCall
			c.ID, c.Function.Name, c.Function.Arguments = tc.ID, tc.Name, orEmpty(tc.Arguments)
			am.ToolCalls = append(am.ToolCalls, c)
		}
		areq.Messages = append(areq.Messages, am)
	}
	for _, t := range req.Tools {
		at := chatTool{Type: "function"}
		at.Function.Name, at.Function.Description, at.Function.Parameters = t.Name, t.Description, t.Parameters
		if at.Function.Parameters == nil {
			at.Function.Parameters = map[string]any{"type": "object", "properties": map[string]any{}}
		}
		areq.Tools = append(areq.Tools, at)
	}
	o := req.Options
	if o.Temperature != nil {
		areq.Options["temperature"] = *o.Temperature
	}
	if o.Seed != nil {
		areq.Options["seed"] = *o.Seed
	}
	if o.NumCtx > 0 {
		areq.Options["num_ctx"] = o.NumCtx
	}
	if o.NumPredict != 0 {
		areq.Options["num_predict"] = o.NumPredict
	}
	if req.KeepAlive > 0 {
		areq.KeepAlive = req.KeepAlive.String()
	}
	return areq
}

func orEmpty(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	return m
}

func fromAPIToolCall(tc chatToolCall) model.ToolCall {
	return model.ToolCall{ID: tc.ID, Name: tc.Function.Name, Arguments: orEmpty(tc.Function.Arguments)}
}

func errorf(kind error, err error, format string, args ...any) *model.Error {
	return &model.Error{Kind: kind, Msg: fmt.Sprintf(format, args...), Err: err}
}
