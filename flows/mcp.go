package flows

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// MCPServer is an MCP server an agent's tools can come from: a command started over stdio,
// or a streamable HTTP endpoint.
type MCPServer struct {
	Name    string
	Command string            // stdio: the program (resolved against the file's directory when relative with a slash)
	Args    []string          // stdio: its arguments
	Env     map[string]string // stdio: extra environment
	URL     string            // streamable HTTP endpoint
	// Trusted servers' tools run without asking; others go through the same approval as
	// the shell tool (asked in the workbench, --allow-mcp NAME headless).
	Trusted bool
	// Timeout bounds starting the server and each call (default 30 s).
	Timeout time.Duration
	Pos     Pos
}

var mcpServerKeys = []string{"command", "args", "env", "url", "trusted", "timeout"}

// MCPFile is the workspace file that declares MCP servers for every agent beside it.
const MCPFile = "mcp.yaml"

// parseMCPServers reads an mcp: mapping of server names to their specs.
func parseMCPServers(r *reporter, n *yaml.Node, dir string) map[string]MCPServer {
	out := map[string]MCPServer{}
	r.mapping(n, "mcp", nil, func(name string, k, v *yaml.Node) {
		s := MCPServer{Name: name, Pos: pos(k)}
		r.mapping(v, "mcp server "+name, mcpServerKeys, func(key string, _, x *yaml.Node) {
			switch key {
			case "command":
				s.Command = r.str(x, "command")
				if strings.Contains(s.Command, "/") && !filepath.IsAbs(s.Command) {
					s.Command = filepath.Join(dir, s.Command)
				}
			case "args":
				if x.Kind != yaml.SequenceNode {
					r.at(pos(x), "args must be a list of strings")
					return
				}
				for _, a := range x.Content {
					s.Args = append(s.Args, r.str(a, "arg"))
				}
			case "env":
				s.Env = r.strMap(x, "env")
			case "url":
				s.URL = r.str(x, "url")
				if u, err := url.Parse(s.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
					r.at(pos(x), "mcp server %s: url must be an http(s) URL, not %q", name, s.URL)
				}
			case "trusted":
				s.Trusted = r.boolean(x, "trusted")
			case "timeout":
				s.Timeout = r.duration(x, "timeout")
			}
		})
		if (s.Command == "") == (s.URL == "") {
			r.at(pos(k), "mcp server %s needs either command: (stdio) or url: (streamable HTTP)", name)
		}
		if !idPattern().MatchString(name) {
			r.at(pos(k), "mcp server name %q must match [a-z0-9_-]+", name)
		}
		out[name] = s
	})
	return out
}

// loadWorkspaceMCP reads mcp.yaml beside an agent file, if there is one: a servers: mapping
// in the same form as an agent's mcp: key.
func loadWorkspaceMCP(dir string) (map[string]MCPServer, error) {
	path := filepath.Join(dir, MCPFile)
	src, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	r := &reporter{file: path}
	doc, ok := parseYAML(r, src)
	if !ok {
		return nil, r.err()
	}
	var servers map[string]MCPServer
	r.mapping(doc, "mcp.yaml", []string{"servers"}, func(_ string, _, v *yaml.Node) {
		servers = parseMCPServers(r, v, dir)
	})
	if err := r.err(); err != nil {
		return nil, err
	}
	return servers, nil
}

// checkMCPTools resolves an agent's mcp: tool references against its servers (its own, then
// the workspace's mcp.yaml) and reports those that name no server.
func checkMCPTools(r *reporter, a *Agent) {
	var workspace map[string]MCPServer
	loaded := false
	for _, t := range a.Tools {
		if t.Kind != "mcp" {
			continue
		}
		if _, ok := a.MCP[t.Server]; ok {
			continue
		}
		if !loaded {
			var err error
			workspace, err = loadWorkspaceMCP(a.Dir)
			if err != nil {
				reportNested(r, t.Pos, MCPFile, err)
			}
			loaded = true
		}
		s, ok := workspace[t.Server]
		if !ok {
			names := append(keys(a.MCP), keys(workspace)...)
			sort.Strings(names)
			r.at(t.Pos, "tool %s: no MCP server %q is declared (in this file's mcp: or in %s)%s", t.Name, t.Server, MCPFile, suggest(t.Server, names))
			continue
		}
		if a.MCP == nil {
			a.MCP = map[string]MCPServer{}
		}
		a.MCP[t.Server] = s
	}
}
