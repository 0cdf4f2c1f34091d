package flows

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	"go.yaml.in/yaml/v3"
)

var (
	flowKeys     = []string{"name", "description", "inputs", "outputs", "steps"}
	inputKeys    = []string{"type", "default", "description", "required", "enum", "secret"}
	stepKeys     = []string{"id", "description", "needs", "join", "when", "map", "retry", "timeout", "env", "continue_on_error", "model_timeouts", "shell", "run", "flow", "with", "llm", "agent", "prompt", "schema", "session", "model", "wait", "sleep", "approval"}
	kindKeys     = []string{"shell", "run", "flow", "llm", "agent", "wait", "sleep", "approval"}
	retryKeys    = []string{"max_attempts", "backoff", "max_backoff"}
	llmKeys      = []string{"model", "system", "prompt", "schema", "options", "think"}
	waitKeys     = []string{"event", "any", "timeout"}
	sleepKeys    = []string{"for", "until"}
	approvalKeys = []string{"prompt", "timeout"}
	stallKeys    = []string{"header", "idle"}
	inputTypes   = []string{"string", "number", "integer", "boolean", "object", "array"}
	idPattern    = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z0-9_-]+$`) })
)

// Load reads, parses and validates a flow file. Bad input yields Diagnostics.
func Load(path string) (*Flow, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		if fi, serr := os.Stat(path); serr == nil && fi.IsDir() {
			return nil, fmt.Errorf("read flow: %s is a directory, not a flow file%s", path, yamlFilesIn(path))
		}
		return nil, fmt.Errorf("read flow: %w", err)
	}
	return Parse(path, src)
}

// yamlFilesIn names a few YAML files of a directory, to say which flow was probably meant.
func yamlFilesIn(dir string) string {
	var names []string
	for _, ext := range []string{"*.yaml", "*.yml"} {
		m, _ := filepath.Glob(filepath.Join(dir, ext))
		names = append(names, m...)
	}
	if len(names) == 0 {
		return ""
	}
	if len(names) > 3 {
		names = append(names[:3], "...")
	}
	return " (" + strings.Join(names, ", ") + ")"
}

// Parse parses and validates a flow from bytes; path names it in messages and anchors
// relative paths (sub-flows, agents, the steps' working directory).
func Parse(path string, src []byte) (*Flow, error) {
	return parseFlow(path, src, map[string]bool{})
}

func parseFlow(path string, src []byte, visiting map[string]bool) (*Flow, error) {
	// A file within one group has nothing to gain from the split: it is parsed whole.
	if len(src) > stepsGroupBytes {
		if sp := splitSteps(src, stepsGroupBytes); sp != nil {
			if f, held, err := parseFlowFrom(path, src, sp, visiting); held {
				return f, err
			}
		}
	}
	f, _, err := parseFlowFrom(path, src, nil, visiting)
	return f, err
}

// parseFlowFrom parses src whole (sp nil) or in the parts sp cut it into; held is false when
// the parts did not hold and src must be parsed whole.
func parseFlowFrom(path string, src []byte, sp *stepsSplit, visiting map[string]bool) (f *Flow, held bool, err error) {
	abs, aerr := filepath.Abs(path)
	if aerr != nil {
		abs = path
	}
	r := &reporter{file: path}
	defer func() {
		// Input must never crash the parser; a bug here becomes a diagnostic, not a panic.
		if p := recover(); p != nil {
			f, held, err = nil, true, Diagnostics{{File: path, Pos: Pos{1, 1}, Msg: fmt.Sprintf("internal error while parsing: %v", p)}}
		}
	}()
	text := src
	if sp != nil {
		text = sp.skeleton
	}
	doc, parsed := parseYAML(r, text)
	if !parsed {
		return nil, sp == nil, r.err()
	}
	f = &Flow{Path: abs, Dir: filepath.Dir(abs), Source: src}
	var namePos Pos
	var stepsKey, stepsNode *yaml.Node
	r.mapping(doc, "the flow", flowKeys, func(key string, k, v *yaml.Node) {
		switch key {
		case "name":
			f.Name, namePos = r.str(v, "name"), pos(v)
		case "description":
			f.Description = r.str(v, "description")
		case "inputs":
			f.Inputs = parseInputs(r, v)
		case "outputs":
			f.Outputs, f.outputs = r.strMap(v, "outputs"), fieldsOf(v)
		case "steps":
			stepsKey, stepsNode = k, v
		}
	})
	if doc.Kind == yaml.MappingNode {
		if f.Name == "" && namePos.Line == 0 {
			r.at(pos(doc), "the flow needs a name (name: my-flow)")
		}
		if strings.ContainsFunc(f.Name, isTerminalControl) {
			r.at(namePos, "the flow's name %q holds control characters (a terminal would act on them); a name is printed in every listing", f.Name)
		}
		switch {
		case sp != nil:
			if !sp.holds(doc, stepsKey, stepsNode) {
				return nil, false, nil
			}
			for i := range sp.groups {
				items, held := sp.items(i)
				if !held {
					return nil, false, nil
				}
				for _, sn := range items {
					if s := parseStep(r, sn); s != nil {
						f.Steps = append(f.Steps, s)
					}
				}
			}
		case stepsNode == nil:
			r.at(pos(doc), "the flow has no steps (steps: [...])")
		case stepsNode.Kind != yaml.SequenceNode:
			r.at(pos(stepsNode), "steps must be a list, not %s", describe(stepsNode))
		default:
			if len(stepsNode.Content) == 0 {
				r.at(pos(stepsNode), "the flow has no steps")
			}
			for _, sn := range stepsNode.Content {
				if s := parseStep(r, sn); s != nil {
					f.Steps = append(f.Steps, s)
				}
			}
		}
	}
	visiting[abs] = true
	defer delete(visiting, abs)
	validateFlow(r, f, visiting)
	if err := r.err(); err != nil {
		return nil, true, err
	}
	// The fields' positions place problems validation finds; a valid flow never reports one
	// again, and a run keeps its flow in memory (10,000 steps: about 5 MB of positions).
	f.outputs = nil
	for _, s := range f.Steps {
		s.fields = nil
	}
	f.Warnings = r.warnings.sorted()
	return f, true, nil
}

// parseYAML parses one YAML document and returns its root node.
func parseYAML(r *reporter, src []byte) (*yaml.Node, bool) {
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		r.at(yamlErrorPos(err), "YAML syntax: %s", yamlErrorText(err))
		return nil, false
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		r.at(Pos{1, 1}, "the file is empty")
		return nil, false
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		r.at(pos(root), "the file must be a mapping of keys (name:, steps:, ...), not %s", describe(root))
		return nil, false
	}
	return root, true
}

var yamlLine = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`line (\d+)`) })

func yamlErrorPos(err error) Pos {
	var te *yaml.TypeError
	msg := err.Error()
	if errors.As(err, &te) && len(te.Errors) > 0 {
		msg = te.Errors[0]
	}
	if m := yamlLine().FindStringSubmatch(msg); m != nil {
		var line int
		fmt.Sscan(m[1], &line)
		return Pos{Line: line, Col: 1}
	}
	return Pos{1, 1}
}

func yamlErrorText(err error) string {
	s := strings.TrimPrefix(err.Error(), "yaml: ")
	// The diagnostic's position already names the first line.
	if m := yamlLeadingLine().FindString(s); m != "" && !strings.Contains(s, "\n") {
		s = strings.TrimPrefix(s, m)
	}
	if strings.HasSuffix(s, "found unexpected end of stream") {
		s += " (a quote or bracket opened above is never closed)"
	}
	return yamlLine().ReplaceAllString(s, "line $1")
}

var yamlLeadingLine = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^line \d+: `) })

func parseInputs(r *reporter, n *yaml.Node) []Input {
	var out []Input
	r.mapping(n, "inputs", nil, func(name string, k, v *yaml.Node) {
		in := Input{Name: name, Type: "string", Pos: pos(k)}
		if !idPattern().MatchString(name) {
			r.at(pos(k), "input name %q must match [a-z0-9_-]+", name)
		}
		required := true
		requiredSet := false
		var defNode *yaml.Node
		if v.Kind == yaml.ScalarNode && v.Tag != "!!null" {
			// Short form: `topic: string`.
			in.Type = v.Value
		} else if v.Kind == yaml.MappingNode {
			r.mapping(v, "input "+name, inputKeys, func(key string, _, x *yaml.Node) {
				switch key {
				case "type":
					in.Type = r.str(x, "type")
				case "default":
					defNode = x
					in.Default, in.HasDefault = r.value(x, "default"), true
				case "description":
					in.Description = r.str(x, "description")
				case "required":
					required, requiredSet = r.boolean(x, "required"), true
				case "secret":
					in.Secret = r.boolean(x, "secret")
					if in.Secret && in.Type != "" && in.Type != "string" {
						r.at(pos(x), "input %s: a secret input must be a string, not %s", name, in.Type)
					}
				case "enum":
					if x.Kind != yaml.SequenceNode {
						r.at(pos(x), "enum must be a list")
						return
					}
					if l, ok := r.value(x, "enum").([]any); ok {
						in.Enum = l
					}
				}
			})
		} else if v.Tag != "!!null" {
			r.at(pos(v), "input %s must be a mapping like { type: string, default: x }", name)
		}
		if !contains(inputTypes, in.Type) {
			r.at(pos(v), "input %s: unknown type %q (one of %s)%s", name, in.Type, strings.Join(inputTypes, ", "), suggest(in.Type, inputTypes))
		}
		in.Required = !in.HasDefault
		if requiredSet {
			in.Required = required && !in.HasDefault
		}
		if in.Secret && in.HasDefault {
			r.at(pos(defNode), "input %s: a secret input cannot have a default (the flow file is not secret)", name)
		}
		if in.HasDefault && defNode != nil && contains(inputTypes, in.Type) {
			if _, err := coerce(in, in.Default); err != nil {
				r.at(pos(defNode), "input %s: default %v", name, err)
			}
		}
		out = append(out, in)
	})
	return out
}

func parseStep(r *reporter, n *yaml.Node) *Step {
	if n.Kind != yaml.MappingNode {
		r.at(pos(n), "a step must be a mapping (- id: x, shell: ...), not %s", describe(n))
		return nil
	}
	s := &Step{Pos: pos(n), fields: fieldsOf(n)}
	if len(n.Content) > 0 {
		s.Pos = pos(n.Content[0])
	}
	var kinds []string
	var kindPos []Pos
	var prompt, schemaSet = "", false
	var schema map[string]any
	var promptNode, schemaNode, sessionNode, modelNode, timeoutsNode *yaml.Node
	var session, modelName string
	r.mapping(n, "a step", stepKeys, func(key string, k, v *yaml.Node) {
		if contains(kindKeys, key) {
			kinds = append(kinds, key)
			kindPos = append(kindPos, pos(k))
		}
		switch key {
		case "id":
			s.ID = r.str(v, "id")
			if s.ID != "" && !idPattern().MatchString(s.ID) {
				r.at(pos(v), "step id %q must match [a-z0-9_-]+", s.ID)
			}
		case "description":
			s.Description = r.str(v, "description")
		case "needs":
			s.Needs = r.strList(v, "needs")
		case "join":
			switch j := Join(r.str(v, "join")); j {
			case JoinAll, JoinAny:
				s.Join = j
			default:
				r.at(pos(v), "join must be all or any, not %q", j)
			}
		case "when":
			s.When = r.str(v, "when")
		case "map":
			s.Map = r.str(v, "map")
		case "retry":
			s.Retry = parseRetry(r, v)
		case "timeout":
			s.Timeout = r.duration(v, "timeout")
		case "env":
			s.Env = r.strMap(v, "env")
		case "continue_on_error":
			s.ContinueOnError = r.boolean(v, "continue_on_error")
		case "model_timeouts":
			timeoutsNode = v
			r.mapping(v, "model_timeouts", stallKeys, func(key string, _, v *yaml.Node) {
				switch key {
				case "header":
					s.ModelTimeouts.Header = r.duration(v, "model_timeouts.header")
				case "idle":
					s.ModelTimeouts.Idle = r.duration(v, "model_timeouts.idle")
				}
			})
		case "shell":
			s.Kind, s.Shell = KindShell, r.str(v, "shell")
		case "run":
			s.Kind, s.Run = KindRun, r.strList(v, "run")
			if v.Kind == yaml.ScalarNode {
				r.at(pos(v), "run takes a list of arguments ([\"wc\", \"-l\", \"f\"]); use shell: for a command line")
			} else if len(s.Run) == 0 {
				r.at(pos(v), "run needs at least the program to run")
			}
		case "flow":
			s.Kind, s.Flow = KindFlow, r.str(v, "flow")
		case "with":
			s.With = r.strMap(v, "with")
		case "llm":
			s.Kind, s.LLM = KindLLM, parseLLM(r, v)
		case "agent":
			s.Kind, s.Agent = KindAgent, &AgentSpec{File: r.str(v, "agent")}
		case "prompt":
			prompt, promptNode = r.str(v, "prompt"), v
		case "session":
			session, sessionNode = r.str(v, "session"), v
		case "model":
			modelName, modelNode = r.str(v, "model"), v
		case "schema":
			schemaNode, schemaSet = v, true
			schema = parseSchema(r, v)
		case "wait":
			s.Kind, s.Wait = KindWait, parseWait(r, v)
		case "sleep":
			s.Kind, s.Sleep = KindSleep, parseSleep(r, v)
		case "approval":
			s.Kind, s.Approval = KindApproval, parseApproval(r, v)
		}
	})
	if _, ok := findKey(n, "id"); !ok {
		r.at(s.Pos, "a step needs an id (- id: my-step)")
	}
	switch {
	case len(kinds) == 0:
		r.at(s.Pos, "step %q does nothing: give it one of %s", s.ID, strings.Join(kindKeys, ", "))
	case len(kinds) > 1:
		r.at(kindPos[1], "step %q has both %s and %s; a step does one thing", s.ID, kinds[0], kinds[1])
	}
	if s.With != nil && s.Kind != KindFlow {
		r.at(s.fieldKey("with"), "step %q: with: only applies to flow: steps", s.ID)
	}
	if promptNode != nil || schemaSet {
		switch {
		case s.Kind == KindAgent:
			s.Agent.Prompt, s.Agent.Schema, s.Agent.Session = prompt, schema, session
		case s.Kind == KindLLM && s.LLM != nil:
			if promptNode != nil {
				s.LLM.Prompt = prompt
			}
			if schemaSet {
				s.LLM.Schema = schema
			}
		default:
			at := promptNode
			if at == nil {
				at = schemaNode
			}
			r.at(pos(at), "step %q: prompt: and schema: belong to agent: and llm: steps", s.ID)
		}
	}
	if timeoutsNode != nil && s.Kind != KindLLM && s.Kind != KindAgent && len(kinds) == 1 {
		r.at(pos(timeoutsNode), "step %q: model_timeouts: belongs to llm: and agent: steps", s.ID)
	}
	if sessionNode != nil && s.Kind != KindAgent {
		r.at(pos(sessionNode), "step %q: session: belongs to agent: steps", s.ID)
	}
	if modelNode != nil {
		if s.Kind == KindAgent && s.Agent != nil {
			s.Agent.Model = modelName
		} else {
			r.at(pos(modelNode), "step %q: model: belongs to agent: steps (an llm: step names its model inside llm:)", s.ID)
		}
	}
	if s.Kind == KindAgent && s.Agent != nil && s.Agent.Prompt == "" {
		r.at(s.Pos, "agent step %q needs a prompt:", s.ID)
	}
	if s.Map != "" && (s.Kind == KindWait || s.Kind == KindSleep || s.Kind == KindApproval) {
		r.at(s.fieldKey("map"), "step %q: map: cannot fan out %s steps", s.ID, s.Kind)
	}
	return s
}

func findKey(n *yaml.Node, key string) (*yaml.Node, bool) {
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1], true
		}
	}
	return nil, false
}

func parseRetry(r *reporter, n *yaml.Node) Retry {
	rt := Retry{MaxAttempts: 1}
	r.mapping(n, "retry", retryKeys, func(key string, _, v *yaml.Node) {
		switch key {
		case "max_attempts":
			rt.MaxAttempts = r.integer(v, "max_attempts")
			if rt.MaxAttempts < 1 {
				r.at(pos(v), "max_attempts must be at least 1")
			}
		case "backoff":
			rt.Backoff = r.duration(v, "backoff")
		case "max_backoff":
			rt.MaxBackoff = r.duration(v, "max_backoff")
		}
	})
	return rt
}

func parseLLM(r *reporter, n *yaml.Node) *LLMSpec {
	l := &LLMSpec{}
	if n.Kind == yaml.ScalarNode && n.Tag != "!!null" {
		l.Prompt = n.Value // short form: llm: "prompt"
		return l
	}
	r.mapping(n, "llm", llmKeys, func(key string, _, v *yaml.Node) {
		switch key {
		case "model":
			l.Model = r.str(v, "model")
		case "system":
			l.System = r.str(v, "system")
		case "prompt":
			l.Prompt = r.str(v, "prompt")
		case "schema":
			l.Schema = parseSchema(r, v)
		case "options":
			if m, ok := r.value(v, "options").(map[string]any); ok {
				l.Options = m
			} else {
				r.at(pos(v), "options must be a mapping (temperature: 0, seed: 1, ...)")
			}
		case "think":
			l.Think = r.boolean(v, "think")
		}
	})
	return l
}

func parseWait(r *reporter, n *yaml.Node) *WaitSpec {
	w := &WaitSpec{}
	if n.Kind == yaml.ScalarNode && n.Tag != "!!null" {
		w.Events = []string{n.Value} // short form: wait: event_name
		return w
	}
	r.mapping(n, "wait", waitKeys, func(key string, _, v *yaml.Node) {
		switch key {
		case "event":
			w.Events = append(w.Events, r.str(v, "event"))
		case "any":
			w.Events = append(w.Events, r.strList(v, "any")...)
		case "timeout":
			w.Timeout = r.duration(v, "timeout")
		}
	})
	if len(w.Events) == 0 && n.Kind == yaml.MappingNode {
		r.at(pos(n), "wait needs an event: name (or any: [a, b])")
	}
	return w
}

func parseSleep(r *reporter, n *yaml.Node) *SleepSpec {
	s := &SleepSpec{}
	if n.Kind == yaml.ScalarNode && n.Tag != "!!null" {
		s.Duration = r.duration(n, "sleep")
		return s
	}
	r.mapping(n, "sleep", sleepKeys, func(key string, _, v *yaml.Node) {
		switch key {
		case "for":
			s.Duration = r.duration(v, "sleep.for")
		case "until":
			t, err := time.Parse(time.RFC3339, r.str(v, "until"))
			if err != nil {
				r.at(pos(v), "until must be an RFC 3339 time like 2026-12-01T09:00:00Z")
			}
			s.Until = t
		}
	})
	if s.Duration == 0 && s.Until.IsZero() && n.Kind == yaml.MappingNode {
		r.at(pos(n), "sleep needs a duration (sleep: 2h) or until: TIME")
	}
	return s
}

func parseApproval(r *reporter, n *yaml.Node) *ApprovalSpec {
	a := &ApprovalSpec{}
	if n.Kind == yaml.ScalarNode && n.Tag != "!!null" {
		a.Prompt = n.Value
		return a
	}
	r.mapping(n, "approval", approvalKeys, func(key string, _, v *yaml.Node) {
		switch key {
		case "prompt":
			a.Prompt = r.str(v, "prompt")
		case "timeout":
			a.Timeout = r.duration(v, "timeout")
		}
	})
	if a.Prompt == "" {
		r.at(pos(n), "approval needs a prompt: for the person deciding")
	}
	return a
}

// isTerminalControl reports a character a terminal acts on rather than prints (escape
// sequences start with one); newlines and tabs are text.
func isTerminalControl(r rune) bool {
	return r < 0x20 && r != '\n' && r != '\t' || r >= 0x7f && r <= 0x9f
}
