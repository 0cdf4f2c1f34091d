package flows

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"

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
		return nil, fmt.Errorf("expression %q: %s", s, oneLine(err.Error()))
	}
	v, err := expr.Run(p, env)
	if err != nil {
		return nil, fmt.Errorf("expression %q: %s", s, oneLine(err.Error()))
	}
	return v, nil
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
			return nil, fmt.Errorf("expression %q gave a string that is not a JSON list: %.80q", s, t)
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
	return nil, fmt.Errorf("expression %q gave %T, want a list", s, v)
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
	return refs, nil
}

func compileTree(s string) (ast.Node, error) {
	if _, err := compileExpr(s); err != nil {
		return nil, fmt.Errorf("%s", oneLine(err.Error()))
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
