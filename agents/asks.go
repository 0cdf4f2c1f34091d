package agents

import (
	"regexp"
	"slices"
	"strings"
	"sync"
)

// A 0.5B model that has read the file a question is about, and may still call write_file,
// rewrites that file (often several times) instead of answering: "What is the port in
// config/app.toml?" ended with config/app.toml overwritten by "port = 8084" (agent
// benchmark, 9 of 24 tasks wrote a file no one asked to change). A person asking a question
// about their files does not expect them changed. So a task whose prompt names workspace
// paths and asks for no change (it has none of changeVerbs) is run without the tools that
// write files (Tool.Writes); a task that names no path (an agent told "go") or asks for a
// change keeps them, and if it names a file that does not exist yet, that
// file is where it writes (writeTargets).

// changeVerbs are the words with which a prompt asks for a file to be changed or made
// (and "into", as in "summarize notes.txt into summary.txt").
// Words that are as often a question's ("What port does app.toml set?", "Is the list
// empty?", "the output of") are left out: a question keeps its tools only by naming a change.
var changeVerbs = []string{"write", "writes", "writing", "wrote", "save", "store", "create", "make", "copy",
	"move", "rename", "delete", "remove", "erase", "edit", "change", "update", "modify", "fix", "append",
	"prepend", "add", "insert", "replace", "overwrite", "put", "fill", "paste", "duplicate", "generate",
	"export", "touch", "mkdir", "into"}

var promptWord = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`[A-Za-z]+`) })

// asksForChange reports whether a prompt uses one of changeVerbs as a word.
func asksForChange(prompt string) bool {
	for _, w := range promptWord().FindAllString(prompt, -1) {
		if slices.Contains(changeVerbs, strings.ToLower(w)) {
			return true
		}
	}
	return false
}

// withoutWriters are tools without the ones that write files.
func withoutWriters(tools []Tool) (kept []Tool, dropped []string) {
	for _, t := range tools {
		if t.Writes {
			dropped = append(dropped, t.Name)
			continue
		}
		kept = append(kept, t)
	}
	return kept, dropped
}

// writeTargets narrows the path of each tool that writes files to targets (the files the
// task names that did not exist when it started): "Write the port from config/app.toml into
// port.txt" writes port.txt, not the file it read. With no targets the tools stay as they are.
func writeTargets(tools []Tool, targets []string) []Tool {
	if len(targets) == 0 {
		return tools
	}
	out := make([]Tool, len(tools))
	for i, t := range tools {
		if t.Writes {
			if props, _ := t.Parameters["properties"].(map[string]any); props["path"] != nil {
				narrowed := pathEnumParams(t.Parameters, targets, true)
				t.TurnParameters = func([]string) map[string]any { return narrowed }
			}
		}
		out[i] = t
	}
	return out
}

// missingNamed are the named paths that are not among the existing ones.
func missingNamed(named, existing []string) []string {
	var out []string
	for _, n := range named {
		if !slices.Contains(existing, n) {
			out = append(out, n)
		}
	}
	return out
}

func hasWriter(tools []Tool) bool {
	for _, t := range tools {
		if t.Writes {
			return true
		}
	}
	return false
}
