package engine

import (
	"sync"

	"tandem/flows"
)

// flowCache keeps the flows this engine parsed or started, keyed by path and source, so
// advancing a run does not parse and validate the flow recorded with it again when this
// process has just started it (a 1,000-step flow costs tens of milliseconds to parse).
// Flows are read-only once validated, so one may be shared by runs. It holds at most
// flowCacheSize flows; when full, it forgets one at random.
type flowCache struct {
	mu    sync.Mutex
	flows map[flowKey]*flows.Flow
}

type flowKey struct{ path, source string }

const flowCacheSize = 32

// remember records a validated flow. A flow with no source (built by hand, not parsed) is
// not kept: advancing its run must fail the way parsing its empty record does.
func (c *flowCache) remember(f *flows.Flow) {
	if len(f.Source) == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.flows == nil {
		c.flows = map[flowKey]*flows.Flow{}
	}
	if len(c.flows) >= flowCacheSize {
		for k := range c.flows {
			delete(c.flows, k)
			break
		}
	}
	c.flows[flowKey{f.Path, string(f.Source)}] = f
}

// parse returns the flow with that path and source, parsing and validating it if needed.
func (c *flowCache) parse(path, source string) (*flows.Flow, error) {
	c.mu.Lock()
	f, ok := c.flows[flowKey{path, source}]
	c.mu.Unlock()
	if ok {
		return f, nil
	}
	f, err := flows.Parse(path, []byte(source))
	if err != nil {
		return nil, err
	}
	c.remember(f)
	return f, nil
}
