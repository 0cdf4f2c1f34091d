// Package mcp gives agents the tools of MCP servers, through the official Go SDK's client: a
// server declared in an agent file (or the workspace's mcp.yaml) is started once per agent
// step, its tools become agents.Tools with the server's own schemas, and it is stopped when
// the step ends. A server that crashes, hangs or answers with an error is a tool error the
// model sees; it never stops the run.
package mcp

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"tandem/agents"
	"tandem/flows"
)

// DefaultTimeout bounds starting a server and each call when its spec sets no timeout.
const DefaultTimeout = 30 * time.Second

// maxResultBytes caps a tool result shown to the model, as the built-in tools do.
const maxResultBytes = 16 << 10

// Session is a connection to one running MCP server.
type Session struct {
	spec    flows.MCPServer
	session *sdk.ClientSession
	stderr  *tailBuffer
}

// Connect starts (stdio) or reaches (HTTP) a server and initialises the MCP session. dir is
// the working directory of a stdio server.
func Connect(ctx context.Context, spec flows.MCPServer, dir string) (*Session, error) {
	timeout := spec.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	client := sdk.NewClient(&sdk.Implementation{Name: "tandem", Version: "1"}, nil)
	s := &Session{spec: spec, stderr: &tailBuffer{limit: 4 << 10}}
	var transport sdk.Transport
	if spec.URL != "" {
		transport = &sdk.StreamableClientTransport{Endpoint: spec.URL, MaxRetries: 1}
	} else {
		// Not CommandContext: the server must outlive this connect's timeout; Close ends it.
		cmd := exec.Command(spec.Command, spec.Args...)
		cmd.Dir = dir
		cmd.Env = os.Environ()
		for k, v := range spec.Env {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
		cmd.Stderr = s.stderr
		transport = &sdk.CommandTransport{Command: cmd, TerminateDuration: 2 * time.Second}
	}
	session, err := client.Connect(cctx, transport, nil)
	if err != nil {
		return nil, fmt.Errorf("start MCP server %s: %w%s", spec.Name, err, s.stderrNote())
	}
	s.session = session
	return s, nil
}

// Close ends the session and stops a stdio server.
func (s *Session) Close() error { return s.session.Close() }

// Tools lists the server's tools as agent tools (only the one named, when only is set).
// Each is named SERVER_TOOL so tools of two servers, or a server and a built-in, never clash;
// approve, when not nil, is asked before every call.
func (s *Session) Tools(ctx context.Context, only string, approve agents.Approver) ([]agents.Tool, error) {
	cctx, cancel := context.WithTimeout(ctx, s.timeout())
	defer cancel()
	var tools []agents.Tool
	var cursor string
	for {
		res, err := s.session.ListTools(cctx, &sdk.ListToolsParams{Cursor: cursor})
		if err != nil {
			return nil, fmt.Errorf("list tools of MCP server %s: %w%s", s.spec.Name, err, s.stderrNote())
		}
		for _, t := range res.Tools {
			if only != "" && t.Name != only {
				continue
			}
			tools = append(tools, s.tool(t, approve))
		}
		if res.NextCursor == "" {
			break
		}
		cursor = res.NextCursor
	}
	if only != "" && len(tools) == 0 {
		return nil, fmt.Errorf("MCP server %s has no tool %q", s.spec.Name, only)
	}
	return tools, nil
}

func (s *Session) timeout() time.Duration {
	if s.spec.Timeout > 0 {
		return s.spec.Timeout
	}
	return DefaultTimeout
}

var toolNameChars = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`[^a-zA-Z0-9_]+`) })

// ToolName is the name an agent sees for a server's tool.
func ToolName(server, tool string) string {
	return strings.Trim(toolNameChars().ReplaceAllString(server+"_"+tool, "_"), "_")
}

// ErrNotApproved is the tool error of a call that was not allowed to run.
var ErrNotApproved = errors.New("not approved")

func (s *Session) tool(t *sdk.Tool, approve agents.Approver) agents.Tool {
	params, _ := t.InputSchema.(map[string]any)
	if params == nil {
		params = map[string]any{"type": "object"}
	}
	name := ToolName(s.spec.Name, t.Name)
	desc := t.Description
	if desc == "" {
		desc = "The " + t.Name + " tool of the " + s.spec.Name + " MCP server."
	}
	return agents.Tool{Name: name, Description: desc, Parameters: params,
		Call: func(ctx context.Context, args map[string]any) (string, error) {
			if !s.spec.Trusted && (approve == nil || !approve(ctx, name, args)) {
				return "", fmt.Errorf("%w: %s is a tool of MCP server %s, which is not trusted: it needs approval (interactive), --allow-mcp %s (headless) or trusted: true", ErrNotApproved, name, s.spec.Name, s.spec.Name)
			}
			cctx, cancel := context.WithTimeout(ctx, s.timeout())
			defer cancel()
			res, err := s.session.CallTool(cctx, &sdk.CallToolParams{Name: t.Name, Arguments: args})
			if err != nil {
				if cctx.Err() != nil && ctx.Err() == nil {
					return "", fmt.Errorf("MCP server %s did not answer %s within %s", s.spec.Name, t.Name, s.timeout())
				}
				return "", fmt.Errorf("MCP server %s: %s: %w%s", s.spec.Name, t.Name, err, s.stderrNote())
			}
			text := resultText(res)
			if res.IsError {
				return "", errors.New(text)
			}
			return text, nil
		}}
}

// resultText is a call's content as the model reads it: text parts joined, other parts named.
func resultText(res *sdk.CallToolResult) string {
	var b strings.Builder
	for i, c := range res.Content {
		if i > 0 {
			b.WriteString("\n")
		}
		switch x := c.(type) {
		case *sdk.TextContent:
			b.WriteString(x.Text)
		case *sdk.ImageContent:
			fmt.Fprintf(&b, "[image %s, %d bytes]", x.MIMEType, len(x.Data))
		case *sdk.AudioContent:
			fmt.Fprintf(&b, "[audio %s, %d bytes]", x.MIMEType, len(x.Data))
		default:
			fmt.Fprintf(&b, "[%T]", c)
		}
	}
	out := b.String()
	if len(out) > maxResultBytes {
		out = out[:maxResultBytes] + "\n[truncated]"
	}
	return out
}

func (s *Session) stderrNote() string {
	if t := strings.TrimSpace(s.stderr.String()); t != "" {
		return " (its stderr: " + t + ")"
	}
	return ""
}

// tailBuffer keeps the last limit bytes written to it.
type tailBuffer struct {
	mu    sync.Mutex
	limit int
	buf   []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > t.limit {
		t.buf = bytes.Clone(t.buf[len(t.buf)-t.limit:])
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}
