package eval

import (
	"fmt"
	"io"
	"sort"
	"text/tabwriter"
)

// Change is how one case (on one model) moved between two eval runs.
type Change struct {
	Case string `json:"case"`
	// Model is the row's model, or "A → B" when each run used one, different, model.
	Model  string `json:"model"`
	Kind   string `json:"kind"` // regressed, improved, unchanged, added, removed
	Before *Row   `json:"before,omitempty"`
	After  *Row   `json:"after,omitempty"`
	// PassDelta is the change in pass rate (after minus before); the others change in
	// medians.
	PassDelta    float64 `json:"pass_delta"`
	TurnsDelta   float64 `json:"turns_delta"`
	TokensDelta  float64 `json:"tokens_delta"`
	SecondsDelta float64 `json:"seconds_delta"`
	// NewlyFailed are expectations that fail in more runs after than before.
	NewlyFailed []string `json:"newly_failed,omitempty"`
}

// Change kinds, in the order Compare sorts them.
const (
	Regressed = "regressed"
	Improved  = "improved"
	Added     = "added"
	Removed   = "removed"
	Unchanged = "unchanged"
)

// Compare matches the rows of two eval runs and says what changed, regressions first (the
// biggest drop first), then improvements, new and dropped cases, and the rest. Rows match by
// case and model; when each run used a single model, by case alone, so comparing two models
// on one suite works.
func Compare(a, b *Report) []Change {
	byCase := len(a.Models) == 1 && len(b.Models) == 1
	key := func(r Row) string {
		if byCase {
			return r.Case
		}
		return r.Case + "\x00" + r.Model
	}
	model := func(r Row) string { return orDefault(r.Model) }
	if byCase && a.Models[0].Model != b.Models[0].Model {
		model = func(Row) string { return orDefault(a.Models[0].Model) + " → " + orDefault(b.Models[0].Model) }
	}
	after := map[string]*Row{}
	for i := range b.Rows {
		after[key(b.Rows[i])] = &b.Rows[i]
	}
	var out []Change
	seen := map[string]bool{}
	for i := range a.Rows {
		ra := &a.Rows[i]
		k := key(*ra)
		seen[k] = true
		rb, ok := after[k]
		if !ok {
			out = append(out, Change{Case: ra.Case, Model: model(*ra), Kind: Removed, Before: ra})
			continue
		}
		c := Change{Case: ra.Case, Model: model(*ra), Before: ra, After: rb, PassDelta: rb.PassRate() - ra.PassRate(),
			TurnsDelta: rb.Turns - ra.Turns, TokensDelta: rb.Tokens - ra.Tokens, SecondsDelta: rb.Seconds - ra.Seconds}
		switch {
		case c.PassDelta < 0:
			c.Kind = Regressed
		case c.PassDelta > 0:
			c.Kind = Improved
		default:
			c.Kind = Unchanged
		}
		for exp, n := range rb.Failed {
			if n > ra.Failed[exp] {
				c.NewlyFailed = append(c.NewlyFailed, exp)
			}
		}
		sort.Strings(c.NewlyFailed)
		out = append(out, c)
	}
	for i := range b.Rows {
		if rb := &b.Rows[i]; !seen[key(*rb)] {
			out = append(out, Change{Case: rb.Case, Model: model(*rb), Kind: Added, After: rb})
		}
	}
	rank := map[string]int{Regressed: 0, Improved: 1, Added: 2, Removed: 3, Unchanged: 4}
	sort.SliceStable(out, func(i, j int) bool {
		if rank[out[i].Kind] != rank[out[j].Kind] {
			return rank[out[i].Kind] < rank[out[j].Kind]
		}
		if out[i].Kind == Regressed {
			return out[i].PassDelta < out[j].PassDelta
		}
		if out[i].Kind == Improved {
			return out[i].PassDelta > out[j].PassDelta
		}
		return false
	})
	return out
}

// WriteCompare prints the changes between eval runs a and b, a line per case.
func WriteCompare(w io.Writer, a, b *Report, changes []Change) error {
	counts := map[string]int{}
	for _, c := range changes {
		counts[c.Kind]++
	}
	fmt.Fprintf(w, "eval %s (run %s) → %s (run %s): %d regressed, %d improved, %d unchanged",
		a.Suite, a.RunID, b.Suite, b.RunID, counts[Regressed], counts[Improved], counts[Unchanged])
	if counts[Added]+counts[Removed] > 0 {
		fmt.Fprintf(w, ", %d added, %d removed", counts[Added], counts[Removed])
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "\tcase\tmodel\tpass\tturns\ttokens\ttime")
	marks := map[string]string{Regressed: "✗", Improved: "✓", Added: "+", Removed: "-", Unchanged: "="}
	for _, c := range changes {
		pass := "?"
		switch {
		case c.Before != nil && c.After != nil:
			pass = fmt.Sprintf("%d/%d → %d/%d", c.Before.Passed, c.Before.Runs, c.After.Passed, c.After.Runs)
		case c.Before != nil:
			pass = fmt.Sprintf("%d/%d → gone", c.Before.Passed, c.Before.Runs)
		case c.After != nil:
			pass = fmt.Sprintf("new → %d/%d", c.After.Passed, c.After.Runs)
		}
		turns, tokens, time := "", "", ""
		if c.Before != nil && c.After != nil {
			turns, tokens, time = signed(c.TurnsDelta, ""), signed(c.TokensDelta, ""), signed(c.SecondsDelta, "s")
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", marks[c.Kind], c.Case, c.Model, pass, turns, tokens, time)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, c := range changes {
		if c.Kind == Regressed && len(c.NewlyFailed) > 0 {
			fmt.Fprintf(w, "\n%s (%s) now fails:\n", c.Case, c.Model)
			for _, e := range c.NewlyFailed {
				fmt.Fprintf(w, "  ✗ %s\n", e)
			}
		}
	}
	return nil
}

func signed(f float64, unit string) string {
	if f == 0 {
		return "±0" + unit
	}
	s := num(f)
	if unit == "s" {
		s = fmt.Sprintf("%.1f", f)
	}
	if f > 0 {
		s = "+" + s
	}
	return s + unit
}
