package agents

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"tandem/agents/model"
	"tandem/agents/ollama"
	"tandem/flows"
	"tandem/internal/ollamatest"
)

// The agent benchmark: file-tool tasks written the way people first try an agent
// (testdata/agentbench/tasks.json), each run from a fresh copy of a small workspace
// (testdata/agentbench/workspace) with read_file, list_dir and write_file, at temperature 0.
// It scores, per model and mode:
//   - valid: the share of model replies that were valid actions (a call of a real tool with
//     schema-valid arguments, or an answer);
//   - rejected: the share of replies that were valid answers the runtime did not take (only a
//     tool's name, such as {"answer": "read_file"}) and retried: wrong answers, not invalid
//     actions;
//   - first: the share of tasks whose first action was a right one (the file the task names,
//     or an answer when no tool is needed);
//   - success: the share of tasks done (the answer, or the file written, has what it must);
//   - turns: model replies per task, on average.
//
//	go test -run '^$' -bench AgentTasks -benchtime 1x -timeout 60m ./agents/
//
// AGENTBENCH_MODELS (comma-separated; default: every model scripts/ollama-setup installs),
// AGENTBENCH_MODES (default: fallback,native), AGENTBENCH_TASKS (task ids) narrow it;
// AGENTBENCH_OFF=NAME,... runs one fallback row with those fixes off (names as in ablations;
// "all" for every fix off);
// AGENTBENCH_TRACE=DIR writes each task's trace records there (one JSONL file per task);
// AGENTBENCH_ABLATION=1 measures the fixes on the first model instead: in fallback mode with
// each fix alone ("only", with a row of none) and each left out ("without"), and auto and
// native mode with and without fix 5 ("mode"); a comma-separated list picks groups.

// benchTask is one task of tasks.json.
type benchTask struct {
	ID     string `json:"id"`
	Kind   string `json:"kind"`
	Prompt string `json:"prompt"`
	First  []struct {
		Tool   string `json:"tool"`
		Path   string `json:"path"`
		Answer bool   `json:"answer"`
	} `json:"first"`
	AnswerAny      []string `json:"answer_any"`
	AnswerAll      []string `json:"answer_all"`
	AnswerNone     []string `json:"answer_none"`
	AnswerNotFound bool     `json:"answer_not_found"`
	File           *struct {
		Path        string   `json:"path"`
		ContainsAny []string `json:"contains_any"`
	} `json:"file"`
}

// notFoundWords are how an answer says a file is not there.
var notFoundWords = []string{"not found", "no such", "does not exist", "doesn't exist", "not exist", "cannot find",
	"can't find", "could not find", "couldn't find", "no file", "not available", "isn't", "is not in", "not present", "unable to"}

// taskScore is one run of one task.
type taskScore struct {
	ID                       string
	Replies, Valid, Rejected int
	FirstRight, Won          bool
	End                      string
	Took                     time.Duration
}

// benchTracer keeps what the score needs from a run's trace.
type benchTracer struct {
	replies int
	first   *model.ToolCall // the first call, if the model called before answering
	log     *os.File        // AGENTBENCH_TRACE: every record, one JSON line each
}

func (b *benchTracer) Emit(string, string) {}

func (b *benchTracer) Trace(rec Record) {
	if b.log != nil {
		line, _ := json.Marshal(map[string]any{"kind": rec.Kind(), "data": rec})
		_, _ = b.log.Write(append(line, '\n'))
	}
	switch r := rec.(type) {
	case Usage:
		b.replies++
	case ToolCall:
		if b.first == nil {
			b.first = &model.ToolCall{Name: r.Name, Arguments: r.Arguments}
		}
	}
}

func loadBenchTasks(tb testing.TB) []benchTask {
	tb.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", "agentbench", "tasks.json"))
	if err != nil {
		tb.Fatal(err)
	}
	var tasks []benchTask
	if err := json.Unmarshal(raw, &tasks); err != nil {
		tb.Fatalf("tasks.json: %v", err)
	}
	if ids := os.Getenv("AGENTBENCH_TASKS"); ids != "" {
		keep := tasks[:0]
		for _, t := range tasks {
			if strings.Contains(","+ids+",", ","+t.ID+",") {
				keep = append(keep, t)
			}
		}
		tasks = keep
	}
	return tasks
}

// copyWorkspace writes the benchmark workspace into dir.
func copyWorkspace(tb testing.TB, dir string) {
	tb.Helper()
	src := filepath.Join("testdata", "agentbench", "workspace")
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dir, rel), 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dir, rel), b, 0o644)
	})
	if err != nil {
		tb.Fatal(err)
	}
}

// runBenchTask runs one task on a fresh workspace and scores it.
func runBenchTask(tb testing.TB, o *ollama.Client, name, mode, fixes string, off legacy, task benchTask) taskScore {
	tb.Helper()
	dir := tb.TempDir()
	copyWorkspace(tb, dir)
	agent := &flows.Agent{Name: "bench", Model: name, Dir: dir, MaxTurns: 6, ToolCalling: mode,
		System:  "You are a helpful assistant. You work with the files in the user's folder.",
		Options: map[string]any{"temperature": 0, "seed": 1, "num_predict": 256}}
	ws := Workspace{Root: dir, Seen: NewSeenFiles()}
	if off.overwriteUnread {
		ws.Seen = nil
	}
	tr := &benchTracer{}
	if dir := os.Getenv("AGENTBENCH_TRACE"); dir != "" {
		f, err := os.Create(filepath.Join(dir, fmt.Sprintf("%s-%s-%s-%s.jsonl", strings.ReplaceAll(name, ":", "_"), mode, strings.ReplaceAll(fixes, " ", "_"), task.ID)))
		if err != nil {
			tb.Fatal(err)
		}
		defer f.Close()
		tr.log = f
	}
	r := &Runner{Model: o, Caps: o, legacy: off}
	start := time.Now()
	res, err := r.Run(context.Background(), Task{Agent: agent, Prompt: task.Prompt, Tools: []Tool{ReadFile(ws), ListDir(ws), WriteFile(ws)}, Tracer: tr})
	sc := taskScore{ID: task.ID, Replies: tr.replies, End: res.EndReason, Took: time.Since(start)}
	if err != nil && res.EndReason == EndError {
		tb.Logf("%s on %s: %v", task.ID, name, err) // a failed task, not a failed benchmark
	}
	sc.Valid = max(tr.replies-res.InvalidActions, 0)
	sc.Rejected = res.RejectedAnswers
	sc.FirstRight = firstRight(task, tr.first, res)
	sc.Won = taskDone(task, res, dir)
	return sc
}

func firstRight(task benchTask, first *model.ToolCall, res Result) bool {
	for _, want := range task.First {
		switch {
		case want.Answer && first == nil && res.EndReason == EndAnswer:
			return true
		case first != nil && first.Name == want.Tool:
			got, _ := first.Arguments["path"].(string)
			if want.Path == "" || filepath.Clean(got) == filepath.Clean(want.Path) {
				return true
			}
		}
	}
	return false
}

func taskDone(task benchTask, res Result, dir string) bool {
	if task.File != nil {
		b, err := os.ReadFile(filepath.Join(dir, task.File.Path))
		return err == nil && containsAny(string(b), task.File.ContainsAny)
	}
	if res.EndReason != EndAnswer {
		return false
	}
	a := res.Answer
	switch {
	case task.AnswerNotFound:
		return containsAny(a, notFoundWords)
	case len(task.AnswerAll) > 0:
		for _, w := range task.AnswerAll {
			if !containsAny(a, []string{w}) {
				return false
			}
		}
		return true
	}
	return containsAny(a, task.AnswerAny) && (len(task.AnswerNone) == 0 || !containsAny(a, task.AnswerNone))
}

func containsAny(s string, words []string) bool {
	s = strings.ToLower(s)
	for _, w := range words {
		if strings.Contains(s, strings.ToLower(w)) {
			return true
		}
	}
	return false
}

// benchRow is one line of the table: a model and mode (and fixes) over every task.
type benchRow struct {
	Model, Mode, Fixes                string
	Tasks, Replies, Valid, First, Won int
	Rejected                          int // valid answers not taken (only a tool's name), retried
	Ends                              map[string]int
	Took                              time.Duration
	Failed                            []string
}

func (r benchRow) pct(n, of int) float64 {
	if of == 0 {
		return 0
	}
	return 100 * float64(n) / float64(of)
}

func runBenchRow(b *testing.B, o *ollama.Client, name, mode, fixes string, off legacy, tasks []benchTask) benchRow {
	row := benchRow{Model: name, Mode: mode, Fixes: fixes, Ends: map[string]int{}}
	for _, task := range tasks {
		sc := runBenchTask(b, o, name, mode, fixes, off, task)
		row.Tasks++
		row.Replies += sc.Replies
		row.Valid += sc.Valid
		row.Rejected += sc.Rejected
		row.Ends[sc.End]++
		row.Took += sc.Took
		if sc.FirstRight {
			row.First++
		}
		if sc.Won {
			row.Won++
		} else {
			row.Failed = append(row.Failed, sc.ID)
		}
		b.Logf("%s %s %s: %s first=%v done=%v end=%s replies=%d valid=%d rejected=%d %.1fs", name, mode, fixes, sc.ID, sc.FirstRight, sc.Won, sc.End, sc.Replies, sc.Valid, sc.Rejected, sc.Took.Seconds())
	}
	return row
}

func printBenchTable(rows []benchRow) {
	fmt.Printf("\n%-20s %-8s %-26s %6s %8s %9s %8s %8s %6s %7s  %s\n", "model", "mode", "fixes", "tasks", "valid%", "rejected%", "first%", "done%", "turns", "s/task", "end reasons")
	for _, r := range rows {
		ends := make([]string, 0, len(r.Ends))
		for k, v := range r.Ends {
			ends = append(ends, fmt.Sprintf("%s:%d", k, v))
		}
		sort.Strings(ends)
		fmt.Printf("%-20s %-8s %-26s %6d %8.0f %9.0f %8.0f %8.0f %6.1f %7.1f  %s\n", r.Model, r.Mode, r.Fixes, r.Tasks,
			r.pct(r.Valid, r.Replies), r.pct(r.Rejected, r.Replies), r.pct(r.First, r.Tasks), r.pct(r.Won, r.Tasks),
			float64(r.Replies)/float64(max(r.Tasks, 1)), r.Took.Seconds()/float64(max(r.Tasks, 1)), strings.Join(ends, " "))
	}
	fmt.Println()
}

// ablations are the fixes one at a time; set switches one off (or back on). "only X" runs
// with every other fix off, "no X" with only X off.
var ablations = []struct {
	name string
	set  func(l *legacy, off bool)
}{
	{"key order", func(l *legacy, off bool) { l.sortedKeys = off }},
	{"bounded strings", func(l *legacy, off bool) { l.freeStrings, l.echoInvalid = off, off }},
	{"result turn", func(l *legacy, off bool) { l.toolRole = off }},
	{"path enums", func(l *legacy, off bool) { l.freePaths = off }},
	{"look first", func(l *legacy, off bool) { l.answerFirst = off }},
	{"named paths", func(l *legacy, off bool) { l.unnamed = off }},
	{"read before overwrite", func(l *legacy, off bool) { l.overwriteUnread = off }},
	{"answer prompt", func(l *legacy, off bool) { l.nextObject = off }},
	{"answer-or-call turn", func(l *legacy, off bool) { l.nextObjectTurn = off }},
	{"follow references", func(l *legacy, off bool) { l.reread = off }},
	{"answer when read out", func(l *legacy, off bool) { l.lookOn = off }},
	{"no tool-name answers", func(l *legacy, off bool) { l.toolNameAnswers = off }},
	{"no writes on questions", func(l *legacy, off bool) { l.questionWrites = off }},
	{"write targets", func(l *legacy, off bool) { l.freeWriteTargets = off }},
	{"answer recap", func(l *legacy, off bool) { l.noRecap = off }},
}

func allOff() legacy {
	return legacy{sortedKeys: true, freeStrings: true, echoInvalid: true, toolRole: true, freePaths: true, trustTemplate: true,
		answerFirst: true, unnamed: true, overwriteUnread: true, nextObject: true, nextObjectTurn: true, reread: true, lookOn: true, toolNameAnswers: true,
		questionWrites: true, freeWriteTargets: true, noRecap: true}
}

// BenchmarkAgentTasks runs the agent benchmark (see the top of this file) and prints its
// table.
func BenchmarkAgentTasks(b *testing.B) {
	srv := ollamatest.Start(b)
	o, err := ollama.New(srv.Host)
	if err != nil {
		b.Fatal(err)
	}
	tasks := loadBenchTasks(b)
	models := []string{ollamatest.AgentModel, ollamatest.Model}
	if m := os.Getenv("AGENTBENCH_MODELS"); m != "" {
		models = strings.Split(m, ",")
	}
	modes := []string{"fallback", "native"}
	if m := os.Getenv("AGENTBENCH_MODES"); m != "" {
		modes = strings.Split(m, ",")
	}
	for i := 0; i < b.N; i++ {
		var rows []benchRow
		if names := os.Getenv("AGENTBENCH_OFF"); names != "" {
			// One row with the named fixes off (comma-separated ablation names).
			var off legacy
			for _, a := range ablations {
				if strings.Contains(","+names+",", ","+a.name+",") {
					a.set(&off, true)
				}
			}
			label := "no " + names
			if names == "all" { // every fix off: the runtime as it was before them
				off, label = allOff(), "none"
			}
			rows = append(rows, runBenchRow(b, o, models[0], "fallback", label, off, tasks))
		} else if groups := os.Getenv("AGENTBENCH_ABLATION"); groups != "" {
			group := func(g string) bool { return groups == "1" || strings.Contains(","+groups+",", ","+g+",") }
			name := models[0]
			if group("only") {
				rows = append(rows, runBenchRow(b, o, name, "fallback", "none", allOff(), tasks))
				for _, a := range ablations {
					only := allOff()
					a.set(&only, false)
					rows = append(rows, runBenchRow(b, o, name, "fallback", "only "+a.name, only, tasks))
				}
			}
			if group("without") {
				for _, a := range ablations {
					var off legacy
					a.set(&off, true)
					rows = append(rows, runBenchRow(b, o, name, "fallback", "no "+a.name, off, tasks))
				}
			}
			if group("only") || group("without") {
				rows = append(rows, runBenchRow(b, o, name, "fallback", "all", legacy{}, tasks))
			}
			if group("mode") {
				// Fix 5: auto trusting the template (native, a call written as text is an
				// answer), then native mode without and with calls written as text.
				rows = append(rows, runBenchRow(b, o, name, "auto", "no size check", legacy{trustTemplate: true}, tasks))
				rows = append(rows, runBenchRow(b, o, name, "auto", "all", legacy{}, tasks))
				rows = append(rows, runBenchRow(b, o, name, "native", "no text calls", legacy{trustTemplate: true}, tasks))
				rows = append(rows, runBenchRow(b, o, name, "native", "all", legacy{}, tasks))
			}
		} else {
			for _, name := range models {
				if !srv.Has(name) {
					b.Logf("skipping %s: not installed (bash scripts/ollama-setup)", name)
					continue
				}
				for _, mode := range modes {
					rows = append(rows, runBenchRow(b, o, name, mode, "all", legacy{}, tasks))
				}
			}
		}
		printBenchTable(rows)
		for _, r := range rows {
			b.ReportMetric(r.pct(r.Won, r.Tasks), strings.NewReplacer(":", "_", ".", "_").Replace(r.Model)+"_"+r.Mode+"_done_%")
		}
	}
}
