package flows

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// validateFlow checks everything that spans steps: ids, needs, cycles, references in
// templates and expressions, sub-flows and agents.
func validateFlow(r *reporter, f *Flow, visiting map[string]bool) {
	byID := map[string]*Step{}
	for _, s := range f.Steps {
		if s.ID == "" {
			continue
		}
		if first, dup := byID[s.ID]; dup {
			r.at(s.Pos, "duplicate step id %q (first defined on line %d)", s.ID, first.Pos.Line)
			continue
		}
		byID[s.ID] = s
	}
	for _, s := range f.Steps {
		for i, n := range s.Needs {
			at := s.fieldAt("needs."+strconv.Itoa(i), "needs").val
			if _, ok := byID[n]; !ok {
				r.at(at, "step %q needs unknown step %q%s", s.ID, n, suggest(n, keys(byID)))
			} else if n == s.ID {
				r.at(at, "step %q needs itself", s.ID)
			}
		}
	}
	for _, s := range f.Steps {
		if s.Join == JoinAny && len(s.Needs) < 2 {
			r.at(s.field("join"), "step %q has join: any but %d needs; it merges two or more branches", s.ID, len(s.Needs))
		}
	}
	reportCycles(r, f, byID)
	inputs := map[string]bool{}
	for _, in := range f.Inputs {
		inputs[in.Name] = true
	}
	chk := &refChecker{r: r, steps: byID, inputs: inputs, src: strings.Split(string(f.Source), "\n")}
	for _, s := range f.Steps {
		chk.step = s
		for _, t := range stepTemplates(s) {
			chk.cur = t.at
			chk.template(t.text)
		}
		if s.Kind == KindShell {
			chk.cur = s.fieldAt("shell")
			chk.shellTemplate(s.Shell)
		}
		if s.When != "" {
			chk.cur = s.fieldAt("when")
			chk.expression(s.When, "when")
			if _, tmpl := templateAsExpression(s.When); !tmpl { // expression said what to write
				if err := checkBool(s.When); err != nil {
					r.at(s.field("when"), "step %q: when must be true or false, but %q cannot be: %s", s.ID, s.When, oneLine(err.Error()))
				}
			}
		}
		if _, literal := literalList(s.Map); s.Map != "" && !literal {
			chk.cur = s.fieldAt("map")
			chk.expression(s.Map, "map")
		}
		switch s.Kind {
		case KindFlow:
			checkSubFlow(r, f, s, visiting)
		case KindAgent:
			if s.Agent != nil && s.Agent.File != "" {
				p := resolvePath(f.Dir, s.Agent.File)
				if _, err := parseAgentFile(p, visiting); err != nil {
					reportNested(r, s.field("agent"), "agent "+s.Agent.File, err)
				}
			}
		}
	}
	chk.step = nil
	for _, k := range sortedKeys(f.Outputs) {
		chk.cur = fieldPos{Pos{1, 1}, Pos{1, 1}}
		if at, ok := f.outputs[k]; ok {
			chk.cur = at
		}
		chk.template(f.Outputs[k])
	}
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func sortedKeys(m map[string]string) []string { return keys(m) }

func resolvePath(dir, p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(dir, p)
}

// stepTemplate is one of a step's templated strings and where it is in the file.
type stepTemplate struct {
	text string
	at   fieldPos
}

// stepTemplates lists the step's templated strings.
func stepTemplates(s *Step) []stepTemplate {
	var t []stepTemplate
	add := func(text string, keys ...string) { t = append(t, stepTemplate{text, s.fieldAt(keys...)}) }
	add(s.Shell, "shell")
	for i, a := range s.Run {
		add(a, "run."+strconv.Itoa(i), "run")
	}
	for _, k := range sortedKeys(s.With) {
		add(s.With[k], "with."+k, "with")
	}
	for _, k := range sortedKeys(s.Env) {
		add(s.Env[k], "env."+k, "env")
	}
	if s.LLM != nil {
		add(s.LLM.System, "llm.system", "llm")
		add(s.LLM.Prompt, "llm.prompt", "prompt", "llm")
	}
	if s.Agent != nil {
		add(s.Agent.Prompt, "prompt")
		add(s.Agent.Session, "session")
	}
	if s.Approval != nil {
		add(s.Approval.Prompt, "approval.prompt", "approval")
	}
	return t
}

// reportCycles names each cycle once, at the first of its steps in file order.
func reportCycles(r *reporter, f *Flow, byID map[string]*Step) {
	const (
		white = iota
		grey
		black
	)
	color := map[string]int{}
	var stack []string
	reported := map[string]bool{}
	var visit func(id string)
	visit = func(id string) {
		color[id] = grey
		stack = append(stack, id)
		for _, n := range byID[id].Needs {
			if _, ok := byID[n]; !ok || n == id {
				continue
			}
			switch color[n] {
			case white:
				visit(n)
			case grey:
				i := indexOf(stack, n)
				cyc := append([]string{}, stack[i:]...)
				key := canonical(cyc)
				if !reported[key] {
					reported[key] = true
					// Name it in dependency order, starting from the step listed first.
					start := cyc[0]
					for _, c := range cyc {
						if byID[c].Pos.Line < byID[start].Pos.Line {
							start = c
						}
					}
					r.at(byID[start].Pos, "cycle: %s", cycleText(cyc, start))
				}
			}
		}
		stack = stack[:len(stack)-1]
		color[id] = black
	}
	for _, s := range f.Steps {
		if _, ok := byID[s.ID]; ok && color[s.ID] == white {
			visit(s.ID)
		}
	}
}

// cycleText renders a cycle found along needs edges (each step needs the next) in the
// order a reader follows it: start -> the step that needs it ... -> start.
func cycleText(cyc []string, start string) string {
	// cyc[i] needs cyc[i+1]; reverse to read as "a runs before b".
	rev := make([]string, len(cyc))
	for i, c := range cyc {
		rev[len(cyc)-1-i] = c
	}
	i := indexOf(rev, start)
	ordered := append(append([]string{}, rev[i:]...), rev[:i]...)
	return strings.Join(append(ordered, start), " -> ")
}

func indexOf(list []string, s string) int {
	for i, x := range list {
		if x == s {
			return i
		}
	}
	return 0
}

func canonical(cyc []string) string {
	c := append([]string{}, cyc...)
	sort.Strings(c)
	return strings.Join(c, ",")
}

// needsTransitively reports whether step id needs target, directly or through other steps.
// References are few per step, so a search per reference beats precomputing every step's
// ancestor set (quadratic on long chains).
func needsTransitively(byID map[string]*Step, id, target string) bool {
	seen := map[string]bool{}
	stack := []string{id}
	for len(stack) > 0 {
		cur := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		s, ok := byID[cur]
		if !ok {
			continue
		}
		for _, n := range s.Needs {
			if n == target {
				return true
			}
			if !seen[n] {
				seen[n] = true
				stack = append(stack, n)
			}
		}
	}
	return false
}

// refChecker reports references to inputs and steps that cannot exist when a step runs.
type refChecker struct {
	r      *reporter
	steps  map[string]*Step
	inputs map[string]bool
	step   *Step    // nil for flow outputs
	src    []string // the file's lines, to place a message at a key
	cur    fieldPos // the field being checked
}

// at is the position of the field being checked.
func (c *refChecker) at() Pos {
	if c.cur.val.Line > 0 {
		return c.cur.val
	}
	if c.step != nil {
		return c.step.Pos
	}
	return Pos{1, 1}
}

// refAt places a reference inside the field being checked: at the reference as written
// (".steps.c" in a template, "steps.c" in an expression), else at the field's value.
func (c *refChecker) refAt(ref []string, dot string) Pos {
	if c.cur.val.Line == 0 {
		return c.at()
	}
	return find(c.src, c.cur, dot+strings.Join(ref[:min(len(ref), 2)], "."))
}

func (c *refChecker) where() string {
	if c.step != nil {
		return fmt.Sprintf("step %q", c.step.ID)
	}
	return "outputs"
}

func (c *refChecker) template(t string) {
	if t == "" {
		return
	}
	refs, err := templateRefs(t)
	if err != nil {
		c.r.at(c.at(), "%s: bad template %q: %s", c.where(), clip(t), err)
		return
	}
	// $ reaches the top-level data from inside range and with, where the walk does not
	// follow references: count such a template as reading every input.
	if c.step != nil && dollarAction().MatchString(t) && strings.Contains(t, "inputs") {
		c.step.InputsAll = true
	}
	for _, ref := range refs {
		c.check(ref, ".")
	}
}

// dollarAction matches a template action that uses a variable ($ or $x); a shell's own $var
// outside the actions does not count.
var dollarAction = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`\{\{[^}]*\$`) })

func (c *refChecker) expression(e, what string) {
	if fix, ok := templateAsExpression(e); ok {
		c.r.at(c.at(), "%s: %s: takes an expression, not a template: write %s: %s", c.where(), what, what, fix)
		return
	}
	refs, err := exprRefs(e)
	if err != nil {
		c.r.at(c.at(), "%s: bad %s expression %q: %s", c.where(), what, clip(e), err)
		return
	}
	for _, ref := range refs {
		c.check(ref, "")
	}
}

// templateAsExpression reports whether an expression field holds one template action
// ("{{ .inputs.items }}"), a mistake expr-lang would only call a bad map key, and returns the
// expression the author meant (inputs.items).
func templateAsExpression(e string) (string, bool) {
	t := strings.TrimSpace(e)
	if !strings.HasPrefix(t, "{{") || !strings.HasSuffix(t, "}}") || strings.Count(t, "{{") != 1 {
		return "", false
	}
	inner := strings.TrimSuffix(strings.TrimPrefix(t[2:len(t)-2], "-"), "-") // {{- x -}} too
	inner = strings.TrimPrefix(strings.TrimSpace(inner), ".")
	if inner == "" {
		return "", false
	}
	return inner, true
}

func (c *refChecker) check(ref []string, dot string) {
	switch ref[0] {
	case "inputs":
		if c.step != nil {
			if len(ref) < 2 {
				c.step.InputsAll = true
			} else if !contains(c.step.InputRefs, ref[1]) {
				c.step.InputRefs = append(c.step.InputRefs, ref[1])
			}
		}
		if len(ref) > 1 && !c.inputs[ref[1]] {
			c.r.at(c.refAt(ref, dot), "%s uses %sinputs.%s, but the flow has no input %q%s", c.where(), dot, ref[1], ref[1], suggest(ref[1], keys(c.inputs)))
		}
	case "steps":
		if len(ref) < 2 {
			if c.step != nil {
				c.step.RefsAll = true
			}
			return
		}
		id := ref[1]
		if c.step != nil && !contains(c.step.Refs, id) {
			c.step.Refs = append(c.step.Refs, id)
		}
		if _, ok := c.steps[id]; !ok {
			c.r.at(c.refAt(ref, dot), "%s uses %ssteps.%s, but there is no step %q%s", c.where(), dot, id, id, suggest(id, keys(c.steps)))
			return
		}
		if c.step != nil && !needsTransitively(c.steps, c.step.ID, id) {
			c.r.at(c.refAt(ref, dot), "%s uses %ssteps.%s but does not need it (add it to needs)", c.where(), dot, id)
			return
		}
		if len(ref) > 2 && !contains([]string{"output", "json", "status"}, ref[2]) {
			c.r.at(c.refAt(ref, dot), "%s uses %ssteps.%s.%s; a step has output, json and status", c.where(), dot, id, ref[2])
		}
	case "item", "index":
		if c.step == nil || c.step.Map == "" {
			c.r.at(c.refAt(ref, dot), "%s uses %s%s, which only exists in map: steps", c.where(), dot, ref[0])
		}
	case "run":
	default:
		if dot != "" { // templates: every top-level name is data; expressions may call functions
			c.r.at(c.refAt(ref, dot), "%s uses %s%s; templates see .inputs, .steps, .item, .index and .run", c.where(), dot, ref[0])
		}
	}
}

// checkSubFlow loads a sub-flow (guarding against recursion) and checks its inputs.
func checkSubFlow(r *reporter, parent *Flow, s *Step, visiting map[string]bool) {
	if s.Flow == "" {
		return
	}
	p := resolvePath(parent.Dir, s.Flow)
	abs, _ := filepath.Abs(p)
	if visiting[abs] {
		r.at(s.field("flow"), "step %q: flow %s includes itself (recursion through sub-flows)", s.ID, s.Flow)
		return
	}
	src, err := os.ReadFile(p)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			r.at(s.field("flow"), "step %q: flow file %s does not exist", s.ID, s.Flow)
		} else {
			r.at(s.field("flow"), "step %q: read %s: %v", s.ID, s.Flow, err)
		}
		return
	}
	sub, err := parseFlow(p, src, visiting)
	if err != nil {
		reportNested(r, s.field("flow"), "sub-flow "+s.Flow, err)
		return
	}
	declared := map[string]bool{}
	for _, in := range sub.Inputs {
		declared[in.Name] = true
		if _, ok := s.With[in.Name]; !ok && in.Required {
			r.at(s.fieldAt("with", "flow").key, "step %q: sub-flow %s needs input %q (add it to with:)", s.ID, s.Flow, in.Name)
		}
	}
	for _, k := range sortedKeys(s.With) {
		if !declared[k] {
			r.at(s.fieldKey("with."+k), "step %q: sub-flow %s has no input %q%s", s.ID, s.Flow, k, suggest(k, keys(declared)))
		}
	}
}

// reportNested adds a referenced file's own diagnostics, plus a pointer from this step.
func reportNested(r *reporter, at Pos, what string, err error) {
	var ds Diagnostics
	if errors.As(err, &ds) {
		r.at(at, "%s has %d problem(s), listed below", what, len(ds))
		r.diags = append(r.diags, ds...)
		return
	}
	r.at(at, "%s: %v", what, err)
}
