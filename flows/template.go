package flows

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"text/template"
	"text/template/parse"
)

// funcs are the helpers templates get beyond Go's built-ins.
var funcs = template.FuncMap{
	"json": func(v any) (string, error) {
		b, err := json.Marshal(v)
		return string(b), err
	},
	"trim":  strings.TrimSpace,
	"upper": strings.ToUpper,
	"lower": strings.ToLower,
	"default": func(def, v any) any {
		if v == nil || v == "" {
			return def
		}
		return v
	},
	"join": func(sep string, v any) string {
		list, _ := v.([]any)
		parts := make([]string, len(list))
		for i, x := range list {
			parts[i] = fmt.Sprint(x)
		}
		return strings.Join(parts, sep)
	},
	// raw marks a value to splice into a shell: command unescaped; elsewhere it changes nothing.
	"raw": func(v any) rawShell { return rawShell(valueText(v)) },
	"quote": func(v any) string { // POSIX shell single-quoting
		return "'" + strings.ReplaceAll(fmt.Sprint(v), "'", `'\''`) + "'"
	},
}

var templateCache sync.Map // template text -> *template.Template

func compileTemplate(text string) (*template.Template, error) {
	if t, ok := templateCache.Load(text); ok {
		return t.(*template.Template), nil
	}
	t, err := template.New("t").Option("missingkey=error").Funcs(funcs).Parse(text)
	if err != nil {
		return nil, err
	}
	templateCache.Store(text, t)
	return t, nil
}

// Render executes a template over run data; a missing key is an error, never "<no value>".
func Render(text string, data map[string]any) (string, error) {
	if !strings.Contains(text, "{{") {
		return text, nil
	}
	return execute(text, data, compileTemplate)
}

// execute compiles (or finds) a template and runs it, with errors in one style.
func execute(text string, data map[string]any, compile func(string) (*template.Template, error)) (string, error) {
	t, err := compile(text)
	if err != nil {
		return "", fmt.Errorf("template: %s", cleanTemplateErr(err))
	}
	var b strings.Builder
	if err := t.Execute(&b, data); err != nil {
		return "", fmt.Errorf("template %q: %s", text, cleanTemplateErr(err))
	}
	return b.String(), nil
}

// templateNameLine is text/template's "at t:2" inside a message, the template named t.
var templateNameLine = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`at t:(\d+)`) })

// cleanTemplateErr turns text/template's "template: t:2:7: executing "t" at <.x>: ..." into
// "line 2 of the template: at <.x>: ...": the template's name is internal, and its line
// number only helps in a template of several lines.
func cleanTemplateErr(err error) string {
	s := strings.TrimPrefix(err.Error(), "template: t:")
	s = templateNameLine().ReplaceAllString(s, "on line $1")
	line, rest, ok := strings.Cut(s, ":")
	if n, convErr := strconv.Atoi(line); ok && convErr == nil {
		if col, after, ok := strings.Cut(rest, ":"); ok {
			if _, convErr := strconv.Atoi(col); convErr == nil {
				rest = after
			}
		}
		rest = strings.TrimPrefix(strings.TrimSpace(rest), `executing "t" `)
		if n > 1 {
			return fmt.Sprintf("line %d of the template: %s", n, rest)
		}
		return rest
	}
	return s
}

// templateRefs parses a template and returns every field chain it reads (".steps.a.output"
// as ["steps","a","output"]).
func templateRefs(text string) ([][]string, error) {
	if !strings.Contains(text, "{{") {
		return nil, nil
	}
	t, err := compileTemplate(text)
	if err != nil {
		return nil, fmt.Errorf("%s", cleanTemplateErr(err))
	}
	var refs [][]string
	var walk func(n parse.Node)
	walk = func(n parse.Node) {
		switch x := n.(type) {
		case *parse.ListNode:
			if x == nil {
				return
			}
			for _, c := range x.Nodes {
				walk(c)
			}
		case *parse.ActionNode:
			walk(x.Pipe)
		case *parse.PipeNode:
			if x == nil {
				return
			}
			for _, c := range x.Cmds {
				walk(c)
			}
		case *parse.CommandNode:
			for _, a := range x.Args {
				walk(a)
			}
		case *parse.FieldNode:
			refs = append(refs, x.Ident)
		case *parse.ChainNode:
			walk(x.Node)
		case *parse.IfNode:
			walk(x.Pipe)
			walk(x.List)
			walk(x.ElseList)
		case *parse.RangeNode:
			walk(x.Pipe)
			// Inside range and with the dot changes; do not check references there.
		case *parse.WithNode:
			walk(x.Pipe)
		}
	}
	walk(t.Tree.Root)
	return refs, nil
}
