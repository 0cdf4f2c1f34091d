package agents

import (
	"fmt"
	"strings"

	"tandem/agents/model"
)

// loopGuard stops agents that repeat themselves: the same tool with the same arguments three
// times, or several turns in a row that bring no new information.
type loopGuard struct {
	calls   map[string]int
	seen    map[string]bool
	stale   int // consecutive turns without a new result
	maxSame int
	maxDull int
}

func newLoopGuard() *loopGuard {
	return &loopGuard{calls: map[string]int{}, seen: map[string]bool{}, maxSame: 3, maxDull: 3}
}

// result records a tool result and reports whether it was new.
func (g *loopGuard) result(tool, out string) bool {
	key := tool + "\x00" + out
	if g.seen[key] {
		return false
	}
	g.seen[key] = true
	return true
}

// repeated returns the calls that were already made with the same arguments.
func (g *loopGuard) repeated(calls []model.ToolCall) []model.ToolCall {
	var out []model.ToolCall
	for _, c := range calls {
		if g.times(c) > 0 {
			out = append(out, c)
		}
	}
	return out
}

// times is how often call c was made before.
func (g *loopGuard) times(c model.ToolCall) int { return g.calls[c.Name+" "+argsJSON(c.Arguments)] }

// turn records a turn's calls; it returns why to stop, or "".
func (g *loopGuard) turn(calls []model.ToolCall, newInfo bool) string {
	for _, c := range calls {
		key := c.Name + " " + argsJSON(c.Arguments)
		g.calls[key]++
		if g.calls[key] >= g.maxSame {
			return fmt.Sprintf("called %s with the same arguments %d times", strings.TrimSpace(key), g.calls[key])
		}
	}
	if newInfo {
		g.stale = 0
		return ""
	}
	g.stale++
	if g.stale >= g.maxDull {
		return fmt.Sprintf("%d turns in a row without new information", g.stale)
	}
	return ""
}

// trimToContext drops the oldest conversation messages (never the system prompt or the
// latest user message) until an estimate of the tokens fits 3/4 of the context, and records
// what it dropped.
func trimToContext(msgs []model.Message, numCtx int, tr Tracer) []model.Message {
	budget := numCtx * 3 / 4
	est := func(ms []model.Message) int {
		n := 0
		for _, m := range ms {
			n += len(m.Content)/4 + 8
			for _, c := range m.ToolCalls {
				n += len(argsJSON(c.Arguments))/4 + 8
			}
		}
		return n
	}
	before := len(msgs)
	for est(msgs) > budget && len(msgs) > 2 {
		i := 0
		if msgs[0].Role == "system" {
			i = 1
		}
		if i >= len(msgs)-1 {
			break
		}
		msgs = append(msgs[:i:i], msgs[i+1:]...)
	}
	if dropped := before - len(msgs); dropped > 0 {
		tr.Trace(Trimmed{DroppedMessages: dropped, Kept: len(msgs), NumCtx: numCtx})
	}
	return msgs
}
