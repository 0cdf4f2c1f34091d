package mcp_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"tandem/agents"
	"tandem/agents/mcp"
	"tandem/flows"
)

var (
	buildOnce sync.Once
	serverBin string
	buildErr  error
)

// echoServer builds the Go MCP server in testdata once per test binary.
func echoServer(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "echoserver")
		if err != nil {
			buildErr = err
			return
		}
		serverBin = filepath.Join(dir, "echoserver")
		out, err := exec.Command("go", "build", "-o", serverBin, "./testdata/echoserver").CombinedOutput()
		if err != nil {
			buildErr = errors.New(string(out))
		}
	})
	if buildErr != nil {
		t.Fatalf("build echoserver: %v", buildErr)
	}
	return serverBin
}

func byName(tools []agents.Tool) map[string]agents.Tool {
	m := map[string]agents.Tool{}
	for _, t := range tools {
		m[t.Name] = t
	}
	return m
}

func allow(context.Context, string, map[string]any) bool { return true }

func connect(t *testing.T, spec flows.MCPServer) *mcp.Session {
	t.Helper()
	s, err := mcp.Connect(context.Background(), spec, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestAStdioServersToolsBecomeAgentTools(t *testing.T) {
	s := connect(t, flows.MCPServer{Name: "echo", Command: echoServer(t), Timeout: 2 * time.Second})
	tools, err := s.Tools(context.Background(), "", allow)
	if err != nil {
		t.Fatal(err)
	}
	m := byName(tools)
	for _, name := range []string{"echo_echo", "echo_fail", "echo_hang", "echo_crash"} {
		if _, ok := m[name]; !ok {
			t.Fatalf("tools = %v, want %s", tools, name)
		}
	}
	props, _ := m["echo_echo"].Parameters["properties"].(map[string]any)
	if _, ok := props["text"]; !ok {
		t.Errorf("echo's schema came without its text property: %v", m["echo_echo"].Parameters)
	}
	ctx := context.Background()
	t.Run("a call returns the server's text", func(t *testing.T) {
		got, err := m["echo_echo"].Call(ctx, map[string]any{"text": "hi"})
		if err != nil || got != "echo: hi" {
			t.Fatalf("echo = %q, %v", got, err)
		}
	})
	t.Run("a tool error is an error the model sees", func(t *testing.T) {
		_, err := m["echo_fail"].Call(ctx, nil)
		if err == nil || !strings.Contains(err.Error(), "failed on purpose") {
			t.Fatalf("fail = %v", err)
		}
	})
	t.Run("a call that hangs times out", func(t *testing.T) {
		_, err := m["echo_hang"].Call(ctx, nil)
		if err == nil || !strings.Contains(err.Error(), "did not answer") {
			t.Fatalf("hang = %v", err)
		}
	})
	t.Run("a server that crashes is an error, now and after", func(t *testing.T) {
		if _, err := m["echo_crash"].Call(ctx, nil); err == nil {
			t.Fatal("crash returned no error")
		}
		if _, err := m["echo_echo"].Call(ctx, map[string]any{"text": "still there?"}); err == nil {
			t.Fatal("a call after the crash succeeded")
		}
	})
}

func TestUntrustedServersAskBeforeEveryCall(t *testing.T) {
	s := connect(t, flows.MCPServer{Name: "echo", Command: echoServer(t)})
	var asked []string
	deny := func(_ context.Context, tool string, _ map[string]any) bool { asked = append(asked, tool); return false }
	tools, err := s.Tools(context.Background(), "echo", deny)
	if err != nil || len(tools) != 1 {
		t.Fatalf("tools = %v, %v; want only echo", tools, err)
	}
	_, err = tools[0].Call(context.Background(), map[string]any{"text": "x"})
	if !errors.Is(err, mcp.ErrNotApproved) || len(asked) != 1 || asked[0] != "echo_echo" {
		t.Fatalf("err = %v, asked %v", err, asked)
	}
	trusted := connect(t, flows.MCPServer{Name: "echo", Command: echoServer(t), Trusted: true})
	tools, _ = trusted.Tools(context.Background(), "echo", deny)
	if got, err := tools[0].Call(context.Background(), map[string]any{"text": "x"}); err != nil || got != "echo: x" {
		t.Fatalf("a trusted server's call = %q, %v", got, err)
	}
}

func TestAStreamableHTTPServer(t *testing.T) {
	server := sdk.NewServer(&sdk.Implementation{Name: "web", Version: "1"}, nil)
	sdk.AddTool(server, &sdk.Tool{Name: "greet", Description: "Greets."},
		func(context.Context, *sdk.CallToolRequest, struct{}) (*sdk.CallToolResult, any, error) {
			return &sdk.CallToolResult{Content: []sdk.Content{&sdk.TextContent{Text: "hello over HTTP"}}}, nil, nil
		})
	srv := httptest.NewServer(sdk.NewStreamableHTTPHandler(func(*http.Request) *sdk.Server { return server }, nil))
	t.Cleanup(srv.Close) // after the session's cleanup: Close waits for its open stream
	s := connect(t, flows.MCPServer{Name: "web", URL: srv.URL, Trusted: true})
	tools, err := s.Tools(context.Background(), "", nil)
	if err != nil || len(tools) != 1 || tools[0].Name != "web_greet" {
		t.Fatalf("tools = %v, %v", tools, err)
	}
	if got, err := tools[0].Call(context.Background(), nil); err != nil || got != "hello over HTTP" {
		t.Fatalf("greet = %q, %v", got, err)
	}
}

func TestServersThatCannotBeReachedSaySo(t *testing.T) {
	for _, spec := range []flows.MCPServer{
		{Name: "missing", Command: "/nonexistent/mcp-server"},
		{Name: "exits", Command: "sh", Args: []string{"-c", "echo no such server >&2; exit 1"}},
		{Name: "down", URL: "http://127.0.0.1:1/mcp", Timeout: 2 * time.Second},
	} {
		_, err := mcp.Connect(context.Background(), spec, t.TempDir())
		if err == nil || !strings.Contains(err.Error(), "MCP server "+spec.Name) {
			t.Errorf("%s: err = %v, want one naming the server", spec.Name, err)
		}
	}
}
