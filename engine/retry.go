package engine

import (
	"math/rand/v2"
	"time"

	"tandem/flows"
)

// backoff is the delay before the attempt after the failures-th failure: the policy's backoff
// doubled per failure, capped, with up to 20% jitter so retries of many steps spread out.
func backoff(p flows.Retry, failures int) time.Duration {
	base := p.Backoff
	if base <= 0 {
		return 0
	}
	limit := p.MaxBackoff
	if limit <= 0 {
		limit = time.Minute
	}
	d := base
	for i := 1; i < failures && d < limit; i++ {
		d *= 2
	}
	d = min(d, limit)
	return d + time.Duration(rand.Int64N(int64(d)/5+1))
}
