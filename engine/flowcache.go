package engine

import (
	"sync"

	"tandem/flows"
)

// flowCache keeps the flows this engine parsed or started, found by path and source, so
// advancing a run does not parse and validate the flow recorded with it again when this
// process has just started it (a 1,000-step flow costs tens of milliseconds to parse).
// Flows are read-only once validated, so one may be shared by runs. It holds at most
// flowCacheSize flows; when full, it forgets the oldest. A lookup compares the source with
// each flow's own, so the cache keeps no copy of a source (a 10,000-step flow's is 500 KB).
type flowCache struct {
	mu    sync.Mutex
	flows []*flows.Flow // oldest first
}

const flowCacheSize = 32

// remember records a validated flow. A flow with no source (built by hand, not parsed) is
// not kept: advancing its run must fail the way parsing its empty record does.
func (c *flowCache) remember(f *flows.Flow) {
	if len(f.Source) == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.flows) >= flowCacheSize {
		c.flows = append(c.flows[:0], c.flows[1:]...)
	}
	c.flows = append(c.flows, f)
}

// parse returns the flow with that path and source, parsing and validating it if needed.
func (c *flowCache) parse(path, source string) (*flows.Flow, error) {
	if f := c.find(path, source); f != nil {
		return f, nil
	}
	f, err := flows.Parse(path, []byte(source))
	if err != nil {
		return nil, err
	}
	c.remember(f)
	return f, nil
}

func (c *flowCache) find(path, source string) *flows.Flow {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := len(c.flows) - 1; i >= 0; i-- {
		if f := c.flows[i]; f.Path == path && string(f.Source) == source {
			return f
		}
	}
	return nil
}
