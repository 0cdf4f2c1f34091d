package main_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// echoMCPServer builds the Go MCP server of the agents/mcp tests.
func echoMCPServer(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "echoserver")
	if out, err := exec.Command("go", "build", "-o", bin, "../../agents/mcp/testdata/echoserver").CombinedOutput(); err != nil {
		t.Fatalf("build echoserver: %v\n%s", err, out)
	}
	return bin
}

func TestMCPToolsInAnAgentStep(t *testing.T) {
	server := echoMCPServer(t)
	call := action(map[string]any{"tool": "echo_echo", "arguments": map[string]any{"text": "hi"}})
	const flow = "name: job\nsteps:\n  - id: act\n    agent: helper.yaml\n    prompt: say hi through echo\n"
	tests := []struct {
		name  string
		agent string
		files map[string]string
		args  []string
		told  string
	}{
		{"an untrusted server's call is refused headless",
			"name: helper\nsystem: x\ntools: [mcp:echo]\nmax_turns: 3\nmcp:\n  echo: { command: " + server + " }\n",
			nil, nil, "--allow-mcp echo"},
		{"--allow-mcp lets it run",
			"name: helper\nsystem: x\ntools: [mcp:echo/echo]\nmax_turns: 3\nmcp:\n  echo: { command: " + server + " }\n",
			nil, []string{"--allow-mcp", "echo"}, "echo: hi"},
		{"a trusted server from the workspace's mcp.yaml",
			"name: helper\nsystem: x\ntools: [mcp:echo]\nmax_turns: 3\n",
			map[string]string{"mcp.yaml": "servers:\n  echo: { command: " + server + ", trusted: true }\n"}, nil, "echo: hi"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, script := startScriptedModel(t, call, action(map[string]any{"answer": "done"}))
			t.Setenv("OLLAMA_HOST", srv.URL)
			t.Setenv("TANDEM_MODEL", "scripted")
			w := newWorkspace(t)
			w.write("helper.yaml", tt.agent)
			w.write("job.yaml", flow)
			for name, body := range tt.files {
				w.write(name, body)
			}
			out, errOut, code := w.tandem(append([]string{"run", "job.yaml"}, tt.args...)...)
			if code != 0 {
				t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
			}
			if len(script.told) < 2 || !strings.Contains(script.told[1], tt.told) {
				t.Fatalf("the model was told %q, want %q in it", script.told, tt.told)
			}
			trace, _, _ := w.tandem("trace", firstLineRunID(t, out))
			if !strings.Contains(trace, "call echo_echo") {
				t.Errorf("the trace does not show the MCP call:\n%s", trace)
			}
		})
	}
}

func TestMCPServerMistakesAreClear(t *testing.T) {
	w := newWorkspace(t)
	w.write("helper.yaml", "name: helper\nsystem: x\ntools: [read_file, mcp:docs]\nmcp:\n  dcos: { url: http://127.0.0.1:1/mcp }\n  both: { command: x, url: http://a/ }\n")
	_, errOut, code := w.tandem("validate", "helper.yaml")
	if code != 2 {
		t.Fatalf("validate exit %d, want 2\n%s", code, errOut)
	}
	for _, want := range []string{"helper.yaml:3:", `no MCP server "docs"`, `did you mean "dcos"`, "helper.yaml:6:", "either command"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("validate said:\n%s\nwant %q in it", errOut, want)
		}
	}

	t.Run("a server that will not start fails the step with its stderr, retryably", func(t *testing.T) {
		srv, _ := startScriptedModel(t, action(map[string]any{"answer": "done"}))
		t.Setenv("OLLAMA_HOST", srv.URL)
		t.Setenv("TANDEM_MODEL", "scripted")
		w := newWorkspace(t)
		w.write("broken.sh", "#!/bin/sh\necho 'cannot open config' >&2\nexit 1\n")
		os.Chmod(filepath.Join(w.dir, "broken.sh"), 0o755)
		w.write("helper.yaml", "name: helper\nsystem: x\ntools: [mcp:broken]\nmcp:\n  broken: { command: ./broken.sh }\n")
		w.write("job.yaml", "name: job\nsteps:\n  - id: act\n    agent: helper.yaml\n    prompt: go\n")
		out, errOut, code := w.tandem("run", "job.yaml")
		if code != 1 || !strings.Contains(out+errOut, "cannot open config") || !strings.Contains(out+errOut, "MCP server broken") {
			t.Fatalf("exit %d, want 1 naming the server and its stderr\n%s\n%s", code, out, errOut)
		}
	})
}
