package ui

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"tandem/engine"
	"tandem/flows"
)

var update = flag.Bool("update", false, "rewrite golden files")

// golden compares got (with ANSI styling stripped) with testdata/name.golden.
func golden(t *testing.T, name, got string) {
	t.Helper()
	got = ansi.Strip(got)
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden (run with -update to create): %v", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from %s (run with -update to accept):\n%s", name, path, got)
	}
}

var t0 = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)

func step(id string, kind flows.Kind, needs ...string) *flows.Step {
	return &flows.Step{ID: id, Kind: kind, Needs: needs}
}

func diamondFlow() *flows.Flow {
	return &flows.Flow{Name: "diamond", Steps: []*flows.Step{
		step("fetch", flows.KindShell),
		step("left", flows.KindShell, "fetch"),
		step("right", flows.KindLLM, "fetch"),
		step("join", flows.KindRun, "left", "right"),
	}}
}

// mergeFlow is an exclusive choice of two branches merged by a join: any step.
func mergeFlow() *flows.Flow {
	f := diamondFlow()
	f.Name = "merge"
	f.Steps[3].Join = flows.JoinAny
	return f
}

func fanOutFlow() *flows.Flow {
	f := &flows.Flow{Name: "fanout", Steps: []*flows.Step{step("start", flows.KindShell)}}
	var leaves []string
	for i := range 5 {
		id := fmt.Sprintf("w%d", i)
		f.Steps = append(f.Steps, step(id, flows.KindShell, "start"))
		leaves = append(leaves, id)
	}
	each := step("each", flows.KindShell, "start")
	each.Map = `["a","b","c"]`
	f.Steps = append(f.Steps, each, step("sum", flows.KindShell, append(leaves, "each")...))
	f.Steps = append(f.Steps, step("late", flows.KindShell, "start", "sum"))
	return f
}

// bigFlow is n steps in layers of width, each needing one or two steps of the layer before.
func bigFlow(n, width int) *flows.Flow {
	f := &flows.Flow{Name: "big"}
	for i := range n {
		s := step(fmt.Sprintf("s%03d", i), flows.KindShell)
		if i >= width {
			s.Needs = append(s.Needs, fmt.Sprintf("s%03d", i-width))
			if i%3 == 0 {
				s.Needs = append(s.Needs, fmt.Sprintf("s%03d", i-width+1-(i/width%2)))
			}
		}
		f.Steps = append(f.Steps, s)
	}
	return f
}

// runState builds a state by folding events made from (type, step) pairs.
func runState(events ...engine.Event) *engine.State {
	all := append([]engine.Event{{Seq: 1, RunID: "r1", Type: engine.RunStarted, Time: t0}}, events...)
	for i := range all {
		all[i].Seq = int64(i + 1)
		all[i].RunID = "r1"
		if all[i].Time.IsZero() {
			all[i].Time = t0.Add(time.Duration(i) * time.Second)
		}
		if all[i].Attempt == 0 && all[i].StepID != "" {
			all[i].Attempt = 1
		}
	}
	return engine.Fold(all)
}

func ev(typ engine.EventType, stepID string, data string) engine.Event {
	e := engine.Event{Type: typ, StepID: stepID}
	if data != "" {
		e.Data = []byte(data)
	}
	return e
}

func keyPress(s string) tea.KeyPressMsg {
	switch s {
	case "up":
		return tea.KeyPressMsg{Code: tea.KeyUp}
	case "down":
		return tea.KeyPressMsg{Code: tea.KeyDown}
	case "left":
		return tea.KeyPressMsg{Code: tea.KeyLeft}
	case "right":
		return tea.KeyPressMsg{Code: tea.KeyRight}
	case "enter":
		return tea.KeyPressMsg{Code: tea.KeyEnter}
	case "esc":
		return tea.KeyPressMsg{Code: tea.KeyEscape}
	case "backspace":
		return tea.KeyPressMsg{Code: tea.KeyBackspace}
	case "ctrl+c":
		return tea.KeyPressMsg{Code: 'c', Mod: tea.ModCtrl}
	}
	r := []rune(s)[0]
	return tea.KeyPressMsg{Code: r, Text: s}
}

func TestDAGView(t *testing.T) {
	t.Parallel()
	diamondState := runState(
		ev(engine.StepStarted, "fetch", `{"key":"r1/fetch/1"}`),
		ev(engine.StepSucceeded, "fetch", `{"duration_ms":1200}`),
		ev(engine.StepStarted, "left", `{}`),
		ev(engine.StepStarted, "right", `{}`),
		ev(engine.StepFailed, "right", `{"duration_ms":340,"final":true,"error":"exit 1"}`),
	)
	fanState := runState(
		ev(engine.StepStarted, "start", `{}`),
		ev(engine.StepSucceeded, "start", `{"duration_ms":20}`),
		ev(engine.StepStarted, "each", `{"items":3,"item_values":["a","b","c"]}`),
		ev(engine.StepStarted, "each[0]", `{"parent":"each","index":0}`),
		ev(engine.StepSucceeded, "each[0]", `{"duration_ms":5}`),
		ev(engine.StepWaiting, "w1", `{"kind":"approval","prompt":"ok?"}`),
		ev(engine.StepSkipped, "w2", `{"reason":"when is false"}`),
	)
	tests := []struct {
		name  string
		flow  *flows.Flow
		state *engine.State
		w, h  int
		keys  []string
	}{
		{"diamond", diamondFlow(), diamondState, 120, 12, nil},
		{"merge_after_a_choice", mergeFlow(), diamondState, 120, 12, nil},
		{"diamond_selection_moves_right", diamondFlow(), diamondState, 120, 12, []string{"right", "down", "right"}},
		{"fanout", fanOutFlow(), fanState, 150, 30, nil},
		{"fanout_map_expanded", fanOutFlow(), fanState, 150, 30, []string{"right", "down", "down", "down", "down", "down", "enter"}},
		{"graph_200_nodes", bigFlow(200, 20), nil, 100, 30, nil},
		{"graph_200_nodes_scrolled", bigFlow(200, 20), nil, 100, 30, []string{"down", "down", "down", "down", "down", "down", "down", "down", "down", "down", "right", "right", "right", "right"}},
		{"tiny_terminal", diamondFlow(), diamondState, 40, 10, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m := NewDAG(NewTheme(true))
			m.SetSize(tt.w, tt.h)
			m.SetRun("r1", tt.flow, tt.state, t0.Add(time.Minute))
			for _, k := range tt.keys {
				m, _ = m.Update(keyPress(k))
			}
			got := m.View()
			lines := strings.Split(got, "\n")
			if len(lines) != tt.h {
				t.Errorf("view has %d lines, want %d", len(lines), tt.h)
			}
			for i, l := range lines {
				if w := ansi.StringWidth(l); w != tt.w {
					t.Errorf("line %d is %d wide, want %d", i, w, tt.w)
					break
				}
			}
			golden(t, "dag_"+tt.name, got+"\n\nselected: "+m.Selected()+"\n")
		})
	}
}

func TestDAGLayoutHasNoOverlappingBoxes(t *testing.T) {
	t.Parallel()
	for _, f := range []*flows.Flow{diamondFlow(), fanOutFlow(), bigFlow(200, 20), bigFlow(1000, 30)} {
		m := NewDAG(NewTheme(true))
		m.SetRun("r", f, nil, t0)
		l := m.layout
		seen := map[[2]int]string{}
		for i, n := range l.nodes {
			s := l.slots[l.nodeAt[i]]
			for y := s.y; y < s.y+boxH; y++ {
				for x := s.x; x < s.x+l.boxW; x++ {
					if other, ok := seen[[2]int{x, y}]; ok {
						t.Fatalf("%s: boxes %s and %s overlap at %d,%d", f.Name, other, n.id, x, y)
					}
					seen[[2]int{x, y}] = n.id
				}
			}
		}
	}
}

func TestDAGSelectionStaysInView(t *testing.T) {
	t.Parallel()
	m := NewDAG(NewTheme(true))
	m.SetSize(60, 12)
	m.SetRun("r", bigFlow(200, 20), nil, t0)
	for i := range 60 {
		k := "down"
		if i%4 == 3 {
			k = "right"
		}
		m, _ = m.Update(keyPress(k))
		if !strings.Contains(ansi.Strip(m.View()), m.Selected()+" ") {
			t.Fatalf("after %d moves the selected step %s is not in view", i+1, m.Selected())
		}
	}
}

func TestDAGSelectionSendsStepSelected(t *testing.T) {
	t.Parallel()
	m := NewDAG(NewTheme(true))
	m.SetSize(100, 20)
	m.SetRun("r1", diamondFlow(), nil, t0)
	m, cmd := m.Update(keyPress("l"))
	if cmd == nil {
		t.Fatal("moving the selection returned no command")
	}
	if got, want := cmd(), (StepSelectedMsg{RunID: "r1", StepID: "left"}); got != want {
		t.Fatalf("got %#v, want %#v", got, want)
	}
}

func BenchmarkDAGView(b *testing.B) {
	for _, n := range []int{10, 200, 1000} {
		width := max(n/10, 2)
		f := bigFlow(n, width)
		b.Run(fmt.Sprintf("nodes=%d", n), func(b *testing.B) {
			m := NewDAG(NewTheme(true))
			m.SetSize(120, 40)
			st := runState()
			m.SetRun("r1", f, st, t0)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				// A frame after a status change: relabel, repaint and render the window.
				m, _ = m.Update(FrameMsg{Now: t0.Add(time.Duration(i) * time.Millisecond)})
				st.Steps[f.Steps[i%n].ID] = &engine.StepState{Status: engine.StatusRunning,
					Attempts: []engine.Attempt{{N: 1, Status: engine.StatusRunning, StartedAt: t0}}}
				m.SetState(st, t0)
				_ = m.View()
			}
		})
	}
}

func TestDAGCompactFormNamesTheOtherEndOfEdgesOffScreen(t *testing.T) {
	t.Parallel()
	m := NewDAG(NewTheme(true))
	m.SetSize(60, 4)
	m.SetRun("r", diamondChain(), nil, t0)
	if !m.layout.compact {
		t.Fatal("six steps in a 60x4 pane: want the compact form")
	}
	for range 5 {
		m, _ = m.Update(keyPress("down"))
	}
	got := ansi.Strip(m.View())
	golden(t, "dag_compact_offscreen", got+"\n")
	if !strings.Contains(got, "◂ start") {
		t.Errorf("the edges from start, scrolled off, are not named:\n%s", got)
	}
	if !strings.Contains(got, "6/6") {
		t.Errorf("no position indicator:\n%s", got)
	}
}

// diamondChain is a diamond (start, left, right, join) and a chain after it whose start
// the last step also needs.
func diamondChain() *flows.Flow {
	return &flows.Flow{Name: "dc", Steps: []*flows.Step{
		step("start", flows.KindShell), step("left", flows.KindShell, "start"),
		step("right", flows.KindShell, "start"), step("join", flows.KindShell, "left", "right"),
		step("check", flows.KindShell, "join"), step("ship", flows.KindShell, "check", "start"),
	}}
}

// A node says what its kind does not: a parked approval is not "approval · approval" (its time
// left stays), and a map not yet started is a map, not "0/0 items".
func TestDAGNodesDoNotRepeatTheirKindOrCountItemsNotYetKnown(t *testing.T) {
	t.Parallel()
	gate := step("review", flows.KindApproval)
	each := step("each", flows.KindShell)
	each.Map = `["a","b"]`
	f := &flows.Flow{Name: "gate", Steps: []*flows.Step{gate, each}}
	for _, tt := range []struct {
		name      string
		state     *engine.State
		want, not []string
	}{
		{"preview", nil, []string{"each shell · map"}, []string{"0/0 items"}},
		{"parked", runState(
			ev(engine.StepStarted, "review", `{"kind":"approval"}`),
			ev(engine.StepWaiting, "review", `{"kind":"approval","prompt":"ok?","until":"2026-01-02T03:14:05Z"}`),
		), []string{"review approval 30m00s left"}, []string{"approval · approval"}},
	} {
		m := NewDAG(NewTheme(true))
		m.SetSize(100, 8)
		m.SetRun("r1", f, tt.state, time.Date(2026, 1, 2, 2, 44, 5, 0, time.UTC))
		view := ansi.Strip(m.View())
		for _, w := range tt.want {
			if !strings.Contains(view, w) {
				t.Errorf("%s: no %q in\n%s", tt.name, w, view)
			}
		}
		for _, n := range tt.not {
			if strings.Contains(view, n) {
				t.Errorf("%s: %q in\n%s", tt.name, n, view)
			}
		}
	}
}

// A parked step's node counts its wait, not running time, as tandem show does ("attempt 1
// waiting 47s"): "waiting 47s", in boxes and in the compact list, and nothing spins.
func TestAWaitingStepsNodeSaysHowLongItHasWaited(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 2, 2, 44, 5, 0, time.UTC)
	gate := step("review", flows.KindApproval)
	f := &flows.Flow{Name: "gate", Steps: []*flows.Step{step("build", flows.KindShell), gate}}
	started := ev(engine.StepStarted, "review", `{"kind":"approval"}`)
	started.Time = now.Add(-47 * time.Second)
	parked := ev(engine.StepWaiting, "review", `{"kind":"approval","prompt":"ok?"}`)
	parked.Time = started.Time
	st := runState(started, parked)
	for _, size := range [][2]int{{100, 8}, {40, 8}} { // boxes, and the list when they do not fit
		m := NewDAG(NewTheme(true))
		m.SetSize(size[0], size[1])
		m.SetRun("r1", f, st, now)
		view := ansi.Strip(m.View())
		if !strings.Contains(view, "⏸ review approval · waiting 47s") {
			t.Errorf("%dx%d: the waiting node does not say how long it waited:\n%s", size[0], size[1], view)
		}
		if strings.Contains(view, "47.0s") {
			t.Errorf("%dx%d: the wait is shown as running time:\n%s", size[0], size[1], view)
		}
		m, _ = m.Update(FrameMsg{Now: now.Add(10 * time.Second)}) // the clock moves on
		if view := ansi.Strip(m.View()); !strings.Contains(view, "⏸ review approval · waiting 57s") {
			t.Errorf("%dx%d: the time waited does not move on:\n%s", size[0], size[1], view)
		}
		m, _ = m.Update(FrameMsg{Now: now.Add(3 * time.Minute)}) // minutes, as an age: it fits the box
		if view := ansi.Strip(m.View()); !strings.Contains(view, "⏸ review approval · waiting 3m ") {
			t.Errorf("%dx%d: a wait of minutes:\n%s", size[0], size[1], view)
		}
	}
}
