package mcp_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"tandem/flows"
)

// filesystemServer is the entry point of the reference MCP filesystem server from npm, which
// scripts/mcp-test-servers installs (CI runs it; elsewhere, run it once).
func filesystemServer(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("bash", "../../scripts/mcp-test-servers", "--print-env").Output()
	if err != nil {
		t.Fatalf("scripts/mcp-test-servers --print-env: %v", err)
	}
	path := strings.TrimPrefix(strings.TrimSpace(string(out)), "TANDEM_MCP_FILESYSTEM=")
	if _, err := os.Stat(path); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("the MCP filesystem server is not installed (%v); .ci/run runs scripts/mcp-test-servers", err)
		}
		t.Skipf("the MCP filesystem server is not installed: run bash scripts/mcp-test-servers (%v)", err)
	}
	if _, err := exec.LookPath("node"); err != nil {
		t.Fatalf("node is needed to run the MCP filesystem server: %v", err)
	}
	return path
}

func TestTheReferenceFilesystemServer(t *testing.T) {
	server := filesystemServer(t)
	allowed := t.TempDir()
	outside := t.TempDir()
	if err := os.WriteFile(filepath.Join(allowed, "notes.txt"), []byte("the tide turns at six"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(outside, "secret.txt"), []byte("outside"), 0o644); err != nil {
		t.Fatal(err)
	}
	s := connect(t, flows.MCPServer{Name: "files", Command: "node", Args: []string{server, allowed}, Trusted: true})
	tools, err := s.Tools(context.Background(), "", nil)
	if err != nil {
		t.Fatal(err)
	}
	m := byName(tools)
	read, ok := m["files_read_text_file"]
	if !ok {
		t.Fatalf("tools = %v, want files_read_text_file", tools)
	}
	if props, _ := read.Parameters["properties"].(map[string]any); props["path"] == nil {
		t.Errorf("read_text_file's schema has no path: %v", read.Parameters)
	}
	got, err := read.Call(context.Background(), map[string]any{"path": filepath.Join(allowed, "notes.txt")})
	if err != nil || got != "the tide turns at six" {
		t.Fatalf("read_text_file = %q, %v", got, err)
	}
	_, err = read.Call(context.Background(), map[string]any{"path": filepath.Join(outside, "secret.txt")})
	if err == nil || strings.Contains(err.Error(), "outside\n") {
		t.Fatalf("reading outside the allowed directory: %v", err)
	}
	only, err := s.Tools(context.Background(), "list_directory", nil)
	if err != nil || len(only) != 1 || only[0].Name != "files_list_directory" {
		t.Fatalf("mcp:files/list_directory = %v, %v", only, err)
	}
	if _, err := s.Tools(context.Background(), "no_such_tool", nil); err == nil || !strings.Contains(err.Error(), "no tool") {
		t.Fatalf("an unknown tool: %v", err)
	}
}
