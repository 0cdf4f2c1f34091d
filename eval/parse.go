package eval

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"

	"go.yaml.in/yaml/v3"

	"tandem/flows"
)

var (
	suiteKeys     = []string{"name", "description", "target", "models", "repeat", "judge_model", "cases"}
	caseKeys      = []string{"id", "description", "input", "workspace", "expect"}
	toolKeys      = []string{"name", "args"}
	fileKeys      = []string{"path", "exists", "equals", "matches"}
	jsonPathKeys  = []string{"path", "equals"}
	judgeKeys     = []string{"rubric", "model"}
	caseIDPattern = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z0-9_-]+$`) })
	yamlLine      = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`line (\d+)`) })
)

// Load reads, parses and validates a suite file; bad input yields flows.Diagnostics.
func Load(path string) (*Suite, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read suite: %w", err)
	}
	return Parse(path, src)
}

// Parse parses and validates a suite from bytes. Paths in it (target, workspaces) are
// relative to path's directory. Every problem is reported at once, with its position.
func Parse(path string, src []byte) (s *Suite, err error) {
	abs, aerr := filepath.Abs(path)
	if aerr != nil {
		abs = path
	}
	r := newReporter(path)
	defer func() {
		// Input must never crash the parser; a bug here becomes a diagnostic.
		if p := recover(); p != nil {
			s, err = nil, flows.Diagnostics{{File: path, Pos: flows.Pos{Line: 1, Col: 1}, Msg: fmt.Sprintf("internal error while parsing: %v", p)}}
		}
	}()
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		p := flows.Pos{Line: 1, Col: 1}
		if m := yamlLine().FindStringSubmatch(err.Error()); m != nil {
			fmt.Sscan(m[1], &p.Line)
		}
		r.at(p, "YAML syntax: %s", strings.TrimPrefix(err.Error(), "yaml: "))
		return nil, r.err()
	}
	if len(doc.Content) == 0 {
		r.at(flows.Pos{Line: 1, Col: 1}, "the file is empty")
		return nil, r.err()
	}
	root := doc.Content[0]
	s = &Suite{Path: abs, Dir: filepath.Dir(abs), Source: src, Repeat: 1}
	var casesNode, targetNode, modelsNode *yaml.Node
	r.mapping(root, "the suite", suiteKeys, func(key string, _, v *yaml.Node) {
		switch key {
		case "name":
			s.Name = r.str(v, "name")
		case "description":
			s.Description = r.str(v, "description")
		case "target":
			targetNode = v
		case "models":
			modelsNode = v
			s.Models = r.strList(v, "models")
		case "repeat":
			if s.Repeat = r.integer(v, "repeat"); s.Repeat < 1 {
				r.at(pos(v), "repeat must be at least 1")
				s.Repeat = 1
			}
		case "judge_model":
			s.JudgeModel = r.str(v, "judge_model")
		case "cases":
			casesNode = v
		}
	})
	if root.Kind != yaml.MappingNode {
		return nil, r.err()
	}
	if s.Name == "" {
		r.at(pos(root), "the suite needs a name (name: my-evals)")
	}
	if targetNode == nil {
		r.at(pos(root), "the suite needs a target: the agent or flow file to evaluate")
	} else {
		r.target(s, targetNode)
	}
	if modelsNode != nil && s.Flow != nil {
		r.at(pos(modelsNode), "models applies to agent targets; a flow's llm and agent steps name their own models")
	}
	if casesNode == nil {
		r.at(pos(root), "the suite needs cases: a list of cases with an id, an input and what to expect")
	} else if casesNode.Kind != yaml.SequenceNode || len(casesNode.Content) == 0 {
		r.at(pos(casesNode), "cases must be a non-empty list, not %s", describe(casesNode))
	} else {
		seen := map[string]int{}
		for _, cn := range casesNode.Content {
			c := r.parseCase(s, cn)
			if c == nil {
				continue
			}
			if line, dup := seen[c.ID]; dup && c.ID != "" {
				r.at(c.Pos, "duplicate case id %q (first on line %d)", c.ID, line)
			}
			seen[c.ID] = c.Pos.Line
			s.Cases = append(s.Cases, c)
		}
	}
	if err := r.err(); err != nil {
		return nil, err
	}
	return s, nil
}

// target loads the agent or flow under test, reporting its own problems at the target key.
func (r *reporter) target(s *Suite, n *yaml.Node) {
	name := r.str(n, "target")
	if name == "" {
		return
	}
	s.Target = name
	if !filepath.IsAbs(s.Target) {
		s.Target = filepath.Join(s.Dir, name)
	}
	if _, err := os.Stat(s.Target); err != nil {
		r.at(pos(n), "target %s does not exist", name)
		return
	}
	f, a, err := flows.LoadAny(s.Target)
	if err != nil {
		var diags flows.Diagnostics
		if errors.As(err, &diags) {
			for _, d := range diags {
				r.at(pos(n), "target %s: %s", name, d.Error())
			}
			return
		}
		r.at(pos(n), "target %s: %v", name, err)
		return
	}
	s.Flow, s.Agent = f, a
}

func (r *reporter) strList(n *yaml.Node, what string) []string {
	if n.Kind == yaml.ScalarNode && n.Tag != "!!null" {
		return []string{n.Value}
	}
	if n.Kind != yaml.SequenceNode {
		r.at(pos(n), "%s must be a list of strings, not %s", what, describe(n))
		return nil
	}
	var out []string
	for _, c := range n.Content {
		if v := r.str(c, what+" item"); v != "" {
			out = append(out, v)
		}
	}
	return out
}

func (r *reporter) parseCase(s *Suite, n *yaml.Node) *Case {
	c := &Case{Pos: pos(n)}
	var inputNode *yaml.Node
	hasExpect := false
	r.mapping(n, "a case", caseKeys, func(key string, _, v *yaml.Node) {
		switch key {
		case "id":
			c.ID, c.Pos = r.str(v, "id"), pos(v)
			if c.ID != "" && !caseIDPattern().MatchString(c.ID) {
				r.at(pos(v), "case id %q may only use a-z, 0-9, _ and -", c.ID)
			}
		case "description":
			c.Description = r.str(v, "description")
		case "input":
			inputNode = v
		case "workspace":
			ws := r.str(v, "workspace")
			if ws == "" {
				return
			}
			c.Workspace = ws
			if !filepath.IsAbs(ws) {
				c.Workspace = filepath.Join(s.Dir, ws)
			}
			if st, err := os.Stat(c.Workspace); err != nil || !st.IsDir() {
				r.at(pos(v), "workspace %s is not a directory", ws)
			}
		case "expect":
			hasExpect = true
			if v.Kind != yaml.SequenceNode {
				r.at(pos(v), "expect must be a list like [{contains: \"8421\"}, {max_turns: 4}], not %s", describe(v))
				return
			}
			for _, en := range v.Content {
				if x, ok := r.expectation(en); ok {
					c.Expect = append(c.Expect, x)
				}
			}
		}
	})
	if n.Kind != yaml.MappingNode {
		return nil
	}
	if c.ID == "" {
		r.at(pos(n), "a case needs an id (id: my-case)")
	}
	if !hasExpect {
		r.at(pos(n), "case %s needs expect: what its run must do", c.ID)
	}
	r.input(s, c, inputNode, pos(n))
	return c
}

// input checks a case's input against the target: a prompt for an agent, the flow's inputs
// for a flow.
func (r *reporter) input(s *Suite, c *Case, n *yaml.Node, at flows.Pos) {
	switch {
	case s.Agent != nil:
		if n == nil {
			r.at(at, "case %s needs an input: the prompt for the agent", c.ID)
			return
		}
		c.Prompt = r.str(n, "input (the agent's prompt)")
	case s.Flow != nil:
		c.Inputs = map[string]any{}
		if n != nil {
			v, ok := r.value(n, "input")
			if !ok {
				return
			}
			m, isMap := v.(map[string]any)
			if !isMap {
				r.at(pos(n), "input must be a mapping of the flow's inputs, not %s", describe(n))
				return
			}
			c.Inputs, at = m, pos(n)
		}
		if _, err := flows.CoerceInputs(s.Flow, c.Inputs); err != nil {
			r.at(at, "input of case %s: %v", c.ID, err)
		}
	}
}

// expectation parses one item of expect: a mapping with exactly one key naming its kind.
func (r *reporter) expectation(n *yaml.Node) (Expectation, bool) {
	if n.Kind != yaml.MappingNode || len(n.Content) != 2 {
		r.at(pos(n), "an expectation is a mapping with one key (%s), not %s", strings.Join(expectKinds, ", "), describe(n))
		return Expectation{}, false
	}
	k, v := n.Content[0], n.Content[1]
	x := Expectation{Kind: Kind(k.Value), Pos: pos(k)}
	before := r.problems()
	switch x.Kind {
	case KindContains, KindEquals, KindEndReason:
		x.Text = r.str(v, k.Value)
	case KindRegex:
		x.Text = r.str(v, "regex")
		x.Re = r.regex(v, "regex")
	case KindJSONSchema:
		if v.Kind != yaml.MappingNode {
			r.at(pos(v), "json_schema must be a JSON schema mapping, not %s", describe(v))
			break
		}
		m, _ := r.value(v, "json_schema")
		x.Schema, _ = m.(map[string]any)
		if _, err := flows.CompileSchema(x.Schema); err != nil {
			r.at(pos(v), "json_schema: %v", err)
		}
	case KindJSONPath:
		hasValue := false
		r.mapping(v, "json_path", jsonPathKeys, func(key string, _, vv *yaml.Node) {
			switch key {
			case "path":
				x.Path = r.str(vv, "json_path.path")
				if _, err := splitPath(x.Path); x.Path != "" && err != nil {
					r.at(pos(vv), "json_path.path: %v", err)
				}
			case "equals":
				x.Value, _ = r.value(vv, "json_path.equals")
				hasValue = true
			}
		})
		if v.Kind == yaml.MappingNode && (x.Path == "" || !hasValue) {
			r.at(pos(v), "json_path needs a path and the value it equals: { path: a.b, equals: 3 }")
		}
	case KindToolCalled, KindToolNotCalled:
		if v.Kind == yaml.ScalarNode {
			x.Tool = r.str(v, k.Value)
			break
		}
		allowed := toolKeys
		if x.Kind == KindToolNotCalled {
			allowed = toolKeys[:1]
		}
		r.mapping(v, k.Value, allowed, func(key string, _, vv *yaml.Node) {
			switch key {
			case "name":
				x.Tool = r.str(vv, k.Value+".name")
			case "args":
				m, _ := r.value(vv, k.Value+".args")
				var ok bool
				if x.Args, ok = m.(map[string]any); !ok {
					r.at(pos(vv), "%s.args must be a mapping of argument names to values", k.Value)
				}
			}
		})
		if v.Kind == yaml.MappingNode && x.Tool == "" {
			r.at(pos(v), "%s needs the tool's name: { name: read_file }", k.Value)
		}
	case KindFile:
		x.Exists = true
		checks := 0
		r.mapping(v, "file", fileKeys, func(key string, _, vv *yaml.Node) {
			switch key {
			case "path":
				x.File = r.str(vv, "file.path")
				if filepath.IsAbs(x.File) || x.File == ".." || strings.HasPrefix(filepath.Clean(x.File), ".."+string(filepath.Separator)) {
					r.at(pos(vv), "file.path must be relative to the run's workspace and stay inside it")
				}
			case "exists":
				x.Exists = r.boolean(vv, "file.exists")
				checks++
			case "equals":
				s := r.str(vv, "file.equals")
				x.Equals = &s
				checks++
			case "matches":
				x.Re = r.regex(vv, "file.matches")
				checks++
			}
		})
		if v.Kind == yaml.MappingNode && x.File == "" {
			r.at(pos(v), "file needs a path: { path: next.txt, equals: \"buy milk\" }")
		}
		if checks > 1 {
			r.at(pos(v), "file takes one of exists, equals or matches")
		}
	case KindMaxTurns, KindMaxTokens:
		x.Limit = float64(r.integer(v, k.Value))
		if x.Limit < 0 {
			r.at(pos(v), "%s cannot be negative", k.Value)
		}
	case KindMaxSeconds:
		x.Limit = r.number(v, "max_seconds")
		if x.Limit <= 0 && r.problems() == before {
			r.at(pos(v), "max_seconds must be more than 0")
		}
	case KindJudge:
		r.mapping(v, "judge", judgeKeys, func(key string, _, vv *yaml.Node) {
			switch key {
			case "rubric":
				x.Rubric = r.str(vv, "judge.rubric")
			case "model":
				x.Model = r.str(vv, "judge.model")
			}
		})
		if v.Kind == yaml.MappingNode && strings.TrimSpace(x.Rubric) == "" {
			r.at(pos(v), "judge needs a rubric: what a good answer does")
		}
	default:
		r.at(pos(k), "unknown expectation %q (one of %s)%s", k.Value, strings.Join(expectKinds, ", "), suggest(k.Value, expectKinds))
	}
	return x, r.problems() == before
}

// IsSuite reports whether a file looks like an eval suite (a target beside cases) rather
// than a flow or an agent, so tandem validate can check either.
func IsSuite(path string) bool {
	src, err := os.ReadFile(path)
	if err != nil {
		return false
	}
	var probe map[string]any
	if yaml.Unmarshal(src, &probe) != nil {
		return false
	}
	_, target := probe["target"]
	_, cases := probe["cases"]
	_, steps := probe["steps"]
	return target && cases && !steps
}
