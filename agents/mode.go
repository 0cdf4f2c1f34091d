package agents

import (
	"context"
	"fmt"

	"tandem/flows"
)

// smallModelParams is the size under which `tool_calling: auto` uses the JSON fallback even
// when the model's template advertises tools: SmolLM2-135M advertises them and never emits
// a native call, and Qwen2.5-0.5B writes its calls as fenced JSON more often than in its
// template's <tool_call> markup.
const smallModelParams = 1_000_000_000

// chooseMode decides between native tool calls and the JSON fallback, and says why.
func (r *Runner) chooseMode(ctx context.Context, a *flows.Agent, name string, tools int) (native bool, why string) {
	switch {
	case tools == 0:
		return false, "no tools"
	case r.ForceFallback:
		return false, "fallback forced"
	case a.ToolCalling == "fallback":
		return false, "tool_calling: fallback"
	case a.ToolCalling == "native":
		return true, "tool_calling: native"
	case r.Caps == nil:
		return false, "the model's capabilities are unknown"
	}
	c, err := r.Caps.Capabilities(ctx, name)
	switch {
	case err != nil:
		return false, "the model's capabilities are unknown: " + err.Error()
	case !c.Tools:
		return false, "the model's template has no tools"
	case c.Parameters > 0 && c.Parameters < smallModelParams && !r.legacy.trustTemplate:
		return false, fmt.Sprintf("a small model (%.2gB parameters) acts more reliably through the JSON fallback", float64(c.Parameters)/1e9)
	}
	return true, "the model's template supports tools"
}

// UsesFallback reports whether agent a, run on the model name, acts through the JSON
// fallback (whose replies are actions, not text to stream to a person).
func (r *Runner) UsesFallback(ctx context.Context, a *flows.Agent, name string) bool {
	native, _ := r.chooseMode(ctx, a, name, len(a.Tools))
	return len(a.Tools) > 0 && !native
}
