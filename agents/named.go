package agents

import (
	"path"
	"regexp"
	"slices"
	"strings"
	"sync"
)

// A task that names a path ("What is the port in config/app.toml?") is about what that path
// holds. A 0.5B model answers such a task from a guess about half the time ("80") when it
// may answer at once; made to look first, it reads the file. And a path the task names that
// does not exist is left out of an enum of the workspace's files, so a model cannot even try
// it and reads something else instead; offered, the agent learns that it is missing.

// pathToken is a word of a prompt that may be a path.
var pathToken = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`[A-Za-z0-9_.~][A-Za-z0-9_./~-]*`) })

// fileName is a path whose last element has an extension: "notes.txt", "config/db.toml".
var fileName = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`(^|/)[A-Za-z0-9_.~-]*[A-Za-z0-9_~-]\.[A-Za-z][A-Za-z0-9]{0,7}$`)
})

// maxNamed bounds how many named paths a prompt contributes.
const maxNamed = 8

// namedPaths reads the paths a prompt names, given the tools' current path choices (the
// enums of their path arguments): named are the workspace entries the prompt names (by path,
// or a file by its base name) followed by the file names it gives that match no entry;
// existing is the first part alone.
func namedPaths(prompt string, tools []Tool) (named, existing []string) {
	entries := pathChoices(tools)
	if len(entries) == 0 {
		return nil, nil
	}
	for _, tok := range pathToken().FindAllString(prompt, -1) {
		tok = strings.TrimRight(tok, "./-")
		if tok == "" || len(named) >= maxNamed {
			continue
		}
		if hit := matchEntry(tok, entries); hit != "" {
			if !slices.Contains(existing, hit) {
				existing = append(existing, hit)
			}
			continue
		}
		if fileName().MatchString(tok) && !slices.Contains(named, tok) && !strings.HasPrefix(tok, "~") && !strings.HasPrefix(tok, "..") {
			named = append(named, tok)
		}
	}
	return append(slices.Clone(existing), named...), existing
}

// matchEntry is the entry tok names: the entry itself, or a file whose base name tok is.
func matchEntry(tok string, entries []string) string {
	clean := path.Clean(tok)
	if clean == "." {
		return ""
	}
	for _, e := range entries {
		if e == clean {
			return e
		}
	}
	if !fileName().MatchString(clean) || strings.Contains(clean, "/") {
		return ""
	}
	hit := ""
	for _, e := range entries {
		if path.Base(e) == clean {
			if hit != "" {
				return "" // two files of that name: the prompt does not say which
			}
			hit = e
		}
	}
	return hit
}

// pathChoices are the values the tools' path enums offer now.
func pathChoices(tools []Tool) []string {
	var out []string
	for _, t := range tools {
		if t.TurnParameters == nil {
			continue
		}
		props, _ := t.TurnParameters(nil)["properties"].(map[string]any)
		p, _ := props["path"].(map[string]any)
		enum, _ := p["enum"].([]any)
		for _, v := range enum {
			if s, ok := v.(string); ok && s != "." && !slices.Contains(out, s) {
				out = append(out, s)
			}
		}
	}
	return out
}

// withNamedFiles adds to a workspace's files the file names the task gives that do not
// exist (and that the workspace would let the agent ask for), so read_file may be called on
// them and answer that they are missing.
func (w Workspace) withNamedFiles(files, named []string) []string {
	out := files
	for _, n := range named {
		if slices.Contains(out, n) || !fileName().MatchString(n) {
			continue
		}
		rel, err := w.rel(n)
		if err != nil || w.check(rel) != nil || rel != n {
			continue
		}
		if out == nil || len(out) == len(files) {
			out = slices.Clone(files)
		}
		out = append(out, n)
	}
	return out
}

// readOnly are the tools that only look.
func readOnly(tools []Tool) []Tool {
	var out []Tool
	for _, t := range tools {
		if t.ReadOnly {
			out = append(out, t)
		}
	}
	return out
}

// lookSchema is the action schema of a turn that must call one of tools (no answer), on
// the paths the task names: each tool's path enum narrowed to existing, and a tool with a
// path enum that keeps none of them left out (unless that would leave no tool).
func lookSchema(tools []Tool, named, existing []string) map[string]any {
	s := actionSchema(tools, named, nil)
	all := s["anyOf"].([]any)
	all = all[:len(all)-1] // the answer
	var narrowed []any
	for _, b := range all {
		branch := b.(map[string]any)
		props := branch["properties"].(map[string]any)
		args, _ := props["arguments"].(map[string]any)
		aprops, _ := args["properties"].(map[string]any)
		p, _ := aprops["path"].(map[string]any)
		enum, ok := p["enum"].([]any)
		if !ok {
			narrowed = append(narrowed, branch)
			continue
		}
		var keep []string
		for _, v := range enum {
			if s, _ := v.(string); slices.Contains(existing, s) {
				keep = append(keep, s)
			}
		}
		if len(keep) == 0 {
			continue
		}
		newArgs := pathEnumParams(args, keep, true)
		newProps := map[string]any{}
		for k, v := range props {
			newProps[k] = v
		}
		newProps["arguments"] = newArgs
		nb := map[string]any{}
		for k, v := range branch {
			nb[k] = v
		}
		nb["properties"] = newProps
		narrowed = append(narrowed, nb)
	}
	if len(narrowed) == 0 {
		narrowed = all
	}
	return map[string]any{"anyOf": narrowed}
}
