package agents

import (
	"fmt"
	"path"
	"slices"
	"strings"

	"tandem/agents/model"
)

// A 0.5B model that has read the file it needs often reads it again rather than answer, and
// then once more, until the loop guard stops it; told it may not, it reads the other files of
// the workspace one by one. So when a task names the paths it is about, the agent's looking
// follows references: after the first look, a read-only tool is offered only on the paths the
// task or a tool result named, and not again on one it was called on until something that
// may change it (a tool that is not read-only) runs. With nothing left to look at, the model
// answers, or changes what the task asks it to.

// looks are the paths read-only tools were called on since the last tool that may change
// things, by tool name.
type looks map[string][]string

// record notes a turn's calls: a read-only tool's path is added; any other tool clears all.
func (l looks) record(calls []model.ToolCall, byName map[string]Tool) {
	for _, c := range calls {
		t, ok := byName[c.Name]
		if !ok {
			continue
		}
		if !t.ReadOnly {
			clear(l)
			continue
		}
		if p, ok := c.Arguments["path"].(string); ok && !slices.Contains(l[c.Name], p) {
			l[c.Name] = append(l[c.Name], p)
		}
	}
}

// lookable are the tools for the next turn with each read-only tool's path enum narrowed to
// the paths in refs it was not called on; a tool with none left is not offered.
func lookable(tools []Tool, named []string, l looks, refs []string) []Tool {
	out := make([]Tool, 0, len(tools))
	for _, t := range tools {
		if !t.ReadOnly || t.TurnParameters == nil {
			out = append(out, t)
			continue
		}
		params := t.TurnParameters(named)
		props, _ := params["properties"].(map[string]any)
		p, _ := props["path"].(map[string]any)
		enum, ok := p["enum"].([]any)
		if !ok {
			out = append(out, t)
			continue
		}
		var keep []string
		for _, v := range enum {
			if s, _ := v.(string); !slices.Contains(l[t.Name], s) && slices.Contains(refs, s) {
				keep = append(keep, s)
			}
		}
		if len(keep) == 0 {
			continue
		}
		narrowed := pathEnumParams(params, keep, true)
		t.TurnParameters = func([]string) map[string]any { return narrowed }
		out = append(out, t)
	}
	return out
}

// referenced adds to refs the workspace entries a tool result names: by path, by a file's
// base name, or (a listing) relative to the directory the call was on.
func referenced(refs []string, calls []model.ToolCall, results []string, tools []Tool) []string {
	entries := pathChoices(tools)
	for i, c := range calls {
		dir, _ := c.Arguments["path"].(string)
		for _, tok := range pathToken().FindAllString(results[i], -1) {
			tok = strings.TrimRight(tok, "./-")
			if tok == "" {
				continue
			}
			hit := matchEntry(tok, entries)
			if hit == "" && dir != "" && dir != "." {
				hit = matchEntry(path.Join(dir, tok), entries)
			}
			if hit != "" && !slices.Contains(refs, hit) {
				refs = append(refs, hit)
			}
		}
	}
	return refs
}

// toolNameAnswer refuses an answer that is only the name of a tool: what a small model
// writes when it is held to an answer but still means to call that tool.
func toolNameAnswer(act action, tools []Tool) error {
	if act.Answer == nil {
		return nil
	}
	text := strings.Trim(strings.TrimSpace(answerText(act.Answer)), "`'\".")
	for _, t := range tools {
		if name := t.Name; strings.EqualFold(text, name) {
			return fmt.Errorf("the answer is only the name of the tool %s", name)
		}
	}
	return nil
}
