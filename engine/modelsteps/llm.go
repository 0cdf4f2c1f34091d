package modelsteps

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"tandem/agents"
	"tandem/agents/model"
	"tandem/engine"
	"tandem/flows"
)

// LLMExecutor runs llm: steps: one model call whose output is the reply text, or the JSON
// object when the step gives a schema (then addressable as .steps.ID.json.field). Tokens
// stream to observers as they arrive and reach the log batched.
type LLMExecutor struct {
	Model model.Model
	// DefaultModel is used when the step names none.
	DefaultModel string
}

// Prepare renders the prompt; it is the attempt's input (a retry may edit it).
func (LLMExecutor) Prepare(s *flows.Step, data map[string]any) (string, error) {
	return flows.Render(s.LLM.Prompt, data)
}

// Execute makes the call.
func (x LLMExecutor) Execute(ctx context.Context, sr *engine.StepRun) (engine.Result, error) {
	ctx = model.ContextWithStallTimeouts(ctx, model.StallTimeouts(sr.Step.ModelTimeouts))
	spec := sr.Step.LLM
	name := spec.Model
	if name == "" {
		name = x.DefaultModel
	}
	if name == "" {
		name = model.DefaultModel()
	}
	req := model.Request{Model: name, Options: model.OptionsFrom(spec.Options), Think: spec.Think}
	if spec.System != "" {
		system, err := flows.Render(spec.System, sr.Data)
		if err != nil {
			return engine.Result{}, engine.Permanent(fmt.Errorf("system: %w", err))
		}
		req.Messages = append(req.Messages, model.Message{Role: "system", Content: system})
	}
	req.Messages = append(req.Messages, model.Message{Role: "user", Content: sr.Input})
	if spec.Schema != nil {
		req.Format = agents.ReplyFormat(spec.Schema, req.Options.NumPredict)
	}
	sr.Trace(string(agents.KindLLMRequest), agents.LLMRequest{Model: name, Messages: req.Messages, Schema: spec.Schema != nil})
	resp, err := x.Model.Chat(ctx, req, func(d model.Delta) {
		if d.Retry != nil {
			sr.Trace(string(agents.KindModelRetry), agents.ModelRetryOf(*d.Retry))
		}
		if d.Thinking != "" {
			sr.Emit("thinking", d.Thinking)
		}
		if d.Content != "" {
			sr.Emit("content", d.Content)
		}
	})
	tokens := &engine.Tokens{Prompt: resp.Usage.PromptTokens, Output: resp.Usage.OutputTokens}
	sr.Trace(string(agents.KindLLMResponse), agents.LLMResponse{Model: name, Usage: resp.Usage, DoneReason: resp.DoneReason,
		Incomplete: resp.Incomplete, TokensPerSecond: resp.Usage.TokensPerSecond()})
	res := engine.Result{Output: strings.TrimSpace(resp.Message.Content), Tokens: tokens}
	if err != nil {
		if errors.Is(err, model.ErrModelNotFound) || errors.Is(err, model.ErrContextTooLong) {
			return res, engine.Permanent(err)
		}
		return res, err
	}
	if spec.Schema != nil {
		if verr := flows.ValidateJSON(spec.Schema, res.Output); verr != nil {
			if resp.DoneReason == "length" {
				return res, fmt.Errorf("the reply was cut at the token limit (num_predict %d) before its JSON ended; raise options.num_predict: %w", req.Options.NumPredict, verr)
			}
			return res, fmt.Errorf("the reply %w", verr)
		}
		var compact bytes.Buffer
		if json.Compact(&compact, []byte(res.Output)) == nil {
			res.Output = compact.String()
		}
	}
	return res, nil
}
