package engine

import (
	"encoding/json"
	"time"
)

// The run's types print unset times as null rather than as Go's zero time
// ("0001-01-01T00:00:00Z"), so a reader of `tandem show --json` can tell "not yet" from a
// date. Decoding is unchanged: null leaves a time.Time zero.

// nullTime is t, or nil when t is unset.
func nullTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// MarshalJSON writes an unset EndedAt as null.
func (a Attempt) MarshalJSON() ([]byte, error) {
	type plain Attempt
	return json.Marshal(struct {
		plain
		StartedAt *time.Time `json:"started_at"`
		EndedAt   *time.Time `json:"ended_at"`
	}{plain(a), nullTime(a.StartedAt), nullTime(a.EndedAt)})
}

// MarshalJSON writes an unset RetryAt as null.
func (s StepState) MarshalJSON() ([]byte, error) {
	type plain StepState
	return json.Marshal(struct {
		plain
		RetryAt *time.Time `json:"retry_at"`
	}{plain(s), nullTime(s.RetryAt)})
}

// MarshalJSON writes unset StartedAt and EndedAt as null.
func (s State) MarshalJSON() ([]byte, error) {
	type plain State
	return json.Marshal(struct {
		plain
		StartedAt *time.Time `json:"started_at"`
		EndedAt   *time.Time `json:"ended_at"`
	}{plain(s), nullTime(s.StartedAt), nullTime(s.EndedAt)})
}

// MarshalJSON writes unset EndedAt and LeaseUntil as null.
func (r RunInfo) MarshalJSON() ([]byte, error) {
	type plain RunInfo
	return json.Marshal(struct {
		plain
		EndedAt    *time.Time `json:"ended"`
		LeaseUntil *time.Time `json:"lease_until"`
	}{plain(r), nullTime(r.EndedAt), nullTime(r.LeaseUntil)})
}

// MarshalJSON writes an unset Until (a wait without a deadline) as null.
func (d StepWaitingData) MarshalJSON() ([]byte, error) {
	type plain StepWaitingData
	return json.Marshal(struct {
		plain
		Until *time.Time `json:"until"`
	}{plain(d), nullTime(d.Until)})
}
