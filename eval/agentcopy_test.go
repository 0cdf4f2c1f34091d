package eval

import (
	"path/filepath"
	"testing"

	"tandem/flows"
)

func TestTheAgentCopyKeepsToolsServersAndSetsModelAndWorkspace(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "sub.yaml", "name: sub\nsteps:\n  - id: a\n    shell: echo hi\n")
	write(t, dir, "mcp.yaml", "servers:\n  files: { command: ./bin/files, args: [\"--root\", \".\"], trusted: true, timeout: 5s }\n")
	a, err := flows.ParseAgent(write(t, dir, "agent.yaml", "name: a\nmodel: small\nsystem: s\ntools: [read_file, flow:sub.yaml, mcp:files]\n"),
		[]byte("name: a\nmodel: small\nsystem: s\ntools: [read_file, flow:sub.yaml, mcp:files]\n"))
	if err != nil {
		t.Fatal(err)
	}
	ws := t.TempDir()
	path, err := writeAgentCopy(a, "big:1b", ws, filepath.Join(t.TempDir(), "cell"))
	if err != nil {
		t.Fatal(err)
	}
	c, err := flows.LoadAgent(path)
	if err != nil {
		t.Fatalf("the copy does not load: %v", err)
	}
	if c.Model != "big:1b" || c.Workspace != ws || len(c.Tools) != 3 {
		t.Fatalf("copy = model %q workspace %q tools %+v", c.Model, c.Workspace, c.Tools)
	}
	if c.Tools[1].Kind != "flow" || c.Tools[1].Path != filepath.Join(dir, "sub.yaml") || c.Tools[2].Kind != "mcp" {
		t.Fatalf("tools = %+v", c.Tools)
	}
	srv := c.MCP["files"]
	if srv.Command != filepath.Join(dir, "bin/files") || len(srv.Args) != 2 || !srv.Trusted || srv.Timeout.Seconds() != 5 {
		t.Fatalf("mcp server = %+v", srv)
	}
}
