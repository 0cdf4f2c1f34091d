package agents

import (
	"encoding/json"
	"fmt"
	"strings"
)

// legacy turns the small-model fixes off one at a time, to measure what each is worth (the
// ablation in agents/agentbench_test.go). The zero value is the runtime as it is meant to
// run; nothing outside this package's tests sets it.
type legacy struct {
	sortedKeys    bool // format schemas in Go's sorted key order; tools listed as schemas
	freeStrings   bool // no maxLength on the action's strings
	echoInvalid   bool // an invalid reply goes back with the error and is sampled the same way
	toolRole      bool // results as tool messages with an "If this answers the task" hint
	freePaths     bool // read_file and list_dir take any path string
	trustTemplate bool // auto trusts the tools capability; a native call written as text is an answer
	answerFirst   bool // a task naming a workspace path may be answered on the first turn
	nextObject    bool // a turn that may only answer still asks for "the next JSON object"
	// nextObjectTurn ends a result turn with "Reply with the next JSON object." rather than
	// asking for the answer or the call that gets it.
	nextObjectTurn  bool
	reread          bool // after the first look, read-only tools take any path, seen or not named
	lookOn          bool // with nothing named left to read, the result turn still offers "the tool call that gets it"
	toolNameAnswers bool // an answer that is only a tool's name is taken as the answer
	unnamed         bool // paths the task names are not read from the prompt (no missing files in the enum)
	// questionWrites gives a task that asks for no change the tools that write files too.
	questionWrites bool
	// freeWriteTargets lets write tools write any path when the task names a file to create.
	freeWriteTargets bool
	// noRecap sends an answer-only turn as the whole conversation under the tool-listing
	// system prompt, rather than as one question with everything the tools returned.
	noRecap bool
	// overwriteUnread is read by the benchmark only (it builds the workspace): write_file
	// may replace a file the run never read.
	overwriteUnread bool
}

// legacyFallbackInstructions is the prompt before the fix: each tool with its argument
// schema, and the action shapes in prose.
func legacyFallbackInstructions(tools []Tool) string {
	var b strings.Builder
	b.WriteString("\n\nYou act by replying with one JSON object.\n")
	b.WriteString(`To use a tool: {"tool": "<name>", "arguments": {...}}. To finish: {"answer": ...}.` + "\nTools:\n")
	for _, t := range tools {
		params, _ := json.Marshal(t.Parameters)
		fmt.Fprintf(&b, "- %s: %s Arguments: %s\n", t.Name, t.Description, params)
	}
	return b.String()
}

// legacyHint is what followed each tool result before the fix.
const legacyHint = "\n\n" + `If this answers the task, reply {"answer": ...} now; otherwise call another tool.`
