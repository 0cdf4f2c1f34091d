package telemetry

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

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
	flows   map[string]string   // run id -> flow name
	runs    map[string]openSpan // run id
	steps   map[string]openSpan // run/step
	models  map[string]string   // run/step -> the model an agent step uses
	chats   map[string]openSpan // run/step -> the model call in progress
	tools   map[string]openSpan // run/step/call id
	stepsOf map[string][]string // run id -> its open step keys
}

func newSpanBook(t trace.Tracer, capture bool) *spanBook {
	return &spanBook{tracer: t, capture: capture, flows: map[string]string{}, runs: map[string]openSpan{},
		steps: map[string]openSpan{}, models: map[string]string{}, chats: map[string]openSpan{},
		tools: map[string]openSpan{}, stepsOf: map[string][]string{}}
}

func (b *spanBook) notice(n engine.Notice, now time.Time) {
	switch {
	case n.Event != nil:
		b.event(*n.Event)
	case n.Delta != nil && n.Delta.Trace != nil:
		b.record(n.Delta.RunID, n.Delta.StepID, n.Delta.Trace.Kind, asMap(n.Delta.Trace.Data), now)
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
func (b *spanBook) record(runID, stepID, kind string, d map[string]any, now time.Time) {
	key := runID + "/" + stepID
	step, ok := b.steps[key]
	if !ok {
		return
	}
	switch kind {
	case "start":
		model, _ := d["model"].(string)
		b.models[key] = model
		step.span.SetAttributes(attribute.String(genAIAgentName, str(d["agent"])), attribute.String(genAIRequestModel, model))
		if b.capture {
			step.span.SetAttributes(attribute.String(genAIInputMessages, str(d["prompt"])))
		}
	case "turn", "llm_request":
		b.endOpen(b.chats, key, now, "a new call started")
		model := b.models[key]
		if m, ok := d["model"].(string); ok {
			model = m
		}
		ctx, span := b.tracer.Start(step.ctx, "chat "+model, trace.WithTimestamp(now), trace.WithAttributes(
			attribute.String(genAIOperation, "chat"), attribute.String(genAIProvider, "ollama"), attribute.String(genAIRequestModel, model)))
		if t, ok := d["turn"]; ok {
			span.SetAttributes(attribute.String("tandem.agent.turn", str(t)))
		}
		if b.capture && kind == "llm_request" {
			span.SetAttributes(attribute.String(genAIInputMessages, jsonText(d["messages"])))
		}
		b.chats[key] = openSpan{ctx, span}
	case "usage", "llm_response":
		c, ok := b.chats[key]
		if !ok {
			return
		}
		u := d
		if inner := asMap(d["usage"]); inner != nil {
			u = inner
		}
		c.span.SetAttributes(attribute.Int(genAIInputTokens, num(u["prompt_tokens"])), attribute.Int(genAIOutputTokens, num(u["output_tokens"])))
		if r := str(d["done_reason"]); r != "" {
			c.span.SetAttributes(attribute.StringSlice(genAIFinishReasons, []string{r}))
		}
		if b.capture && kind == "llm_response" {
			c.span.SetAttributes(attribute.String(genAIOutput, str(d["content"])))
		}
		c.span.End(trace.WithTimestamp(now))
		delete(b.chats, key)
	case "tool_call":
		b.endOpen(b.chats, key, now, "")
		name := str(d["name"])
		ctx, span := b.tracer.Start(step.ctx, "execute_tool "+name, trace.WithTimestamp(now), trace.WithAttributes(
			attribute.String(genAIOperation, "execute_tool"), attribute.String(genAIToolName, name), attribute.String(genAIToolCallID, str(d["id"]))))
		if b.capture {
			span.SetAttributes(attribute.String(genAIToolArgs, jsonText(d["arguments"])))
		}
		b.tools[key+"/"+str(d["id"])+"/"+name] = openSpan{ctx, span}
	case "tool_result":
		tk := key + "/" + str(d["id"]) + "/" + str(d["name"])
		t, ok := b.tools[tk]
		if !ok {
			return
		}
		if e, _ := d["error"].(bool); e {
			t.span.SetStatus(codes.Error, str(d["result"]))
		}
		if b.capture {
			t.span.SetAttributes(attribute.String(genAIToolResult, str(d["result"])))
		}
		t.span.End(trace.WithTimestamp(now))
		delete(b.tools, tk)
	case "invalid_action", "invalid_answer", "force_answer", "repair", "trimmed":
		step.span.AddEvent(kind, trace.WithTimestamp(now), trace.WithAttributes(attribute.String("tandem.detail", firstOf(d, "error", "reason"))))
	case "end":
		step.span.SetAttributes(attribute.String("tandem.agent.end_reason", str(d["end_reason"])),
			attribute.Int("tandem.agent.turns", num(d["turns"])), attribute.Int("tandem.agent.tool_calls", num(d["tool_calls"])))
		if reason := str(d["end_reason"]); reason != "" && reason != "answer" {
			step.span.AddEvent("agent stopped: "+reason, trace.WithTimestamp(now))
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

// asMap gives a trace record's data as a map, whatever type the runtime passed live.
func asMap(v any) map[string]any {
	if m, ok := v.(map[string]any); ok {
		return m
	}
	if v == nil {
		return nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	var m map[string]any
	if json.Unmarshal(b, &m) != nil {
		return nil
	}
	return m
}

func str(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	}
	return fmt.Sprint(v)
}

func num(v any) int {
	switch x := v.(type) {
	case int:
		return x
	case int64:
		return int(x)
	case float64:
		return int(x)
	}
	return 0
}

func jsonText(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func firstOf(d map[string]any, keys ...string) string {
	for _, k := range keys {
		if s := str(d[k]); s != "" {
			return s
		}
	}
	return ""
}
