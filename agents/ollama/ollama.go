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

	"github.com/ollama/ollama/api"
)

// DefaultHost is where Ollama listens unless OLLAMA_HOST says otherwise.
const DefaultHost = "127.0.0.1:11434"

// Ollama is the Model backed by an Ollama server through its official Go client.
type Client struct {
	client *api.Client
	base   *url.URL
	// Attempts and Backoff govern retries of transient failures that happen before any
	// token arrived (connection refused, 5xx). A reply that started streaming is never
	// retried: its deltas were already delivered.
	Attempts int
	Backoff  time.Duration
	caps     sync.Map // model name -> Capabilities
}

var _ model.Model = (*Client)(nil)

// NewOllama returns a client for the server at host ("127.0.0.1:11434" or a URL).
func New(host string) (*Client, error) {
	base, err := parseHost(host)
	if err != nil {
		return nil, err
	}
	// No overall timeout: replies stream for as long as the caller's context allows.
	hc := &http.Client{Transport: &http.Transport{Proxy: nil, DialContext: (&net.Dialer{Timeout: 5 * time.Second}).DialContext}}
	return &Client{client: api.NewClient(base, hc), base: base, Attempts: 3, Backoff: 250 * time.Millisecond}, nil
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

// Client is the underlying Ollama API client.
func (o *Client) API() *api.Client { return o.client }

// Chat streams one reply.
func (o *Client) Chat(ctx context.Context, req model.Request, onDelta func(model.Delta)) (model.Response, error) {
	areq, err := toAPIRequest(req)
	if err != nil {
		return model.Response{}, fmt.Errorf("chat with %s: %w", req.Model, err)
	}
	attempts := max(o.Attempts, 1)
	for attempt := 1; ; attempt++ {
		var resp model.Response
		resp.Message.Role = "assistant"
		started, done := false, false
		err := o.client.Chat(ctx, areq, func(r api.ChatResponse) error {
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
			// The client ends the stream quietly when the request is cancelled.
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
	var se api.StatusError
	if errors.As(err, &se) {
		msg := strings.ToLower(se.ErrorMessage)
		switch {
		case se.StatusCode == http.StatusNotFound || strings.Contains(msg, "not found"):
			return errorf(model.ErrModelNotFound, err, "model %q not found on %s: run `ollama pull %s`", name, o.base, name)
		case strings.Contains(msg, "context") && (strings.Contains(msg, "length") || strings.Contains(msg, "too long") || strings.Contains(msg, "exceed")):
			return errorf(model.ErrContextTooLong, err, "the prompt is too long for %s's context: shorten it or raise num_ctx (%s)", name, se.ErrorMessage)
		case se.StatusCode >= 500:
			return errorf(model.ErrServer, err, "Ollama at %s failed (%d): %s", o.base, se.StatusCode, se.ErrorMessage)
		}
		return errorf(model.ErrServer, err, "Ollama at %s refused the request (%d): %s", o.base, se.StatusCode, se.ErrorMessage)
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

func toAPIRequest(req model.Request) (*api.ChatRequest, error) {
	stream := true
	areq := &api.ChatRequest{Model: req.Model, Stream: &stream, Format: req.Format, Options: map[string]any{}}
	if req.Model == "" {
		areq.Model = model.DefaultModel()
	}
	for _, m := range req.Messages {
		am, err := toAPIMessage(m)
		if err != nil {
			return nil, err
		}
		areq.Messages = append(areq.Messages, am)
	}
	for _, t := range req.Tools {
		params := t.Parameters
		if params == nil {
			params = map[string]any{"type": "object", "properties": map[string]any{}}
		}
		b, err := json.Marshal(map[string]any{"type": "function", "function": map[string]any{
			"name": t.Name, "description": t.Description, "parameters": params}})
		if err != nil {
			return nil, fmt.Errorf("tool %s: %w", t.Name, err)
		}
		var at api.Tool
		if err := json.Unmarshal(b, &at); err != nil {
			return nil, fmt.Errorf("tool %s: %w", t.Name, err)
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
	if req.Think {
		areq.Think = &api.ThinkValue{Value: true}
	}
	if req.KeepAlive > 0 {
		areq.KeepAlive = &api.Duration{Duration: req.KeepAlive}
	}
	return areq, nil
}

func toAPIMessage(m model.Message) (api.Message, error) {
	am := api.Message{Role: m.Role, Content: m.Content, Thinking: m.Thinking, ToolName: m.ToolName}
	for _, tc := range m.ToolCalls {
		b, err := json.Marshal(map[string]any{"id": tc.ID, "function": map[string]any{"name": tc.Name, "arguments": orEmpty(tc.Arguments)}})
		if err != nil {
			return am, err
		}
		var atc api.ToolCall
		if err := json.Unmarshal(b, &atc); err != nil {
			return am, err
		}
		am.ToolCalls = append(am.ToolCalls, atc)
	}
	return am, nil
}

func orEmpty(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	return m
}

func fromAPIToolCall(tc api.ToolCall) model.ToolCall {
	args := map[string]any{}
	if b, err := json.Marshal(tc.Function.Arguments); err == nil {
		_ = json.Unmarshal(b, &args)
	}
	return model.ToolCall{ID: tc.ID, Name: tc.Function.Name, Arguments: args}
}

func errorf(kind error, err error, format string, args ...any) *model.Error {
	return &model.Error{Kind: kind, Msg: fmt.Sprintf(format, args...), Err: err}
}
