package ui

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"

	"tandem/engine"
	"tandem/flows"
)

// workspace writes a directory with a good flow, an agent and a broken flow.
func workspace(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{
		"hello.yaml":  "name: hello\nsteps:\n  - id: greet\n    shell: echo hi\n  - id: shout\n    needs: [greet]\n    shell: echo HI\n",
		"helper.yaml": "name: helper\nmodel: smollm2:135m\nsystem: you help\n",
		"broken.yaml": "name: broken\nsteps:\n  - id: a\n    shell: echo a\n    needs: [nope]\n",
		"notes.txt":   "not a flow",
	}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func sampleRuns() []engine.RunInfo {
	return []engine.RunInfo{
		{ID: "0a1b2c3d4e5f6g7", FlowName: "hello", Status: engine.RunStatusRunning, CreatedAt: t0.Add(-5 * time.Second)},
		{ID: "0a1b2c3d4e5f000", FlowName: "hello", Status: engine.RunStatusFailed, CreatedAt: t0.Add(-3 * time.Minute)},
		{ID: "09zzzzzzzzzzzzz", FlowName: "deploy", Status: engine.RunStatusWaiting, CreatedAt: t0.Add(-26 * time.Hour)},
		{ID: "08zzzzzzzzzzzzz", FlowName: "deploy", Status: engine.RunStatusSucceeded, CreatedAt: t0.Add(-72 * time.Hour)},
	}
}

func TestLoadFlowsListsInvalidFilesWithPositions(t *testing.T) {
	t.Parallel()
	fs := loadFlows(workspace(t))
	if len(fs) != 3 {
		t.Fatalf("got %d entries, want 3 (yaml files only): %+v", len(fs), fs)
	}
	byName := map[string]FlowEntry{}
	for _, f := range fs {
		byName[filepath.Base(f.Path)] = f
	}
	if f := byName["hello.yaml"]; f.Flow == nil || f.Err != "" {
		t.Errorf("hello.yaml: want a flow, got %+v", f)
	}
	if f := byName["helper.yaml"]; !f.Agent {
		t.Errorf("helper.yaml: want an agent, got %+v", f)
	}
	if f := byName["broken.yaml"]; !strings.HasPrefix(f.Err, "broken.yaml:5:13:") {
		t.Errorf("broken.yaml: want an error at the unknown need, broken.yaml:5:13, got %q", f.Err)
	}
}

func TestRunsList(t *testing.T) {
	t.Parallel()
	dir := workspace(t)
	tests := []struct {
		name string
		w, h int
		keys []string
	}{
		{"flows_and_runs", 40, 12, nil},
		{"cursor_moves_to_runs", 40, 12, []string{"j", "j", "j", "j"}},
		{"filtered", 40, 12, []string{"/", "d", "e", "p", "enter"}},
		{"small_scrolls_with_cursor", 30, 5, []string{"j", "j", "j", "j", "j", "j"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m := NewRunsList(NewTheme(true))
			m.SetSize(tt.w, tt.h)
			m, _ = m.Update(LoadFlows(dir)())
			m.SetRuns(sampleRuns(), t0)
			for _, k := range tt.keys {
				m, _ = m.Update(keyPress(k))
			}
			got := m.View()
			if n := strings.Count(got, "\n") + 1; n != tt.h {
				t.Errorf("view has %d lines, want %d", n, tt.h)
			}
			golden(t, "runs_"+tt.name, got+"\n")
		})
	}
}

func TestRunsListEnterOpensRun(t *testing.T) {
	t.Parallel()
	m := NewRunsList(NewTheme(true))
	m.SetSize(40, 10)
	m.SetRuns(sampleRuns(), t0)
	m, _ = m.Update(keyPress("j"))
	_, cmd := m.Update(keyPress("enter"))
	if cmd == nil {
		t.Fatal("enter on a run returned no command")
	}
	if got := cmd(); got != (RunSelectedMsg{RunID: "0a1b2c3d4e5f000"}) {
		t.Fatalf("got %#v", got)
	}
}

func TestRunsListEnterOnAnAgentOpensAChat(t *testing.T) {
	t.Parallel()
	dir := workspace(t)
	// Hidden files (the chat's per-model agent copies among them) are not listed.
	if err := os.WriteFile(filepath.Join(dir, ".helper.chat-qwen3_0.6b.yaml"), []byte("name: helper\nmodel: qwen3:0.6b\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	m := NewRunsList(NewTheme(true))
	m.SetSize(40, 10)
	m, _ = m.Update(LoadFlows(dir)())
	m, _ = m.Update(keyPress("j"))
	m, _ = m.Update(keyPress("j")) // broken, hello, helper
	_, cmd := m.Update(keyPress("enter"))
	if cmd == nil {
		t.Fatal("enter on an agent returned no command")
	}
	msg, ok := cmd().(AgentOpenedMsg)
	if !ok || msg.Entry.Name != "helper" || msg.Entry.AgentDef == nil || msg.Entry.AgentDef.Model != "smollm2:135m" {
		t.Fatalf("got %#v", msg)
	}
	if n := len(loadFlows(dir)); n != 3 {
		t.Fatalf("listed %d files, want 3 (the hidden copy left out)", n)
	}
}

func TestErrorLineIsTheFirstErrorsLine(t *testing.T) {
	tests := []struct {
		errs string
		want int
	}{
		{"flow.yaml:7:3: unknown key shel\nflow.yaml:9:1: more", 7},
		{"read flow.yaml: permission denied", 0},
		{"", 0},
	}
	for _, tt := range tests {
		if got := errorLine(tt.errs); got != tt.want {
			t.Errorf("errorLine(%q) = %d, want %d", tt.errs, got, tt.want)
		}
	}
}

func TestChatTurnsAreOneRowPerAgentThatOpensTheChat(t *testing.T) {
	t.Parallel()
	dir := workspace(t)
	askFlow := filepath.Join(dir, ".helper.yaml"+flows.AgentFlowSuffix)
	runs := []engine.RunInfo{
		{ID: "r5", FlowName: "helper", FlowPath: askFlow, Status: engine.RunStatusSucceeded, CreatedAt: t0.Add(-time.Minute)},
		{ID: "r4", FlowName: "hello", FlowPath: filepath.Join(dir, "hello.yaml"), Status: engine.RunStatusFailed, CreatedAt: t0.Add(-2 * time.Minute)},
		{ID: "r3", FlowName: "helper", FlowPath: askFlow, Status: engine.RunStatusFailed, CreatedAt: t0.Add(-3 * time.Minute)},
		{ID: "r2", FlowName: "helper", FlowPath: askFlow, Status: engine.RunStatusSucceeded, CreatedAt: t0.Add(-4 * time.Minute)},
		// A flow tool's child run of a turn is not a turn.
		{ID: "r1", FlowName: "helper", FlowPath: askFlow, ParentRunID: "r2", Status: engine.RunStatusSucceeded, CreatedAt: t0.Add(-4 * time.Minute)},
	}
	m := NewRunsList(NewTheme(true))
	m.SetSize(48, 14)
	m, _ = m.Update(LoadFlows(dir)())
	m.SetRuns(runs, t0)
	view := ansi.Strip(m.View())
	if !strings.Contains(view, "Chats") || !strings.Contains(view, "◇ helper · 3 turns · 1m ago") {
		t.Fatalf("the chat turns are not one row under Chats:\n%s", view)
	}
	for _, id := range []string{"r5", "r3", "r2"} {
		if strings.Contains(view, id) {
			t.Errorf("turn %s is listed among the runs:\n%s", id, view)
		}
	}
	if !strings.Contains(view, "hello r4") || !strings.Contains(view, "helper r1") {
		t.Errorf("the flow run or the child run is missing:\n%s", view)
	}
	for m.selectedChat() == nil {
		m, _ = m.Update(keyPress("j"))
	}
	_, cmd := m.Update(keyPress("enter"))
	if msg, ok := cmd().(AgentOpenedMsg); !ok || msg.Entry.Name != "helper" || msg.Entry.AgentDef == nil {
		t.Fatalf("enter on the chat row gave %#v, want the chat with helper", cmd())
	}
	// A filter lists the turns one by one, so a turn's id can be found.
	m, _ = m.Update(keyPress("/"))
	for _, r := range "r3" {
		m, _ = m.Update(keyPress(string(r)))
	}
	if view := ansi.Strip(m.View()); !strings.Contains(view, "helper r3") {
		t.Errorf("filtering by a turn's id does not list it:\n%s", view)
	}
}

// Two conversations with one agent are two rows, each named by its session and opening the
// chat in it; asks without a session are a row of their own.
func TestChatRowsArePerSessionNotPerAgent(t *testing.T) {
	t.Parallel()
	dir := workspace(t)
	askFlow := filepath.Join(dir, ".helper.yaml"+flows.AgentFlowSuffix)
	chat := "chat-helper-" + t0.Add(-10*time.Minute).Local().Format("20060102-150405")
	runs := []engine.RunInfo{
		{ID: "r5", FlowName: "helper", FlowPath: askFlow, Status: engine.RunStatusSucceeded, CreatedAt: t0.Add(-time.Minute), Session: "notes"},
		{ID: "r4", FlowName: "helper", FlowPath: askFlow, Status: engine.RunStatusFailed, CreatedAt: t0.Add(-2 * time.Minute), Session: chat},
		{ID: "r3", FlowName: "helper", FlowPath: askFlow, Status: engine.RunStatusSucceeded, CreatedAt: t0.Add(-3 * time.Minute), Session: "notes"},
		{ID: "r2", FlowName: "helper", FlowPath: askFlow, Status: engine.RunStatusSucceeded, CreatedAt: t0.Add(-4 * time.Minute), Session: chat},
		{ID: "r1", FlowName: "helper", FlowPath: askFlow, Status: engine.RunStatusSucceeded, CreatedAt: t0.Add(-5 * time.Minute)},
	}
	m := NewRunsList(NewTheme(true))
	m.SetSize(60, 14)
	m, _ = m.Update(LoadFlows(dir)())
	m.SetRuns(runs, t0)
	view := ansi.Strip(m.View())
	started := t0.Add(-10 * time.Minute).Local().Format("Jan 2 15:04")
	for _, want := range []string{
		"✓ ◇ helper · notes · 2 turns · 1m ago",
		"✗ ◇ helper · " + started + " · 2 turns · 2m ago",
		"✓ ◇ helper · 1 turn · 5m ago",
	} {
		if !strings.Contains(view, want) {
			t.Errorf("no row %q:\n%s", want, view)
		}
	}
	m.SetSize(24, 14) // narrow: the session's name stays, the agent's is cut
	view = ansi.Strip(m.View())
	for _, want := range []string{"✓ ◇ help… notes 1m ago", "✗ ◇ " + started + " 2m ago"} {
		if !strings.Contains(view, want) {
			t.Errorf("no narrow row %q:\n%s", want, view)
		}
	}
	var opened []string
	for i := 0; i < 20 && len(opened) < 3; i++ {
		if m.selectedChat() != nil {
			_, cmd := m.Update(keyPress("enter"))
			msg, ok := cmd().(AgentOpenedMsg)
			if !ok || msg.Entry.Name != "helper" {
				t.Fatalf("enter on a chat row gave %#v", cmd())
			}
			opened = append(opened, msg.Session)
		}
		m, _ = m.Update(keyPress("j"))
	}
	if want := []string{"notes", chat, ""}; strings.Join(opened, "|") != strings.Join(want, "|") {
		t.Fatalf("the rows open sessions %q, want %q", opened, want)
	}
}

// In a narrow sidebar a row cuts its name, not its age: the chat row and a run of a flow with
// a long name still end "… ago".
func TestANarrowSidebarKeepsEachRowsAge(t *testing.T) {
	t.Parallel()
	dir := workspace(t)
	askFlow := filepath.Join(dir, ".helper.yaml"+flows.AgentFlowSuffix)
	runs := []engine.RunInfo{
		{ID: "r2", FlowName: "helper", FlowPath: askFlow, Status: engine.RunStatusSucceeded, CreatedAt: t0.Add(-28 * time.Second)},
		{ID: "0a1b2c3d4e5f", FlowName: "content-pipeline", Status: engine.RunStatusFailed, CreatedAt: t0.Add(-3 * time.Minute)},
	}
	m := NewRunsList(NewTheme(true))
	m.SetSize(30, 14)
	m, _ = m.Update(LoadFlows(dir)())
	m.SetRuns(runs, t0)
	view := ansi.Strip(m.View())
	for _, want := range []string{"✓ ◇ helper 1 turn 28s ago", "✗ content-pipeline 3m ago"} {
		if !strings.Contains(view, want) {
			t.Errorf("no %q in the sidebar:\n%s", want, view)
		}
	}
}
