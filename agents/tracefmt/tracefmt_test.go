package tracefmt_test

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"tandem/agents"
	"tandem/agents/model"
	"tandem/agents/tracefmt"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// Each fixture is a logged trace, one {"kind", "data"} record a line; its golden file shows
// every line the formatter makes, with its class, in full and in brief.
func TestTheFormatterWritesEveryRecordAsPeopleReadIt(t *testing.T) {
	for _, name := range []string{"agent_run", "llm_step"} {
		t.Run(name, func(t *testing.T) {
			f, err := os.Open(filepath.Join("testdata", name+".jsonl"))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			var out strings.Builder
			sc := bufio.NewScanner(f)
			sc.Buffer(nil, 1<<20)
			for sc.Scan() {
				var logged struct {
					Kind string          `json:"kind"`
					Data json.RawMessage `json:"data"`
				}
				if err := json.Unmarshal(sc.Bytes(), &logged); err != nil {
					t.Fatal(err)
				}
				rec, err := agents.Decode(logged.Kind, logged.Data)
				if err != nil {
					t.Fatal(err)
				}
				for _, l := range tracefmt.Format(rec).Lines() {
					fmt.Fprintf(&out, "%-8s %s\n", l.Class, l.Text)
				}
				if l, ok := tracefmt.Brief(rec, 40); ok {
					fmt.Fprintf(&out, "%-8s %s\n", "brief", l.Text+" ["+l.Class.String()+"]")
				}
			}
			golden(t, filepath.Join("testdata", name+".golden"), out.String())
		})
	}
}

func TestUsageReadsAsTurnTokensRateAndTime(t *testing.T) {
	got := tracefmt.Format(agents.Usage{Turn: 2, PromptTokens: 439, OutputTokens: 39, EvalMS: 846, TotalMS: 812, TokensPerSecond: 46.06, DoneReason: "stop"}).Head
	if got.Text != "turn 2 · 439 → 39 tokens · 46 tok/s · 0.8 s" || got.Class != tracefmt.Dim {
		t.Fatalf("usage = %q (%s)", got.Text, got.Class)
	}
}

func TestProblemsAreClassedAsProblems(t *testing.T) {
	for _, rec := range []agents.Record{
		agents.InvalidAction{Error: "x"}, agents.InvalidAnswer{Error: "x"}, agents.Repair{Reason: "x"},
		agents.RepeatedCall{Name: "read_file", Times: 2}, agents.ForceAnswer{Reason: "x"}, agents.RejectedAnswer{Reason: "x"},
		agents.ToolResult{Name: "read_file", Error: true, Result: "error: no"},
		agents.End{Result: agents.Result{EndReason: agents.EndBudget}}, agents.End{Result: agents.Result{EndReason: agents.EndLoopDetected}},
		agents.End{Result: agents.Result{EndReason: agents.EndMaxTurns}}, agents.Usage{DoneReason: "length"},
	} {
		if c := tracefmt.Format(rec).Head.Class; c != tracefmt.Problem {
			t.Errorf("%s %+v is %s, want problem", rec.Kind(), rec, c)
		}
	}
	for _, rec := range []agents.Record{agents.Usage{DoneReason: "stop"}, agents.ToolResult{Name: "a"}, agents.End{Result: agents.Result{EndReason: agents.EndAnswer}},
		agents.ToolPolicy{Withheld: []string{"write_file"}, Reason: "x"}} {
		if c := tracefmt.Format(rec).Head.Class; c == tracefmt.Problem {
			t.Errorf("%s %+v is a problem", rec.Kind(), rec)
		}
	}
}

func golden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to write it)", err)
	}
	if got != string(want) {
		t.Fatalf("%s differs (run with -update to accept):\n%s", path, got)
	}
}

func TestAWholeRequestShowsEveryMessageTheModelSaw(t *testing.T) {
	var conv agents.Conversation
	first := agents.Request{Turn: 1, Messages: []model.Message{{Role: "system", Content: "You help."}, {Role: "user", Content: "hi"}}, Total: 2,
		Tools: []model.Tool{{Name: "read_file", Parameters: map[string]any{"type": "object"}}}}
	second := agents.Request{Turn: 2, Base: 2, Messages: []model.Message{{Role: "assistant", ToolCalls: []model.ToolCall{{Name: "read_file", Arguments: map[string]any{"path": "a"}}}},
		{Role: "tool", ToolName: "read_file", Content: "A"}}, Total: 4, SameTools: true, SameFormat: true}
	tracefmt.WholeRequest(first, &conv)
	b := tracefmt.WholeRequest(second, &conv)
	var got []string
	for _, l := range b.Lines() {
		got = append(got, l.Text)
	}
	want := []string{"request · turn 2 · 4 messages · 1 tool schema (2 new)", "  system: You help.", "  user: hi",
		`  assistant: → read_file {"path":"a"}`, "  tool read_file: A", `  tool read_file: {"type":"object"}`}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
