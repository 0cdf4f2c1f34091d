package engine

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// MaxNesting is how many runs deep a run may start further runs (sub-flow steps, an agent's
// flow and agent tools). Validation refuses a flow or agent that includes itself, but a
// cycle can still be assembled at run time (an agent handing a task to an agent that hands
// it back through a generated flow, say); this limit stops it with a clear error instead of
// letting it fill the disk.
const MaxNesting = 8

// ErrTooDeep is the error a child run that would exceed MaxNesting fails with.
var ErrTooDeep = errors.New("runs nested too deep")

// checkNesting walks a would-be child's ancestors and refuses one MaxNesting deep.
func (e *Engine) checkNesting(ctx context.Context, parentRunID, flowName string) error {
	chain := []string{flowName}
	for id := parentRunID; id != ""; {
		info, err := e.store.Run(ctx, id)
		if err != nil {
			return fmt.Errorf("check nesting of run %s: %w", id, err)
		}
		chain = append(chain, info.FlowName)
		if len(chain) > MaxNesting {
			slices.Reverse(chain)
			return Permanent(fmt.Errorf("%w: %s would be %d runs deep (the limit is %d); does a flow or agent call itself? %s",
				ErrTooDeep, flowName, len(chain), MaxNesting, strings.Join(chain, " → ")))
		}
		id = info.ParentRunID
	}
	return nil
}
