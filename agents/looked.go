package agents

import (
	"fmt"
	"slices"
	"strings"

	"tandem/agents/model"
)

// A 0.5B model that has read the file it needs often reads it again rather than answer, and
// then once more, until the loop guard stops it. Reading an unchanged file again tells the
// agent nothing, so a read-only tool's enum of paths leaves out the ones it was already
// called on, until something that may change them (a tool that is not read-only) runs. The
// model then answers, or looks somewhere new.

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

// withoutLooked are the tools for the next turn with each read-only tool's path enum
// narrowed to the paths it was not called on; a tool with none left is not offered.
func withoutLooked(tools []Tool, named []string, l looks) []Tool {
	if len(l) == 0 {
		return tools
	}
	out := make([]Tool, 0, len(tools))
	for _, t := range tools {
		done := l[t.Name]
		if !t.ReadOnly || t.TurnParameters == nil || len(done) == 0 {
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
			if s, _ := v.(string); !slices.Contains(done, s) {
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

// toolNameAnswer refuses an answer that is only the name of a tool: what a small model
// writes when it is held to an answer but still means to call that tool.
func toolNameAnswer(act action, byName map[string]Tool) error {
	if act.Answer == nil {
		return nil
	}
	text := strings.Trim(strings.TrimSpace(answerText(act.Answer)), "`'\".")
	for name := range byName {
		if strings.EqualFold(text, name) {
			return fmt.Errorf("the answer is only the name of the tool %s", name)
		}
	}
	return nil
}
