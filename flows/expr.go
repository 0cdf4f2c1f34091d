package flows

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/vm"
)

var exprCache sync.Map // expression -> *vm.Program

func compileExpr(s string) (*vm.Program, error) {
	if p, ok := exprCache.Load(s); ok {
		return p.(*vm.Program), nil
	}
	p, err := expr.Compile(s)
	if err != nil {
		return nil, err
	}
	exprCache.Store(s, p)
	return p, nil
}

// Eval evaluates an expression (expr-lang) over run data: inputs, steps, item, index, run.
func Eval(s string, env map[string]any) (any, error) {
	p, err := compileExpr(s)
	if err != nil {
		return nil, fmt.Errorf("expression %q: %s", clip(s), exprError(s, err))
	}
	v, err := expr.Run(p, env)
	if err != nil {
		return nil, fmt.Errorf("expression %q: %s", clip(s), exprError(s, err))
	}
	return v, nil
}

// checkBool reports an expression whose type is known without run data and is not a boolean
// (when: 42). Syntax errors are left to the reference check, which reports them already.
func checkBool(s string) error {
	if _, err := expr.Compile(s); err != nil {
		return nil
	}
	_, err := expr.Compile(s, expr.AsBool())
	return err
}

// EvalBool evaluates an expression that must yield true or false.
func EvalBool(s string, env map[string]any) (bool, error) {
	v, err := Eval(s, env)
	if err != nil {
		return false, err
	}
	b, ok := v.(bool)
	if !ok {
		return false, fmt.Errorf("expression %q gave %T %v, want true or false", s, v, v)
	}
	return b, nil
}

// EvalList evaluates a map: expression: a list, or a string holding a JSON array.
func EvalList(s string, env map[string]any) ([]any, error) {
	if list, ok := literalList(s); ok {
		return list, nil
	}
	v, err := Eval(s, env)
	if err != nil {
		return nil, err
	}
	switch t := v.(type) {
	case []any:
		return t, nil
	case string:
		var list []any
		if err := json.Unmarshal([]byte(strings.TrimSpace(t)), &list); err != nil {
			return nil, fmt.Errorf("expression %q gave a string that is not a JSON list: %.80q", clip(s), t)
		}
		return list, nil
	}
	b, err := json.Marshal(v)
	if err == nil {
		var list []any
		if json.Unmarshal(b, &list) == nil {
			return list, nil
		}
	}
	return nil, fmt.Errorf("expression %q gave %T, want a list", clip(s), v)
}

// literalList returns the items of a map: expression that is a JSON array literal. It needs
// no compiling, and must not be compiled: expr-lang refuses an expression of more than
// 10,000 nodes, so a literal list of 10,000 items would fail. Its items are what the
// compiled expression would give once recorded in the log (numbers as float64).
func literalList(s string) ([]any, bool) {
	t := strings.TrimSpace(s)
	if !strings.HasPrefix(t, "[") {
		return nil, false
	}
	var list []any
	if json.Unmarshal([]byte(t), &list) != nil {
		return nil, false
	}
	return list, true
}

// maxQuoted is how many bytes of an expression or template a message quotes.
const maxQuoted = 80

// clip shortens an expression or template quoted in a message to its start and its length,
// so a 10,000-item literal does not make a 150 KB message.
func clip(s string) string {
	if len(s) <= maxQuoted {
		return s
	}
	cut := maxQuoted - 20
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return fmt.Sprintf("%s… (%d bytes)", s[:cut], len(s))
}

// exprError is an expr-lang error on one line. For a long expression it keeps the message
// and its line:column, not the copy of the source with a caret under it that expr appends.
func exprError(s string, err error) string {
	msg := err.Error()
	if i := strings.IndexByte(msg, '\n'); i >= 0 && len(s) > maxQuoted {
		msg = msg[:i]
	}
	return oneLine(msg)
}

// exprRefs compiles an expression and returns the member chains it reads from the top-level
// names (steps.a.output as ["steps","a","output"]).
func exprRefs(s string) ([][]string, error) {
	tree, err := compileTree(s)
	if err != nil {
		return nil, err
	}
	var refs [][]string
	ast.Walk(&tree, &refCollector{refs: &refs})
	// steps.a.output is visited as steps.a too: keep the longest chain of each, so one
	// reference is checked (and reported) once.
	var out [][]string
	for i, r := range refs {
		inner := false
		for j, o := range refs {
			if j != i && len(o) > len(r) && slices.Equal(o[:len(r)], r) || j < i && slices.Equal(o, r) {
				inner = true
				break
			}
		}
		if !inner {
			out = append(out, r)
		}
	}
	return out, nil
}

func compileTree(s string) (ast.Node, error) {
	if _, err := compileExpr(s); err != nil {
		return nil, fmt.Errorf("%s", exprError(s, err))
	}
	p, _ := compileExpr(s)
	return p.Node(), nil
}

type refCollector struct{ refs *[][]string }

func (c *refCollector) Visit(node *ast.Node) {
	m, ok := (*node).(*ast.MemberNode)
	if !ok {
		return
	}
	chain := memberChain(m)
	if len(chain) > 0 {
		*c.refs = append(*c.refs, chain)
	}
}

// memberChain turns a.b.c into [a b c] when every part is a plain name.
func memberChain(n ast.Node) []string {
	switch x := n.(type) {
	case *ast.IdentifierNode:
		return []string{x.Value}
	case *ast.MemberNode:
		base := memberChain(x.Node)
		if base == nil {
			return nil
		}
		if s, ok := x.Property.(*ast.StringNode); ok {
			return append(base, s.Value)
		}
		return base
	}
	return nil
}
