// Package modelsteps holds the executors of the steps that call a model: llm: steps (one
// call) and agent: steps (an agent's tool loop, with flow, agent and MCP tools). They live
// outside the engine so its core depends on flows alone; cmd registers them.
package modelsteps

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"tandem/agents"
	"tandem/agents/mcp"
	"tandem/agents/model"
	"tandem/engine"
	"tandem/flows"
)

// AgentExecutor runs agent: steps. The agent's turns, tool calls and results are traced into
// the step's log; flow: tools start linked child runs and agent: tools hand off to another
// agent in a child run of its own.
type AgentExecutor struct {
	Engine *engine.Engine
	Runner *agents.Runner
	Tools  ToolOptions
}

// ToolOptions turn on the built-in tools that are off by default.
type ToolOptions struct {
	AllowHTTP bool
	// Approve decides shell calls; nil refuses them (headless use passes an always-yes
	// approver for --allow-shell).
	Approve agents.Approver
	// Protected are files agent tools must never touch beyond what the workspace policy
	// already refuses: the run database and its journal files.
	Protected []string
	// AllowMCP names MCP servers whose tools run without asking (--allow-mcp); other
	// untrusted servers' calls go through Approve.
	AllowMCP []string
}

// approverFor tells approve which step asks; nil stays nil, which refuses every call.
func approverFor(approve agents.Approver, call engine.ToolCall) agents.Approver {
	if approve == nil {
		return nil
	}
	return func(ctx context.Context, tool string, args map[string]any) bool {
		return approve(engine.WithToolCall(ctx, call), tool, args)
	}
}

// Prepare renders the prompt.
func (AgentExecutor) Prepare(s *flows.Step, data map[string]any) (string, error) {
	return flows.Render(s.Agent.Prompt, data)
}

// Execute runs the agent to an answer.
func (x AgentExecutor) Execute(ctx context.Context, sr *engine.StepRun) (engine.Result, error) {
	ctx = model.ContextWithStallTimeouts(ctx, model.StallTimeouts(sr.Step.ModelTimeouts))
	path := resolve(sr.Flow.Dir, sr.Step.Agent.File)
	a, err := flows.LoadAgent(path)
	if err != nil {
		return engine.Result{}, engine.Permanent(fmt.Errorf("load agent %s: %w", sr.Step.Agent.File, err))
	}
	session := ""
	if sr.Step.Agent.Session != "" {
		if session, err = flows.Render(sr.Step.Agent.Session, sr.Data); err != nil {
			return engine.Result{}, engine.Permanent(fmt.Errorf("session: %w", err))
		}
	}
	if sr.Step.Agent.Model != "" {
		name, err := flows.Render(sr.Step.Agent.Model, sr.Data)
		if err != nil {
			return engine.Result{}, engine.Permanent(fmt.Errorf("model: %w", err))
		}
		if name = strings.TrimSpace(name); name != "" {
			override := *a // the step's model, not the file's: the file stays as it is
			override.Model = name
			a = &override
		}
	}
	tools, closeTools, err := agentTools(ctx, x.Engine, a, sr, x.Tools, x.Runner)
	if err != nil {
		return engine.Result{}, err
	}
	defer closeTools()
	res, err := x.Runner.Run(ctx, agents.Task{Agent: a, Prompt: sr.Input, Schema: sr.Step.Agent.Schema,
		Session: session, Tools: tools, Tracer: agents.TracerFuncs{EmitFunc: sr.Emit,
			TraceFunc: func(rec agents.Record) { sr.Trace(string(rec.Kind()), rec) }}})
	out := engine.Result{Output: res.Answer, Tokens: &engine.Tokens{Prompt: res.PromptTokens, Output: res.OutputTokens}}
	if err != nil {
		var stopped *agents.StoppedError
		if errors.As(err, &stopped) {
			return out, err
		}
		return out, err
	}
	return out, nil
}

func resolve(dir, p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(dir, p)
}

var toolNameChars = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`[^a-zA-Z0-9_]+`) })

// toolName turns a flow or agent name into a tool name a model can write.
func toolName(name string) string {
	return strings.Trim(toolNameChars().ReplaceAllString(name, "_"), "_")
}

// agentTools builds an agent's tools for one step attempt, starting the MCP servers they
// come from; the returned func stops them. An error is permanent when the definitions are
// wrong, and retryable when an MCP server could not be started.
func agentTools(ctx context.Context, e *engine.Engine, a *flows.Agent, sr *engine.StepRun, o ToolOptions, runner *agents.Runner) ([]agents.Tool, func(), error) {
	servers := &mcpServers{}
	tools, err := buildTools(ctx, e, a, sr, o, servers)
	if err != nil {
		servers.close()
		return nil, func() {}, err
	}
	return tools, servers.close, nil
}

func buildTools(ctx context.Context, e *engine.Engine, a *flows.Agent, sr *engine.StepRun, o ToolOptions, servers *mcpServers) ([]agents.Tool, error) {
	ws := agents.Workspace{Root: a.Workspace, Protected: o.Protected, Seen: agents.NewSeenFiles()}
	if ws.Root == "" {
		ws.Root = a.Dir
	}
	var calls atomic.Int32 // numbers child runs so each call gets its own, stably
	var tools []agents.Tool
	for _, ref := range a.Tools {
		switch ref.Kind {
		case "builtin":
			switch ref.Name {
			case "read_file":
				tools = append(tools, agents.ReadFile(ws))
			case "list_dir":
				tools = append(tools, agents.ListDir(ws))
			case "write_file":
				tools = append(tools, agents.WriteFile(ws))
			case "http_get":
				tools = append(tools, agents.HTTPGet(agents.HTTPPolicy{Enabled: o.AllowHTTP, AllowHosts: a.AllowHosts}))
			case "shell":
				tools = append(tools, agents.Shell(ws, approverFor(o.Approve,
					engine.ToolCall{RunID: sr.RunID, StepID: sr.StepID, Attempt: sr.Attempt, Agent: a.Name})))
			}
		case "mcp":
			spec := a.MCP[ref.Server]
			session, err := servers.get(ctx, spec, ws.Root)
			if err != nil {
				return nil, err // retryable: a server that did not start may start next time
			}
			approve := approverFor(o.Approve, engine.ToolCall{RunID: sr.RunID, StepID: sr.StepID, Attempt: sr.Attempt, Agent: a.Name})
			if slices.Contains(o.AllowMCP, ref.Server) {
				approve = func(context.Context, string, map[string]any) bool { return true }
			}
			mt, err := session.Tools(ctx, ref.Tool, approve)
			if err != nil {
				return nil, err
			}
			tools = append(tools, mt...)
		case "flow":
			f, err := flows.Load(ref.Path)
			if err != nil {
				return nil, engine.Permanent(fmt.Errorf("tool %s: %w", ref.Name, err))
			}
			path := ref.Path
			desc := f.Description
			if desc == "" {
				desc = "Run the " + f.Name + " flow."
			}
			tools = append(tools, agents.Tool{Name: toolName(f.Name), Description: desc, Parameters: flows.ToolSchema(f),
				Call: func(ctx context.Context, args map[string]any) (string, error) {
					n := calls.Add(1)
					res, err := e.RunChild(ctx, engine.ChildRun{ParentRunID: sr.RunID, ParentStepID: sr.StepID, Attempt: sr.Attempt,
						Path: path, Typed: args, Suffix: fmt.Sprintf("tool%d", n)})
					sr.Trace(string(agents.KindChildRun), agents.ChildRun{Tool: ref.Name, RunID: res.RunID})
					if err != nil {
						return "", fmt.Errorf("flow %s (run %s): %w", f.Name, res.RunID, err)
					}
					return res.Output, nil
				}})
		case "agent":
			sub, err := flows.LoadAgent(ref.Path)
			if err != nil {
				return nil, engine.Permanent(fmt.Errorf("tool %s: %w", ref.Name, err))
			}
			path := ref.Path
			desc := sub.Description
			if desc == "" {
				desc = "Hand a task to the " + sub.Name + " agent and get its answer."
			}
			tools = append(tools, agents.Tool{Name: toolName(sub.Name), Description: desc,
				Parameters: map[string]any{"type": "object", "properties": map[string]any{
					"prompt": map[string]any{"type": "string", "description": "what to ask the agent"}}, "required": []any{"prompt"}},
				Call: func(ctx context.Context, args map[string]any) (string, error) {
					n := calls.Add(1)
					prompt, _ := args["prompt"].(string)
					src, fpath := flows.AgentFlow(path, sub.Name)
					res, err := e.RunChild(ctx, engine.ChildRun{ParentRunID: sr.RunID, ParentStepID: sr.StepID, Attempt: sr.Attempt,
						Path: fpath, Source: src, Typed: flows.AgentInputs(prompt, "", ""), Suffix: fmt.Sprintf("tool%d", n)})
					sr.Trace(string(agents.KindChildRun), agents.ChildRun{Tool: ref.Name, RunID: res.RunID})
					if err != nil {
						return "", fmt.Errorf("agent %s (run %s): %w", sub.Name, res.RunID, err)
					}
					var out map[string]any
					if json.Unmarshal([]byte(res.Output), &out) == nil {
						if v, ok := out["answer"].(string); ok {
							return v, nil
						}
					}
					return res.Output, nil
				}})
		}
	}
	return tools, nil
}

// mcpServers are the MCP servers started for one step attempt, one session per server.
type mcpServers struct {
	sessions map[string]*mcp.Session
}

func (m *mcpServers) get(ctx context.Context, spec flows.MCPServer, dir string) (*mcp.Session, error) {
	if s, ok := m.sessions[spec.Name]; ok {
		return s, nil
	}
	s, err := mcp.Connect(ctx, spec, dir)
	if err != nil {
		return nil, err
	}
	if m.sessions == nil {
		m.sessions = map[string]*mcp.Session{}
	}
	m.sessions[spec.Name] = s
	return s, nil
}

func (m *mcpServers) close() {
	for _, s := range m.sessions {
		_ = s.Close()
	}
}
