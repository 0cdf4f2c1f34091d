package engine

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"tandem/flows"
)

// StepDiff compares one step across two runs. A step absent from a run has an empty status.
type StepDiff struct {
	StepID  string     `json:"step"`
	StatusA StepStatus `json:"status_a"`
	StatusB StepStatus `json:"status_b"`
	OutputA string     `json:"output_a"`
	OutputB string     `json:"output_b"`
	Equal   bool       `json:"equal"` // same status and same output
}

// DiffRuns compares every step of two runs (map children included), in the order of a's flow
// (then b's), steps neither flow names last by id. The children of a map step a fork reused
// are left out: the fork has only their parent's output, which is compared. It is pure: it
// reads only the two states.
func DiffRuns(a, b *State) []StepDiff {
	var ids []string
	seen := map[string]bool{}
	add := func(id string) {
		if !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	for _, st := range []*State{a, b} {
		f, err := flows.Parse(st.Start.FlowPath, []byte(st.Start.Source))
		if err != nil {
			continue
		}
		for _, s := range f.Steps {
			add(s.ID)
			if reused(a, s.ID) || reused(b, s.ID) {
				continue
			}
			n := max(items(a, s.ID), items(b, s.ID))
			for i := 0; i < n; i++ {
				add(ChildID(s.ID, i))
			}
		}
	}
	var rest []string
	for _, st := range []*State{a, b} {
		for id, ss := range st.Steps {
			if !seen[id] && !(ss.Parent != "" && (reused(a, ss.Parent) || reused(b, ss.Parent))) {
				seen[id] = true
				rest = append(rest, id)
			}
		}
	}
	sort.Strings(rest)
	ids = append(ids, rest...)
	out := make([]StepDiff, 0, len(ids))
	for _, id := range ids {
		d := StepDiff{StepID: id}
		if s, ok := a.Steps[id]; ok {
			d.StatusA, d.OutputA = s.Status, s.Output
		}
		if s, ok := b.Steps[id]; ok {
			d.StatusB, d.OutputB = s.Status, s.Output
		}
		d.Equal = d.StatusA == d.StatusB && d.OutputA == d.OutputB
		out = append(out, d)
	}
	return out
}

func reused(st *State, id string) bool {
	s, ok := st.Steps[id]
	return ok && s.ReusedFrom != ""
}

func items(st *State, id string) int {
	if s, ok := st.Steps[id]; ok {
		return s.Items
	}
	return 0
}

// LineEdit is one line of a line diff: Op is ' ' (in both), '-' (only in a) or '+' (only in b).
type LineEdit struct {
	Op   byte   `json:"op"`
	Text string `json:"text"`
}

// maxDiffCells bounds the work of DiffLines; larger outputs are shown as all removed, all added.
const maxDiffCells = 1 << 20

// DiffLines is a line diff of two texts (a longest common subsequence), for showing how two
// outputs differ.
func DiffLines(a, b string) []LineEdit {
	la, lb := splitLines(a), splitLines(b)
	if len(la)*len(lb) > maxDiffCells {
		out := make([]LineEdit, 0, len(la)+len(lb))
		for _, l := range la {
			out = append(out, LineEdit{'-', l})
		}
		for _, l := range lb {
			out = append(out, LineEdit{'+', l})
		}
		return out
	}
	// lcs[i][j] is the length of the longest common subsequence of la[i:] and lb[j:].
	lcs := make([][]int, len(la)+1)
	for i := range lcs {
		lcs[i] = make([]int, len(lb)+1)
	}
	for i := len(la) - 1; i >= 0; i-- {
		for j := len(lb) - 1; j >= 0; j-- {
			if la[i] == lb[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	var out []LineEdit
	i, j := 0, 0
	for i < len(la) || j < len(lb) {
		switch {
		case i < len(la) && j < len(lb) && la[i] == lb[j]:
			out = append(out, LineEdit{' ', la[i]})
			i, j = i+1, j+1
		case i < len(la) && (j == len(lb) || lcs[i+1][j] >= lcs[i][j+1]):
			out = append(out, LineEdit{'-', la[i]})
			i++
		default:
			out = append(out, LineEdit{'+', lb[j]})
			j++
		}
	}
	return out
}

func splitLines(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(strings.TrimSuffix(s, "\n"), "\n")
}

// InputDiff is one input whose value differs between two runs, each as JSON ("" when the
// run has no such input).
type InputDiff struct {
	Name string `json:"name"`
	A    string `json:"a"`
	B    string `json:"b"`
}

// DiffInputs lists the inputs whose values differ between two runs, by name: what a reader
// of a run diff needs first, since most differing steps follow from them.
func DiffInputs(a, b *State) []InputDiff {
	names := map[string]bool{}
	for _, st := range []*State{a, b} {
		for k := range st.Start.Inputs {
			names[k] = true
		}
	}
	text := func(st *State, k string) string {
		v, ok := st.Start.Inputs[k]
		if !ok {
			return ""
		}
		raw, err := json.Marshal(v)
		if err != nil {
			return fmt.Sprint(v)
		}
		return string(raw)
	}
	var out []InputDiff
	for k := range names {
		if va, vb := text(a, k), text(b, k); va != vb {
			out = append(out, InputDiff{Name: k, A: va, B: vb})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}
