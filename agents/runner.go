package agents

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"tandem/agents/model"
	"tandem/flows"
)

// Tracer receives what an agent does: live text (Emit, on the streams content, thinking and
// answer) and typed records (Trace).
type Tracer interface {
	Emit(stream, text string)
	Trace(rec Record)
}

// TracerFuncs adapts two functions to a Tracer.
type TracerFuncs struct {
	EmitFunc  func(stream, text string)
	TraceFunc func(rec Record)
}

// Emit calls EmitFunc.
func (t TracerFuncs) Emit(stream, text string) {
	if t.EmitFunc != nil {
		t.EmitFunc(stream, text)
	}
}

// Trace calls TraceFunc.
func (t TracerFuncs) Trace(rec Record) {
	if t.TraceFunc != nil {
		t.TraceFunc(rec)
	}
}

// Memory keeps conversations per session name.
type Memory interface {
	LoadSession(ctx context.Context, name string) ([]model.Message, error)
	SaveSession(ctx context.Context, name, agent string, msgs []model.Message) error
}

// CapabilityChecker tells whether a model calls tools natively.
type CapabilityChecker interface {
	Capabilities(ctx context.Context, model string) (model.Capabilities, error)
}

// Runner runs agents on a model.
type Runner struct {
	Model        model.Model
	Caps         CapabilityChecker // nil: use the JSON fallback
	Memory       Memory            // needed for memory: session
	DefaultModel string
	// ForceFallback uses the constrained JSON action even for models with native tools.
	ForceFallback bool

	legacy legacy // fixes switched off, for the ablation benchmark only
}

// Task is one agent run.
type Task struct {
	Agent   *flows.Agent
	Prompt  string
	Schema  map[string]any // output schema; overrides the agent's
	Session string         // memory session name ("" = none)
	Tools   []Tool
	Tracer  Tracer
}

// End reasons.
const (
	EndAnswer       = "answer"
	EndMaxTurns     = "max_turns"
	EndLoopDetected = "loop_detected"
	EndBudget       = "budget"
	EndError        = "error"
)

// Result is how an agent run ended.
type Result struct {
	Answer         string `json:"answer,omitempty"`
	EndReason      string `json:"end_reason"`
	Detail         string `json:"detail,omitempty"`
	Turns          int    `json:"turns"`
	PromptTokens   int    `json:"prompt_tokens"`
	OutputTokens   int    `json:"output_tokens"`
	ToolCalls      int    `json:"tool_calls"`
	InvalidActions int    `json:"invalid_actions"`
	// RejectedAnswers are valid answers that were not taken (only a tool's name) and retried.
	RejectedAnswers int `json:"rejected_answers,omitempty"`
}

// StoppedError is returned when an agent ends without an answer.
type StoppedError struct{ Result Result }

func (e *StoppedError) Error() string {
	return fmt.Sprintf("agent stopped without an answer: %s (%s)", e.Result.EndReason, e.Result.Detail)
}

// maxResultChars caps a tool result in the conversation and the trace; the full size is noted.
const maxResultChars = 4000

// Run runs the agent until it answers or a guard stops it.
func (r *Runner) Run(ctx context.Context, t Task) (Result, error) {
	a := t.Agent
	tr := t.Tracer
	if tr == nil {
		tr = TracerFuncs{}
	}
	name := a.Model
	if name == "" {
		name = r.DefaultModel
	}
	if name == "" {
		name = model.DefaultModel()
	}
	if a.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, a.Timeout)
		defer cancel()
	}
	schema := t.Schema
	if schema == nil {
		schema = a.OutputSchema
	}
	tools := t.Tools
	if r.legacy.freePaths {
		tools = withoutTurnParameters(tools)
	}
	named, existing := namedPaths(t.Prompt, tools)
	if r.legacy.unnamed {
		named, existing = nil, nil
	}
	// A question about files the task names (it asks for no change) gets no tool that
	// writes files (asks.go).
	var withheld []string
	if !r.legacy.questionWrites && len(existing) > 0 && len(readOnly(tools)) > 0 && !asksForChange(t.Prompt) {
		tools, withheld = withoutWriters(tools)
	}
	byName := map[string]Tool{}
	for _, tool := range tools {
		byName[tool.Name] = tool
	}
	native, modeWhy := r.chooseMode(ctx, a, name, len(tools))
	system := a.System
	if len(tools) > 0 && !native {
		if r.legacy.sortedKeys {
			system += legacyFallbackInstructions(tools)
		} else {
			system += fallbackInstructions(tools)
		}
	}
	answerSystem := a.System // the system prompt of a turn that may only answer (recap.go)
	if schema != nil {
		s, _ := json.Marshal(schema)
		system += "\n\nYour final answer must be JSON matching this schema: " + string(s)
		answerSystem += "\n\nYour final answer must be JSON matching this schema: " + string(s)
	}
	var msgs []model.Message
	if strings.TrimSpace(system) != "" {
		msgs = append(msgs, model.Message{Role: "system", Content: system})
	}
	if t.Session != "" && r.Memory != nil {
		history, err := r.Memory.LoadSession(ctx, t.Session)
		if err != nil {
			return Result{EndReason: EndError}, fmt.Errorf("load session %s: %w", t.Session, err)
		}
		history, dropped := withoutStoppedAttempt(history, t.Prompt)
		msgs = append(msgs, history...)
		tr.Trace(MemoryLoaded{Session: t.Session, Messages: len(history), DroppedStopped: dropped})
	}
	msgs = append(msgs, model.Message{Role: "user", Content: t.Prompt})
	numCtx := model.OptionsFrom(a.Options).NumCtx
	if numCtx == 0 {
		numCtx = 2048
	}
	msgs = trimToContext(msgs, numCtx, tr)
	tr.Trace(Start{Agent: a.Name, Model: name, Mode: modeName(native, len(tools)), ModeReason: modeWhy,
		Tools: toolNames(tools), MaxTurns: a.MaxTurns, MaxTokens: a.MaxTokens, Prompt: t.Prompt})

	lookFirst := len(existing) > 0 && !native && !r.legacy.answerFirst && len(readOnly(tools)) > 0
	var targets []string
	if !r.legacy.freeWriteTargets {
		targets = missingNamed(named, existing)
		tools = writeTargets(tools, targets)
	}
	if len(withheld) > 0 {
		tr.Trace(ToolPolicy{Withheld: withheld, Reason: "the task asks about " + strings.Join(existing, ", ") + " and for no change (no word such as write, create, copy, edit): it gets no tool that writes files"})
	} else if len(targets) > 0 && hasWriter(tools) {
		tr.Trace(ToolPolicy{WriteTargets: targets, Reason: "the task names " + strings.Join(targets, ", ") + ", which does not exist yet: that is where it writes"})
	}

	res := Result{}
	guard := newLoopGuard()
	repair := false
	forceAnswer := false // a repeated call: the next fallback turn may only answer
	looked := looks{}    // the paths read-only tools were called on, not offered again
	refs := existing     // the paths the task and the tool results named, to look at next
	var retry retryState // invalid fallback replies in a row, and how to sample the next
	var ev []evidence    // what the tools returned, for a turn that may only answer
	lastInvalid := ""    // why the last invalid reply was, for the end's detail
	var requests requestLog
	baseOpts := model.OptionsFrom(a.Options)
	for turn := 1; turn <= max(a.MaxTurns, 1); turn++ {
		res.Turns = turn
		fallback := len(tools) > 0 && (!native || repair)
		req := model.Request{Model: name, Messages: msgs, Options: retry.options(baseOpts), Think: a.Think}
		budget := baseOpts.NumPredict
		if r.legacy.freeStrings {
			budget = -1
		}
		switch {
		case fallback && lookFirst && res.ToolCalls == 0:
			// The task names a path that exists: the first action looks at it (or around it)
			// rather than answering from a guess or changing anything.
			req.Format = encodeAction(lookSchema(readOnly(tools), named, existing), budget, retry.cuts, !r.legacy.sortedKeys)
			if retry.n == 0 {
				tr.Trace(LookFirst{Turn: turn, Named: existing, Tools: toolNames(readOnly(tools)),
					Reason: "the task names " + strings.Join(existing, ", ") + ", which exists: the first action reads before it answers or changes anything"})
			}
		case fallback && forceAnswer:
			req.Format = encodeAction(answerSchema(schema), budget, retry.cuts, !r.legacy.sortedKeys)
			switch {
			case !r.legacy.noRecap && len(ev) > 0:
				req.Messages = recapRequest(answerSystem, historyBefore(msgs, t.Prompt), t.Prompt, ev)
			case !r.legacy.nextObject:
				req.Messages = askForTheAnswer(msgs)
			}
			tr.Trace(ForceAnswer{Turn: turn, Reason: "the last call repeated an earlier one; this turn may only answer"})
		case fallback:
			offered := tools
			if lookFirst && !r.legacy.reread {
				offered = lookable(tools, named, looked, refs)
			}
			req.Format = encodeAction(actionSchema(offered, named, schema), budget, retry.cuts, !r.legacy.sortedKeys)
			if len(offered) == 0 && len(ev) > 0 && !r.legacy.noRecap {
				// No tool is left to offer: the turn may only answer, and is asked as a question.
				req.Messages = recapRequest(answerSystem, historyBefore(msgs, t.Prompt), t.Prompt, ev)
				tr.Trace(ForceAnswer{Turn: turn, Reason: "nothing the task or a result named is left to read and no other tool is offered; this turn may only answer"})
			}
		case native:
			req.Tools = definitions(tools, named)
		case schema != nil:
			req.Format, _ = json.Marshal(schema)
		}
		if retry.n > 0 {
			tr.Trace(retry.record(turn, req.Options))
		}
		tr.Trace(Turn{Turn: turn, Mode: modeName(!fallback && native, len(tools)), Messages: len(msgs)})
		tr.Trace(requests.record(turn, req))
		var stream answerStream
		resp, err := r.Model.Chat(ctx, req, func(d model.Delta) {
			if d.Retry != nil {
				tr.Trace(ModelRetryOf(*d.Retry))
			}
			if d.Thinking != "" {
				tr.Emit(string(KindThinking), d.Thinking)
			}
			if d.Content != "" {
				tr.Emit(string(KindContent), d.Content)
				if fallback && schema == nil { // with a schema the answer is JSON, not text
					if text := stream.feed(d.Content); text != "" {
						tr.Emit(string(KindAnswer), text)
					}
				}
			}
		})
		res.PromptTokens += resp.Usage.PromptTokens
		res.OutputTokens += resp.Usage.OutputTokens
		tr.Trace(Usage{Turn: turn, PromptTokens: resp.Usage.PromptTokens, OutputTokens: resp.Usage.OutputTokens,
			EvalMS: resp.Usage.EvalDuration.Milliseconds(), TotalMS: resp.Usage.TotalDuration.Milliseconds(),
			LoadMS: resp.Usage.LoadDuration.Milliseconds(), PromptMS: resp.Usage.PromptDuration.Milliseconds(),
			TokensPerSecond: resp.Usage.TokensPerSecond(), DoneReason: resp.DoneReason})
		if err != nil && fallback && ctx.Err() == nil && errors.Is(err, model.ErrStreamCut) && !r.legacy.echoInvalid {
			// Ollama ends a reply that repeats one token 30 times by closing the stream: for a
			// constrained action that is a cut reply like any other, retried the same way.
			res.InvalidActions++
			lastInvalid = "the server aborted the reply: " + err.Error()
			tr.Trace(InvalidAction{Turn: turn, Error: lastInvalid, Content: clip(resp.Message.Content, 500), DoneReason: "aborted", Cut: true})
			retry.failed(true)
			continue
		}
		if err != nil {
			if errors.Is(ctx.Err(), context.Canceled) {
				r.saveStopped(ctx, t, msgs, resp.Message)
			}
			if ctx.Err() != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) && a.Timeout > 0 {
				return r.stop(tr, res, EndBudget, fmt.Sprintf("timeout %s reached", a.Timeout))
			}
			res.EndReason, res.Detail = EndError, err.Error()
			tr.Trace(End{res})
			return res, err
		}
		if a.MaxTokens > 0 && res.PromptTokens+res.OutputTokens > a.MaxTokens {
			return r.stop(tr, res, EndBudget, fmt.Sprintf("%d tokens used, budget %d", res.PromptTokens+res.OutputTokens, a.MaxTokens))
		}
		repair = false
		content := resp.Message.Content
		var calls []model.ToolCall
		var answer string
		answered := false
		if fallback {
			act, perr := parseAction(content)
			if perr == nil && schema == nil && !r.legacy.toolNameAnswers {
				if why := toolNameAnswer(act, t.Tools); why != nil {
					// A valid action that is no answer to the task: retried like an invalid
					// one, but counted on its own.
					res.RejectedAnswers++
					lastInvalid = why.Error()
					tr.Trace(RejectedAnswer{Turn: turn, Answer: clip(answerText(act.Answer), 200), Reason: why.Error()})
					retry.failed(false)
					continue
				}
			}
			if perr != nil {
				res.InvalidActions++
				cut := resp.DoneReason == "length" || errors.Is(perr, errCut)
				lastInvalid = perr.Error()
				tr.Trace(InvalidAction{Turn: turn, Error: perr.Error(), Content: clip(content, 500), DoneReason: resp.DoneReason, Cut: cut})
				if r.legacy.echoInvalid {
					msgs = append(msgs, model.Message{Role: "assistant", Content: content},
						model.Message{Role: "user", Content: "That was not a valid action (" + perr.Error() + `). Reply with {"tool": ..., "arguments": {...}} or {"answer": ...}.`})
				} else {
					// Asked again unchanged, a model at temperature 0 writes the same broken
					// reply; the broken reply is left out and the next one sampled differently.
					retry.failed(cut)
				}
				continue
			}
			retry = retryState{}
			if act.Answer != nil {
				answer, answered = answerText(act.Answer), true
				if schema != nil {
					answer = string(act.Answer)
				}
			} else {
				calls = []model.ToolCall{{ID: fmt.Sprintf("call_%d", turn), Name: act.Tool, Arguments: act.Arguments}}
			}
		} else {
			calls = resp.Message.ToolCalls
			if len(calls) == 0 && native && !r.legacy.trustTemplate {
				if c, ok := textToolCall(content, byName); ok {
					c.ID = fmt.Sprintf("call_%d", turn)
					calls = []model.ToolCall{c}
					content = "" // the conversation shows it as the call it was
					tr.Trace(TextToolCall{Turn: turn, Name: c.Name, Reason: "the reply is a call of a known tool written as text"})
				}
			}
			if len(calls) == 0 {
				if native && looksLikeToolCall(content) {
					res.InvalidActions++
					repair = true
					tr.Trace(Repair{Turn: turn, Reason: "the reply looks like a tool call the server could not parse; asking again with the JSON action format", Content: clip(content, 500)})
					continue
				}
				answer, answered = strings.TrimSpace(content), true
			}
		}
		if answered {
			if schema != nil {
				if verr := flows.ValidateJSON(schema, answer); verr != nil {
					res.InvalidActions++
					tr.Trace(InvalidAnswer{Turn: turn, Error: verr.Error(), Answer: clip(answer, 500)})
					msgs = append(msgs, model.Message{Role: "assistant", Content: content},
						model.Message{Role: "user", Content: "Your answer " + verr.Error() + ". Answer again with JSON matching the schema."})
					continue
				}
			}
			res.Answer, res.EndReason = answer, EndAnswer
			msgs = append(msgs, model.Message{Role: "assistant", Content: content})
			if err := r.save(ctx, t, msgs); err != nil {
				return res, err
			}
			tr.Trace(End{res})
			return res, nil
		}
		if fallback {
			msgs = append(msgs, model.Message{Role: "assistant", Content: content})
		} else {
			msgs = append(msgs, model.Message{Role: "assistant", Content: content, ToolCalls: calls})
		}
		results := r.callTools(ctx, byName, calls, turn, tr, &res)
		for i, c := range calls {
			ev = addEvidence(ev, c, results[i])
		}
		looked.record(calls, byName)
		refs = referenced(refs, calls, results, tools)
		newInfo := false
		for i, c := range calls {
			switch {
			case fallback && r.legacy.toolRole:
				msgs = append(msgs, model.Message{Role: "tool", ToolName: c.Name, Content: results[i] + legacyHint})
			case fallback:
				ending := answerOrCall
				switch {
				case r.legacy.nextObjectTurn:
					ending = nextObject
				case lookFirst && !r.legacy.reread && !r.legacy.lookOn && len(readOnly(lookable(tools, named, looked, refs))) == 0:
					// Nothing the task or a result named is left to read: a 0.5B model told it may
					// call "the tool that gets it" rewrites the file it just read.
					ending = answerNowOrChange
					if len(lookable(tools, named, looked, refs)) == 0 {
						ending = answerNow // no tool is offered next: the turn may only answer
					}
				}
				msgs = append(msgs, resultTurn(c, results[i], t.Prompt, ending))
			default:
				msgs = append(msgs, model.Message{Role: "tool", ToolName: c.Name, Content: results[i]})
			}
			if guard.result(c.Name, results[i]) {
				newInfo = true
			}
		}
		repeated := guard.repeated(calls)
		for _, c := range repeated {
			tr.Trace(RepeatedCall{Turn: turn, Name: c.Name, Arguments: c.Arguments, Times: guard.times(c) + 1})
		}
		forceAnswer = fallback && len(repeated) > 0
		if why := guard.turn(calls, newInfo); why != "" {
			_ = r.save(ctx, t, msgs)
			return r.stop(tr, res, EndLoopDetected, why)
		}
	}
	_ = r.save(ctx, t, msgs)
	detail := fmt.Sprintf("%d turns without an answer", a.MaxTurns)
	switch {
	case res.RejectedAnswers > 0 && res.InvalidActions == 0:
		detail += fmt.Sprintf(" (%d answers rejected; the last: %s)", res.RejectedAnswers, lastInvalid)
	case res.InvalidActions > 0 && lastInvalid != "":
		detail += fmt.Sprintf(" (%d invalid actions; the last: %s)", res.InvalidActions, lastInvalid)
	case res.InvalidActions > 0:
		detail += fmt.Sprintf(" (%d invalid actions)", res.InvalidActions)
	}
	return r.stop(tr, res, EndMaxTurns, detail)
}

func (r *Runner) stop(tr Tracer, res Result, reason, detail string) (Result, error) {
	res.EndReason, res.Detail = reason, detail
	tr.Trace(End{res})
	return res, &StoppedError{Result: res}
}

func (r *Runner) save(ctx context.Context, t Task, msgs []model.Message) error {
	if t.Session == "" || r.Memory == nil {
		return nil
	}
	// The system prompt is rebuilt each time; keep only the conversation.
	var keep []model.Message
	for _, m := range msgs {
		if m.Role != "system" {
			keep = append(keep, m)
		}
	}
	if err := r.Memory.SaveSession(ctx, t.Session, t.Agent.Name, keep); err != nil {
		return fmt.Errorf("save session %s: %w", t.Session, err)
	}
	return nil
}

// callTools runs a turn's tool calls, in parallel, validating arguments first.
func (r *Runner) callTools(ctx context.Context, byName map[string]Tool, calls []model.ToolCall, turn int, tr Tracer, res *Result) []string {
	results := make([]string, len(calls))
	var wg sync.WaitGroup
	var mu sync.Mutex
	for i, c := range calls {
		res.ToolCalls++
		tr.Trace(ToolCall{Turn: turn, ID: c.ID, Name: c.Name, Arguments: c.Arguments})
		tool, ok := byName[c.Name]
		if !ok {
			res.InvalidActions++
			results[i] = fmt.Sprintf("error: there is no tool %q; tools: %s", c.Name, strings.Join(keys(byName), ", "))
			tr.Trace(ToolResult{Turn: turn, ID: c.ID, Name: c.Name, Error: true, Result: results[i], Size: len(results[i])})
			continue
		}
		if tool.Parameters != nil {
			if err := flows.ValidateJSON(tool.Parameters, argsJSON(c.Arguments)); err != nil {
				res.InvalidActions++
				results[i] = "error: invalid arguments: " + err.Error() + ". Fix them and call again."
				tr.Trace(ToolResult{Turn: turn, ID: c.ID, Name: c.Name, Error: true, InvalidArguments: true, Result: results[i], Size: len(results[i])})
				continue
			}
		}
		wg.Add(1)
		go func(i int, c model.ToolCall, tool Tool) {
			defer wg.Done()
			start := time.Now()
			out, err := tool.Call(ctx, c.Arguments)
			isErr := err != nil
			if isErr {
				out = strings.TrimSpace(out + "\nerror: " + err.Error())
			}
			size := len(out)
			if size > maxResultChars {
				out = clipBytes(out, maxResultChars) + fmt.Sprintf("\n[truncated: %d of %d characters shown]", maxResultChars, size)
			}
			mu.Lock()
			results[i] = out
			mu.Unlock()
			tr.Trace(ToolResult{Turn: turn, ID: c.ID, Name: c.Name, Error: isErr, Result: clip(out, maxResultChars),
				Size: size, Truncated: size > maxResultChars, DurationMS: time.Since(start).Milliseconds()})
		}(i, c, tool)
	}
	wg.Wait()
	return results
}

func modeName(native bool, tools int) string {
	switch {
	case tools == 0:
		return "chat"
	case native:
		return "native"
	}
	return "fallback"
}

func toolNames(tools []Tool) []string {
	out := make([]string, len(tools))
	for i, t := range tools {
		out[i] = t.Name
	}
	return out
}

func keys(m map[string]Tool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// clip cuts s to at most n bytes, marking the cut with "…".
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return clipBytes(s, n) + "…"
}

// clipBytes cuts s to at most n bytes, between characters: a cut inside a character would
// leave invalid UTF-8 in the conversation, the trace and the terminal.
func clipBytes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
