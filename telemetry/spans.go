package telemetry

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"tandem/agents"
	"tandem/agents/model"
	"tandem/engine"
)

// Attribute names of the OpenTelemetry GenAI semantic conventions, and tandem's own.
const (
	genAIOperation     = "gen_ai.operation.name"
	genAIProvider      = "gen_ai.provider.name"
	genAIRequestModel  = "gen_ai.request.model"
	genAIAgentName     = "gen_ai.agent.name"
	genAIInputTokens   = "gen_ai.usage.input_tokens"
	genAIOutputTokens  = "gen_ai.usage.output_tokens"
	genAIFinishReasons = "gen_ai.response.finish_reasons"
	genAIToolName      = "gen_ai.tool.name"
	genAIToolCallID    = "gen_ai.tool.call.id"
	genAIToolArgs      = "gen_ai.tool.call.arguments"
	genAIToolResult    = "gen_ai.tool.call.result"
	genAIInputMessages = "gen_ai.input.messages"
	genAIOutput        = "gen_ai.output.messages"
)

type openSpan struct {
	ctx  context.Context
	span trace.Span
}

// spanBook keeps the spans still open while notices arrive, keyed by run, step and call.
// It is used by one goroutine.
type spanBook struct {
	tracer  trace.Tracer
	capture bool
	flows   map[string]string               // run id -> flow name
	runs    map[string]openSpan             // run id
	steps   map[string]openSpan             // run/step
	models  map[string]string               // run/step -> the model an agent step uses
	chats   map[string]openSpan             // run/step -> the model call in progress
	tools   map[string]openSpan             // run/step/call id
	convs   map[string]*agents.Conversation // run/step -> an agent's requests so far
	stepsOf map[string][]string             // run id -> its open step keys
}

func newSpanBook(t trace.Tracer, capture bool) *spanBook {
	return &spanBook{tracer: t, capture: capture, flows: map[string]string{}, runs: map[string]openSpan{},
		steps: map[string]openSpan{}, models: map[string]string{}, chats: map[string]openSpan{},
		tools: map[string]openSpan{}, convs: map[string]*agents.Conversation{}, stepsOf: map[string][]string{}}
}

func (b *spanBook) notice(n engine.Notice, now time.Time) {
	switch {
	case n.Event != nil:
		b.event(*n.Event)
	case n.Delta != nil && n.Delta.Trace != nil:
		rec, err := agents.Decode(n.Delta.Trace.Kind, n.Delta.Trace.Data)
		if err != nil {
			if step, ok := b.steps[n.Delta.RunID+"/"+n.Delta.StepID]; ok {
				step.span.AddEvent("undecodable trace record", trace.WithTimestamp(now),
					trace.WithAttributes(attribute.String("tandem.detail", err.Error())))
			}
			return
		}
		b.record(n.Delta.RunID, n.Delta.StepID, rec, now)
	}
}

func (b *spanBook) event(ev engine.Event) {
	switch ev.Type {
	case engine.RunStarted:
		var d engine.RunStartedData
		_ = ev.Decode(&d)
		b.flows[ev.RunID] = d.FlowName
		parent := context.Background()
		if p, ok := b.steps[d.ParentRunID+"/"+d.ParentStepID]; ok {
			parent = p.ctx
		}
		attrs := []attribute.KeyValue{attribute.String("tandem.run.id", ev.RunID), attribute.String("tandem.flow.name", d.FlowName)}
		if d.ForkedFrom != "" {
			attrs = append(attrs, attribute.String("tandem.run.forked_from", d.ForkedFrom))
		}
		b.startRun(parent, ev, "run "+d.FlowName, attrs)
	case engine.RunResumed:
		if _, open := b.runs[ev.RunID]; !open {
			b.startRun(context.Background(), ev, "run "+b.flowName(ev.RunID)+" (resumed)",
				[]attribute.KeyValue{attribute.String("tandem.run.id", ev.RunID), attribute.String("tandem.flow.name", b.flowName(ev.RunID))})
		}
	case engine.RunSucceeded, engine.RunFailed, engine.RunCancelled, engine.RunInterrupted, engine.RunWaiting:
		var d engine.RunResultData
		_ = ev.Decode(&d)
		b.endRun(ev, d.Error)
	case engine.StepStarted:
		var d engine.StepStartedData
		_ = ev.Decode(&d)
		run, ok := b.runs[ev.RunID]
		if !ok {
			return
		}
		key := ev.RunID + "/" + ev.StepID
		attrs := []attribute.KeyValue{attribute.String("tandem.step.id", ev.StepID), attribute.String("tandem.step.kind", d.Kind),
			attribute.Int("tandem.step.attempt", ev.Attempt), attribute.String("tandem.idempotency_key", d.Key)}
		name := "step " + ev.StepID
		if d.Kind == "agent" {
			attrs = append(attrs, attribute.String(genAIOperation, "invoke_agent"), attribute.String(genAIProvider, "ollama"))
		}
		ctx, span := b.tracer.Start(run.ctx, name, trace.WithTimestamp(ev.Time), trace.WithAttributes(attrs...))
		b.steps[key] = openSpan{ctx, span}
		b.stepsOf[ev.RunID] = append(b.stepsOf[ev.RunID], key)
	case engine.StepSucceeded, engine.StepFailed, engine.StepSkipped, engine.StepInterrupted, engine.StepWaiting:
		var d engine.StepResultData
		_ = ev.Decode(&d)
		key := ev.RunID + "/" + ev.StepID
		s, ok := b.steps[key]
		if !ok {
			return
		}
		s.span.SetAttributes(attribute.String("tandem.step.status", statusOf(ev.Type)))
		if d.Tokens != nil {
			s.span.SetAttributes(attribute.Int(genAIInputTokens, d.Tokens.Prompt), attribute.Int(genAIOutputTokens, d.Tokens.Output))
		}
		if ev.Type == engine.StepFailed {
			s.span.SetStatus(codes.Error, d.Error)
		}
		b.endOpen(b.chats, key, ev.Time, "the step ended first")
		s.span.End(trace.WithTimestamp(ev.Time))
		delete(b.steps, key)
		delete(b.convs, key)
	}
}

func statusOf(t engine.EventType) string {
	switch t {
	case engine.StepSucceeded:
		return "succeeded"
	case engine.StepFailed:
		return "failed"
	case engine.StepSkipped:
		return "skipped"
	case engine.StepInterrupted:
		return "interrupted"
	}
	return "waiting"
}

func (b *spanBook) flowName(runID string) string {
	if f := b.flows[runID]; f != "" {
		return f
	}
	return runID
}

func (b *spanBook) startRun(parent context.Context, ev engine.Event, name string, attrs []attribute.KeyValue) {
	ctx, span := b.tracer.Start(parent, name, trace.WithTimestamp(ev.Time), trace.WithAttributes(attrs...))
	b.runs[ev.RunID] = openSpan{ctx, span}
}

func (b *spanBook) endRun(ev engine.Event, errText string) {
	r, ok := b.runs[ev.RunID]
	if !ok {
		return
	}
	for _, key := range b.stepsOf[ev.RunID] {
		if s, open := b.steps[key]; open {
			s.span.End(trace.WithTimestamp(ev.Time))
			delete(b.steps, key)
			delete(b.convs, key)
		}
	}
	delete(b.stepsOf, ev.RunID)
	status := map[engine.EventType]string{engine.RunSucceeded: "succeeded", engine.RunFailed: "failed",
		engine.RunCancelled: "cancelled", engine.RunInterrupted: "interrupted", engine.RunWaiting: "waiting"}[ev.Type]
	r.span.SetAttributes(attribute.String("tandem.run.status", status))
	if ev.Type == engine.RunFailed {
		r.span.SetStatus(codes.Error, errText)
	}
	r.span.End(trace.WithTimestamp(ev.Time))
	delete(b.runs, ev.RunID)
}

// record turns one agent or model trace record into span starts, ends and attributes.
func (b *spanBook) record(runID, stepID string, rec agents.Record, now time.Time) {
	key := runID + "/" + stepID
	step, ok := b.steps[key]
	if !ok {
		return
	}
	startChat := func(name string, turn int, messages []model.Message) {
		b.endOpen(b.chats, key, now, "a new call started")
		ctx, span := b.tracer.Start(step.ctx, "chat "+name, trace.WithTimestamp(now), trace.WithAttributes(
			attribute.String(genAIOperation, "chat"), attribute.String(genAIProvider, "ollama"), attribute.String(genAIRequestModel, name)))
		if turn > 0 {
			span.SetAttributes(attribute.String("tandem.agent.turn", strconv.Itoa(turn)))
		}
		if b.capture && messages != nil {
			span.SetAttributes(attribute.String(genAIInputMessages, jsonText(messages)))
		}
		b.chats[key] = openSpan{ctx, span}
	}
	endChat := func(prompt, output int, doneReason string) {
		c, ok := b.chats[key]
		if !ok {
			return
		}
		c.span.SetAttributes(attribute.Int(genAIInputTokens, prompt), attribute.Int(genAIOutputTokens, output))
		if doneReason != "" {
			c.span.SetAttributes(attribute.StringSlice(genAIFinishReasons, []string{doneReason}))
		}
		c.span.End(trace.WithTimestamp(now))
		delete(b.chats, key)
	}
	problem := func(detail string) {
		step.span.AddEvent(string(rec.Kind()), trace.WithTimestamp(now), trace.WithAttributes(attribute.String("tandem.detail", detail)))
	}
	switch r := rec.(type) {
	case agents.Start:
		b.models[key] = r.Model
		step.span.SetAttributes(attribute.String(genAIAgentName, r.Agent), attribute.String(genAIRequestModel, r.Model))
		if b.capture {
			step.span.SetAttributes(attribute.String(genAIInputMessages, r.Prompt))
		}
	case agents.Turn:
		startChat(b.models[key], r.Turn, nil)
	case agents.Request:
		// The record holds what is new since the last request; the span gets the whole request.
		conv := b.convs[key]
		if conv == nil {
			conv = &agents.Conversation{}
			b.convs[key] = conv
		}
		msgs, _, _ := conv.Add(r)
		if c, ok := b.chats[key]; ok && b.capture {
			c.span.SetAttributes(attribute.String(genAIInputMessages, jsonText(msgs)))
		}
	case agents.LLMRequest:
		startChat(r.Model, 0, r.Messages)
	case agents.Usage:
		endChat(r.PromptTokens, r.OutputTokens, r.DoneReason)
	case agents.LLMResponse:
		endChat(r.Usage.PromptTokens, r.Usage.OutputTokens, r.DoneReason)
	case agents.ToolCall:
		b.endOpen(b.chats, key, now, "")
		ctx, span := b.tracer.Start(step.ctx, "execute_tool "+r.Name, trace.WithTimestamp(now), trace.WithAttributes(
			attribute.String(genAIOperation, "execute_tool"), attribute.String(genAIToolName, r.Name), attribute.String(genAIToolCallID, r.ID)))
		if b.capture {
			span.SetAttributes(attribute.String(genAIToolArgs, jsonText(r.Arguments)))
		}
		b.tools[key+"/"+r.ID+"/"+r.Name] = openSpan{ctx, span}
	case agents.ToolResult:
		tk := key + "/" + r.ID + "/" + r.Name
		t, ok := b.tools[tk]
		if !ok {
			return
		}
		if r.Error {
			t.span.SetStatus(codes.Error, r.Result)
		}
		if b.capture {
			t.span.SetAttributes(attribute.String(genAIToolResult, r.Result))
		}
		t.span.End(trace.WithTimestamp(now))
		delete(b.tools, tk)
	case agents.InvalidAction:
		problem(r.Error)
	case agents.InvalidAnswer:
		problem(r.Error)
	case agents.ForceAnswer:
		problem(r.Reason)
	case agents.Repair:
		problem(r.Reason)
	case agents.Trimmed:
		problem(fmt.Sprintf("dropped %d messages to fit num_ctx %d", r.DroppedMessages, r.NumCtx))
	case agents.RepeatedCall:
		problem(fmt.Sprintf("%s %s, %d times", r.Name, jsonText(r.Arguments), r.Times))
	case agents.End:
		step.span.SetAttributes(attribute.String("tandem.agent.end_reason", r.EndReason),
			attribute.Int("tandem.agent.turns", r.Turns), attribute.Int("tandem.agent.tool_calls", r.ToolCalls))
		if r.EndReason != "" && r.EndReason != agents.EndAnswer {
			step.span.AddEvent("agent stopped: "+r.EndReason, trace.WithTimestamp(now))
		}
	}
}

// endOpen ends an open span of a step (a model call cut short by what came next).
func (b *spanBook) endOpen(m map[string]openSpan, key string, at time.Time, why string) {
	if s, ok := m[key]; ok {
		if why != "" {
			s.span.SetAttributes(attribute.String("tandem.unfinished", why))
		}
		s.span.End(trace.WithTimestamp(at))
		delete(m, key)
	}
}

// endAll ends every span still open, when the export shuts down before they finished.
func (b *spanBook) endAll(at time.Time) {
	for _, m := range []map[string]openSpan{b.tools, b.chats, b.steps, b.runs} {
		for k, s := range m {
			s.span.SetAttributes(attribute.String("tandem.unfinished", "the process stopped"))
			s.span.End(trace.WithTimestamp(at))
			delete(m, k)
		}
	}
}

func jsonText(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
