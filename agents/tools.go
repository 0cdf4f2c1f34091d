// Package agents runs agents: a model that decides its own steps, calling tools until it
// answers or a budget stops it. Everything it does is reported to a Tracer, which the engine
// writes to the run's event log.
package agents

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"sort"
	"strings"
	"time"

	"tandem/agents/model"
)

// Tool is something an agent can call.
type Tool struct {
	Name        string
	Description string
	Parameters  map[string]any // JSON schema of the arguments
	// TurnParameters, if set, gives the argument schema for the next turn: Parameters
	// narrowed to what exists now (the paths of a small workspace). named are the paths the
	// task's prompt names (see namedPaths), which a tool may offer even when they do not
	// exist, so that the agent can find out they are missing.
	TurnParameters func(named []string) map[string]any
	// ReadOnly says the tool only looks (it changes nothing in the workspace or elsewhere),
	// like MCP's readOnlyHint. A task that names a workspace path starts with such a tool.
	ReadOnly bool
	// Writes says the tool writes workspace files. A task that asks for no change does not
	// get it (see asks.go).
	Writes bool
	// Call runs the tool. An error is shown to the model as the result; it never stops the
	// agent.
	Call func(ctx context.Context, args map[string]any) (string, error)
}

// Definition is the tool as the model sees it.
func (t Tool) Definition() model.Tool {
	return model.Tool{Name: t.Name, Description: t.Description, Parameters: t.Parameters}
}

// ErrToolDisabled is returned by tools that are off unless enabled.
var ErrToolDisabled = errors.New("tool disabled")

func pathParam(desc string) map[string]any {
	return map[string]any{"type": "object", "properties": map[string]any{
		"path": map[string]any{"type": "string", "description": desc}}, "required": []any{"path"}}
}

func str(args map[string]any, key string) string {
	s, _ := args[key].(string)
	return s
}

// maxReadBytes caps what read_file returns to the model.
const maxReadBytes = 16 << 10

// ReadFile reads a workspace file.
func ReadFile(w Workspace) Tool {
	params := pathParam("file path relative to the workspace")
	return Tool{Name: "read_file", Description: "Read a text file from the workspace.",
		Parameters: params, ReadOnly: true,
		TurnParameters: func(named []string) map[string]any {
			files, _, ok := w.entries()
			return pathEnumParams(params, w.withNamedFiles(files, named), ok)
		},
		Call: func(_ context.Context, args map[string]any) (string, error) {
			b, err := w.readFile(str(args, "path"), maxReadBytes)
			if err != nil {
				return "", err
			}
			if len(b) > maxReadBytes {
				return string(b[:maxReadBytes]) + "\n[truncated]", nil
			}
			return string(b), nil
		}}
}

// ListDir lists a workspace directory.
func ListDir(w Workspace) Tool {
	params := map[string]any{"type": "object", "properties": map[string]any{
		"path": map[string]any{"type": "string", "description": "directory relative to the workspace; . for the top"}}}
	return Tool{Name: "list_dir", Description: "List the files in a workspace directory.",
		Parameters: params, ReadOnly: true,
		TurnParameters: func([]string) map[string]any {
			_, dirs, ok := w.entries()
			return pathEnumParams(params, dirs, ok)
		},
		Call: func(_ context.Context, args map[string]any) (string, error) {
			entries, err := w.listDir(str(args, "path"))
			if err != nil {
				return "", err
			}
			names := make([]string, 0, len(entries))
			for _, e := range entries {
				n := e.Name()
				if strings.HasPrefix(n, ".") {
					continue
				}
				if e.IsDir() {
					n += "/"
				}
				names = append(names, n)
			}
			sort.Strings(names)
			return strings.Join(names, "\n"), nil
		}}
}

// WriteFile writes a workspace file.
func WriteFile(w Workspace) Tool {
	return Tool{Name: "write_file", Description: "Write a text file in the workspace (replacing it).",
		Parameters: map[string]any{"type": "object", "properties": map[string]any{
			"path":    map[string]any{"type": "string"},
			"content": map[string]any{"type": "string"}}, "required": []any{"path", "content"}},
		Writes: true,
		Call: func(_ context.Context, args map[string]any) (string, error) {
			content := str(args, "content")
			if err := w.writeFile(str(args, "path"), []byte(content)); err != nil {
				return "", err
			}
			return fmt.Sprintf("wrote %d bytes to %s", len(content), str(args, "path")), nil
		}}
}

// Approver decides whether a tool call that needs a person may run.
type Approver func(ctx context.Context, tool string, args map[string]any) bool

// Shell runs a command in the workspace after approve says yes (nil refuses everything).
func Shell(w Workspace, approve Approver) Tool {
	return Tool{Name: "shell", Description: "Run a shell command in the workspace and return its output.",
		Parameters: map[string]any{"type": "object", "properties": map[string]any{
			"command": map[string]any{"type": "string"}}, "required": []any{"command"}},
		Call: func(ctx context.Context, args map[string]any) (string, error) {
			if approve == nil || !approve(ctx, "shell", args) {
				return "", fmt.Errorf("%w: shell needs approval (interactive) or --allow-shell (headless)", ErrToolDisabled)
			}
			ctx, cancel := context.WithTimeout(ctx, time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, "sh", "-c", str(args, "command"))
			cmd.Dir = w.Root
			out, err := cmd.CombinedOutput()
			if len(out) > maxReadBytes {
				out = append(out[:maxReadBytes], "\n[truncated]"...)
			}
			if err != nil {
				return string(out), fmt.Errorf("%v", err)
			}
			return string(out), nil
		}}
}

// argsJSON renders arguments canonically (sorted keys), for traces and loop detection.
func argsJSON(args map[string]any) string {
	b, err := json.Marshal(args)
	if err != nil {
		return fmt.Sprint(args)
	}
	return string(b)
}
