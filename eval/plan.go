package eval

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"sync"

	"tandem/flows"
)

// Cell is one run of the plan: a case on a model, the n-th time.
type Cell struct {
	ID     string // the eval run's step id for this cell
	Case   *Case
	Model  string // "" for flow targets and agents on the default model
	Repeat int    // 1-based
}

// Plan lists a suite's cells, case by case, for the given models (nil: the suite's, then
// the agent's own) and repeat count (0: the suite's).
func Plan(s *Suite, models []string, repeat int) []Cell {
	if len(models) == 0 {
		models = s.Models
	}
	if len(models) == 0 {
		models = []string{""}
		if s.Agent != nil {
			models[0] = s.Agent.Model
		}
	}
	if repeat < 1 {
		repeat = s.Repeat
	}
	slugs := map[string]string{}
	used := map[string]bool{}
	for i, m := range models {
		sl := slug(m)
		if used[sl] {
			sl = fmt.Sprintf("%s-%d", sl, i+1)
		}
		used[sl] = true
		slugs[m] = sl
	}
	var cells []Cell
	for _, c := range s.Cases {
		for _, m := range models {
			for n := 1; n <= repeat; n++ {
				cells = append(cells, Cell{ID: fmt.Sprintf("%s--%s--r%d", c.ID, slugs[m], n), Case: c, Model: m, Repeat: n})
			}
		}
	}
	return cells
}

var nonSlug = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`[^a-z0-9]+`) })

func slug(model string) string {
	s := strings.Trim(nonSlug().ReplaceAllString(strings.ToLower(model), "-"), "-")
	if s == "" {
		return "default"
	}
	return s
}

// cellEvent is the signal that records a cell's result in the eval run.
func cellEvent(id string) string { return "cell:" + id }

// evalFlowPrefix starts the flow name of every eval run, so listings can tell them apart.
const evalFlowPrefix = "eval:"

// evalFlow is the flow an eval run records: one wait step per cell, resolved by the signal
// that carries the cell's result. The suite's text and the plan's models and repeat count
// are its inputs, so a resumed eval rebuilds the same plan.
func evalFlow(s *Suite, cells []Cell) (*flows.Flow, error) {
	var b strings.Builder
	fmt.Fprintf(&b, "name: %s\n", quote(evalFlowPrefix+s.Name))
	fmt.Fprintf(&b, "description: %s\n", quote("eval of "+filepath.Base(s.Target)))
	b.WriteString("inputs:\n  suite: { type: string }\n  source: { type: string }\n  models: { type: array }\n  repeat: { type: integer }\nsteps:\n")
	for _, c := range cells {
		desc := fmt.Sprintf("case %s · model %s · repeat %d", c.Case.ID, orDefault(c.Model), c.Repeat)
		fmt.Fprintf(&b, "  - id: %s\n    description: %s\n    wait: { event: %s }\n", c.ID, quote(desc), quote(cellEvent(c.ID)))
	}
	path := filepath.Join(s.Dir, "."+filepath.Base(s.Path)+".eval.yaml")
	f, err := flows.Parse(path, []byte(b.String()))
	if err != nil {
		return nil, fmt.Errorf("build eval flow: %w", err)
	}
	return f, nil
}

func orDefault(model string) string {
	if model == "" {
		return "default"
	}
	return model
}

// modelOrNone names the model of a flow target's case: "-" when none of its steps used one.
func modelOrNone(model string) string {
	if model == "" {
		return "-"
	}
	return model
}

func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
