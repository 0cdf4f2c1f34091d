package engine

import (
	"sort"

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
// (then b's), steps neither flow names last by id. It is pure: it reads only the two states.
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
			n := max(items(a, s.ID), items(b, s.ID))
			for i := 0; i < n; i++ {
				add(ChildID(s.ID, i))
			}
		}
	}
	var rest []string
	for _, st := range []*State{a, b} {
		for id := range st.Steps {
			if !seen[id] {
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

func items(st *State, id string) int {
	if s, ok := st.Steps[id]; ok {
		return s.Items
	}
	return 0
}
