package engine

import "time"

// SetMaxGather widens or narrows the loop's commit-gathering window for a test and returns
// the old value.
func SetMaxGather(d time.Duration) time.Duration {
	old := maxGather
	maxGather = d
	return old
}
