package flows

import (
	"fmt"
	"strings"
	"testing"
)

// bigList is a literal map: list of n numbers, with extra inserted after the first item.
func bigList(n int, extra string) string {
	items := make([]string, n)
	for i := range items {
		items[i] = fmt.Sprint(i)
	}
	items[0] += extra
	return "[" + strings.Join(items, ",") + "]"
}

func TestALiteralListOfTenThousandItemsValidatesAndEvaluates(t *testing.T) {
	list := bigList(10_000, "")
	p := write(t, t.TempDir(), "big.yaml", "name: big\nsteps:\n  - id: each\n    map: '"+list+"'\n    shell: 'echo {{ .item }}'\n")
	if _, err := Load(p); err != nil {
		t.Fatalf("load: %.300v", err)
	}
	items, err := EvalList(list, map[string]any{})
	if err != nil || len(items) != 10_000 || items[9_999] != float64(9_999) {
		t.Fatalf("%d items, %.300v", len(items), err)
	}
}

func TestAnErrorInALongExpressionQuotesOnlyItsStart(t *testing.T) {
	for name, src := range map[string]string{
		"a literal with a syntax error":        bigList(10_000, " +"),
		"an expression over expr's node limit": bigList(10_000, " + inputs.n"),
	} {
		t.Run(name, func(t *testing.T) {
			p := write(t, t.TempDir(), "big.yaml", "name: big\ninputs: { n: { type: number, default: 1 } }\nsteps:\n  - id: each\n    map: '"+src+"'\n    shell: 'echo {{ .item }}'\n")
			_, err := Load(p)
			if err == nil {
				t.Fatal("the flow loaded")
			}
			msg := err.Error()
			if len(msg) > 400 || !strings.Contains(msg, `bad map expression "[0`) || !strings.Contains(msg, "bytes)") {
				t.Fatalf("%d-byte message: %.500s", len(msg), msg)
			}
		})
	}
}
