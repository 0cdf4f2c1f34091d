package flows

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// BuiltinTools are the tools the agent runtime provides by name.
var BuiltinTools = []string{"read_file", "list_dir", "write_file", "http_get", "shell"}

var agentKeys = []string{"name", "description", "model", "system", "tools", "max_turns", "max_tokens", "timeout", "memory", "output", "options", "think", "tool_calling", "workspace", "allow_hosts", "mcp"}

// Agent is a parsed, validated agent file.
type Agent struct {
	Name         string
	Description  string
	Model        string // "" means the configured default
	System       string
	Tools        []ToolRef
	MaxTurns     int // default 8
	MaxTokens    int // 0: no token budget
	Timeout      time.Duration
	Memory       string // none or session
	OutputSchema map[string]any
	Options      map[string]any
	Think        bool
	// ToolCalling is how the agent calls tools: auto (native when the model supports it),
	// native, or fallback (schema-constrained JSON actions; best for very small models).
	ToolCalling string
	// Workspace is the directory the agent's file tools and shell work in (absolute); by
	// default the agent file's directory.
	Workspace string
	// AllowHosts, when set, are the only hosts http_get may fetch (they may be private).
	AllowHosts []string
	// MCP are the MCP servers the agent's mcp: tools come from, by name: its own mcp: key
	// and, for names it does not declare, the workspace's mcp.yaml.
	MCP       map[string]MCPServer
	Path, Dir string
	Source    []byte
	Pos       Pos
}

// ToolRef names a tool an agent may call.
type ToolRef struct {
	Name string // as written: read_file, flow:x.yaml, agent:y.yaml
	Kind string // builtin, flow, agent, mcp
	Path string // absolute file for flow and agent tools
	// Server and Tool name an MCP tool reference: mcp:SERVER (every tool it has) or
	// mcp:SERVER/TOOL (one of them).
	Server, Tool string
	Pos          Pos
}

// LoadAgent reads, parses and validates an agent file.
func LoadAgent(path string) (*Agent, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read agent: %w", err)
	}
	return ParseAgent(path, src)
}

// ParseAgent parses and validates an agent from bytes.
func ParseAgent(path string, src []byte) (*Agent, error) {
	return parseAgent(path, src, map[string]bool{})
}

func parseAgentFile(path string, visiting map[string]bool) (*Agent, error) {
	abs, _ := filepath.Abs(path)
	if visiting[abs] {
		return nil, Diagnostics{{File: path, Pos: Pos{1, 1}, Msg: "agent includes itself through its tools (recursion)"}}
	}
	src, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("file %s does not exist", path)
		}
		return nil, err
	}
	return parseAgent(path, src, visiting)
}

func parseAgent(path string, src []byte, visiting map[string]bool) (a *Agent, err error) {
	abs, aerr := filepath.Abs(path)
	if aerr != nil {
		abs = path
	}
	r := &reporter{file: path}
	defer func() {
		if p := recover(); p != nil {
			a, err = nil, Diagnostics{{File: path, Pos: Pos{1, 1}, Msg: fmt.Sprintf("internal error while parsing: %v", p)}}
		}
	}()
	doc, ok := parseYAML(r, src)
	if !ok {
		return nil, r.err()
	}
	a = &Agent{Path: abs, Dir: filepath.Dir(abs), Source: src, MaxTurns: 8, Memory: "none", ToolCalling: "auto", Pos: pos(doc)}
	a.Workspace = a.Dir
	visiting[abs] = true
	defer delete(visiting, abs)
	hasName := false
	r.mapping(doc, "the agent", agentKeys, func(key string, k, v *yaml.Node) {
		switch key {
		case "name":
			a.Name, hasName = r.str(v, "name"), true
			if strings.ContainsFunc(a.Name, isTerminalControl) {
				r.at(pos(v), "the agent's name %q holds control characters (a terminal would act on them); a name is printed in every listing", a.Name)
			}
		case "description":
			a.Description = r.str(v, "description")
		case "model":
			a.Model = r.str(v, "model")
		case "system":
			a.System = r.str(v, "system")
		case "tools":
			if v.Kind != yaml.SequenceNode {
				r.at(pos(v), "tools must be a list like [read_file, flow:summarize.yaml]")
				return
			}
			for _, t := range v.Content {
				name := r.str(t, "tool")
				if name == "" {
					continue
				}
				a.Tools = append(a.Tools, parseToolRef(r, a.Dir, name, pos(t), visiting))
			}
		case "max_turns":
			a.MaxTurns = r.integer(v, "max_turns")
			if a.MaxTurns < 1 {
				r.at(pos(v), "max_turns must be at least 1")
			}
		case "max_tokens":
			a.MaxTokens = r.integer(v, "max_tokens")
			if a.MaxTokens < 0 {
				r.at(pos(v), "max_tokens cannot be negative")
			}
		case "timeout":
			a.Timeout = r.duration(v, "timeout")
		case "memory":
			a.Memory = r.str(v, "memory")
			if a.Memory != "none" && a.Memory != "session" {
				r.at(pos(v), "memory must be none or session, not %q", a.Memory)
			}
		case "output":
			r.mapping(v, "output", []string{"schema"}, func(_ string, _, sv *yaml.Node) {
				a.OutputSchema = parseSchema(r, sv)
			})
		case "options":
			if m, ok := r.value(v, "options").(map[string]any); ok {
				a.Options = m
			} else {
				r.at(pos(v), "options must be a mapping (temperature: 0, seed: 1, ...)")
			}
		case "think":
			a.Think = r.boolean(v, "think")
		case "workspace":
			ws := r.str(v, "workspace")
			a.Workspace = resolvePath(a.Dir, ws)
			if st, err := os.Stat(a.Workspace); err != nil || !st.IsDir() {
				r.at(pos(v), "workspace %q is not a directory next to the agent file", ws)
			}
		case "allow_hosts":
			if v.Kind != yaml.SequenceNode {
				r.at(pos(v), "allow_hosts must be a list like [example.com, \"*.example.org\"]")
				return
			}
			for _, h := range v.Content {
				if name := r.str(h, "host"); name != "" {
					a.AllowHosts = append(a.AllowHosts, name)
				}
			}
		case "mcp":
			a.MCP = parseMCPServers(r, v, a.Dir)
		case "tool_calling":
			a.ToolCalling = r.str(v, "tool_calling")
			if !contains([]string{"auto", "native", "fallback"}, a.ToolCalling) {
				r.at(pos(v), "tool_calling must be auto, native or fallback, not %q", a.ToolCalling)
			}
		}
	})
	if !hasName {
		r.at(pos(doc), "the agent needs a name (name: my-agent)")
	}
	checkMCPTools(r, a)
	if err := r.err(); err != nil {
		return nil, err
	}
	return a, nil
}

func parseToolRef(r *reporter, dir, name string, p Pos, visiting map[string]bool) ToolRef {
	t := ToolRef{Name: name, Kind: "builtin", Pos: p}
	switch {
	case strings.HasPrefix(name, "flow:"):
		t.Kind, t.Path = "flow", resolvePath(dir, strings.TrimPrefix(name, "flow:"))
		abs, _ := filepath.Abs(t.Path)
		if visiting[abs] {
			r.at(p, "tool %s: the flow includes this agent (recursion)", name)
			break
		}
		src, err := os.ReadFile(t.Path)
		if err != nil {
			r.at(p, "tool %s: flow file does not exist", name)
			break
		}
		if _, err := parseFlow(t.Path, src, visiting); err != nil {
			reportNested(r, p, "tool "+name, err)
		}
	case strings.HasPrefix(name, "mcp:"):
		t.Kind = "mcp"
		t.Server, t.Tool, _ = strings.Cut(strings.TrimPrefix(name, "mcp:"), "/")
		if t.Server == "" {
			r.at(p, "tool %s: name the server, as mcp:NAME or mcp:NAME/TOOL", name)
		}
	case strings.HasPrefix(name, "agent:"):
		t.Kind, t.Path = "agent", resolvePath(dir, strings.TrimPrefix(name, "agent:"))
		if _, err := parseAgentFile(t.Path, visiting); err != nil {
			reportNested(r, p, "tool "+name, err)
		}
	default:
		if !contains(BuiltinTools, name) {
			r.at(p, "unknown tool %q (built-ins: %s; or flow:FILE, agent:FILE, mcp:SERVER)%s", name, strings.Join(BuiltinTools, ", "), suggest(name, BuiltinTools))
		}
	}
	return t
}

// LoadAny loads a flow or an agent file, deciding by content: a top-level steps: key makes a
// flow; otherwise a file with model, system or tools is an agent.
func LoadAny(path string) (*Flow, *Agent, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		// The path is where every message about the file starts; say only why it failed.
		var pe *fs.PathError
		if errors.As(err, &pe) {
			return nil, nil, fmt.Errorf("cannot read the file: %w", pe.Err)
		}
		return nil, nil, err
	}
	if definitionKind(src) == "agent" {
		a, err := ParseAgent(path, src)
		return nil, a, err
	}
	f, err := Parse(path, src)
	return f, nil, err
}

// DefinitionKind tells a flow file ("flow") from an agent file ("agent") by its top-level
// keys; "" is neither (an eval suite, other YAML, or text that is not YAML).
func DefinitionKind(src []byte) string { return definitionKind(src) }

// definitionKind tells a flow ("flow": it has steps) from an agent ("agent": a model, a
// system prompt or tools) by its top-level keys; "" is neither.
func definitionKind(src []byte) string {
	kind, _ := probeDefinition(src)
	return kind
}

func probeDefinition(src []byte) (kind string, named bool) {
	var probe map[string]any
	if yaml.Unmarshal(src, &probe) != nil || probe == nil {
		return "", false
	}
	_, named = probe["name"]
	kind = probeKind(probe)
	return kind, named
}

func probeKind(probe map[string]any) string {
	if _, ok := probe["steps"]; ok {
		return "flow"
	}
	for _, k := range []string{"model", "system", "tools"} {
		if _, ok := probe[k]; ok {
			return "agent"
		}
	}
	return ""
}

// IsDefinition reports whether YAML text is a tandem flow, agent or eval suite file (a name
// beside steps, or beside a model, system prompt or tools; a target beside cases), so agent
// file tools can refuse to read or rewrite one.
func IsDefinition(src []byte) bool {
	kind, named := probeDefinition(src)
	if kind != "" && named {
		return true
	}
	// An eval suite (a target and cases) decides what counts as a pass: an agent under
	// evaluation must not rewrite its own expectations.
	var probe map[string]any
	if yaml.Unmarshal(src, &probe) != nil {
		return false
	}
	_, target := probe["target"]
	_, cases := probe["cases"]
	return target && cases
}
