// Package memstore is an in-memory engine.Store for tests of the engine. It behaves like the
// SQLite store (the storetest conformance suite runs against both) but keeps nothing.
package memstore

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"tandem/engine"
)

// Store is an in-memory engine.Store. Safe for concurrent use.
type Store struct {
	mu     sync.Mutex
	seq    int64
	runs   map[string]*run
	events []engine.Event
	// FailAppend, when set, is returned by Append (fault injection for engine tests).
	FailAppend error
}

type run struct {
	info       engine.RunInfo
	leaseOwner string
	leaseUntil time.Time
	leaseEpoch int64
}

var _ engine.Store = (*Store)(nil)
var _ engine.Tail = (*Store)(nil)

// New returns an empty store.
func New() *Store { return &Store{runs: map[string]*run{}} }

// CreateRun adds a run and its first event.
func (s *Store) CreateRun(_ context.Context, info engine.RunInfo, first engine.Event) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.runs[info.ID]; ok {
		return fmt.Errorf("create run %s: already exists", info.ID)
	}
	s.seq++
	first.Seq = s.seq
	info.LastSeq = s.seq
	s.runs[info.ID] = &run{info: info}
	s.events = append(s.events, first)
	return nil
}

// Append adds events atomically.
func (s *Store) Append(_ context.Context, events []engine.Event) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.appendLocked(events)
}

// AppendFenced adds events atomically if l is still the run's lease.
func (s *Store) AppendFenced(_ context.Context, l engine.Lease, events []engine.Event) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.runs[l.RunID]
	if !ok {
		return fmt.Errorf("append to run %s: %w", l.RunID, engine.ErrRunNotFound)
	}
	for _, e := range events {
		if e.RunID != l.RunID {
			return fmt.Errorf("append %s to run %s under the lease of run %s: events of another run", e.Type, e.RunID, l.RunID)
		}
	}
	if r.leaseOwner != l.Owner || r.leaseEpoch != l.Epoch {
		return fmt.Errorf("append to run %s as %s: %w", l.RunID, l.Owner, engine.ErrFenced)
	}
	return s.appendLocked(events)
}

func (s *Store) appendLocked(events []engine.Event) error {
	if s.FailAppend != nil {
		return s.FailAppend
	}
	for _, e := range events {
		if _, ok := s.runs[e.RunID]; !ok {
			return fmt.Errorf("append %s to run %s: %w", e.Type, e.RunID, engine.ErrRunNotFound)
		}
	}
	for i := range events {
		s.seq++
		events[i].Seq = s.seq
		e := events[i]
		r := s.runs[e.RunID]
		r.info.LastSeq, r.info.UpdatedAt = e.Seq, e.Time
		if e.Status != "" {
			r.info.Status = e.Status
			r.info.EndedAt = time.Time{}
			if e.Status.Terminal() || e.Status == engine.RunStatusInterrupted {
				r.info.EndedAt = e.Time
			}
		}
		s.events = append(s.events, e)
	}
	return nil
}

// Events returns a run's events after afterSeq.
func (s *Store) Events(_ context.Context, runID string, afterSeq int64) ([]engine.Event, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []engine.Event
	for _, e := range s.events {
		if e.RunID == runID && e.Seq > afterSeq {
			out = append(out, e)
		}
	}
	return out, nil
}

// EventsSince returns every run's events after afterSeq, at most limit.
func (s *Store) EventsSince(_ context.Context, afterSeq int64, limit int) ([]engine.Event, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if limit <= 0 {
		limit = 1000
	}
	var out []engine.Event
	for _, e := range s.events {
		if e.Seq > afterSeq && len(out) < limit {
			out = append(out, e)
		}
	}
	return out, nil
}

// Run finds a run by id or unique prefix.
func (s *Store) Run(_ context.Context, idOrPrefix string) (engine.RunInfo, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r, ok := s.runs[idOrPrefix]; ok {
		return r.withLease(), nil
	}
	var found []engine.RunInfo
	for id, r := range s.runs {
		if idOrPrefix != "" && strings.HasPrefix(id, idOrPrefix) {
			found = append(found, r.withLease())
		}
	}
	sort.Slice(found, func(i, j int) bool { return found[i].ID < found[j].ID })
	switch len(found) {
	case 0:
		return engine.RunInfo{}, fmt.Errorf("find run %q: %w", idOrPrefix, engine.ErrRunNotFound)
	case 1:
		return found[0], nil
	}
	return engine.RunInfo{}, fmt.Errorf("find run %s: %w (%s, %s, ...)", idOrPrefix, engine.ErrAmbiguousRun, found[0].ID, found[1].ID)
}

// Runs lists runs newest first.
func (s *Store) Runs(_ context.Context, q engine.RunQuery) ([]engine.RunInfo, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []engine.RunInfo
	for _, r := range s.runs {
		if len(q.Status) > 0 && !contains(q.Status, r.info.Status) {
			continue
		}
		if q.ParentID != "" && r.info.ParentRunID != q.ParentID {
			continue
		}
		if q.TopLevel && r.info.ParentRunID != "" {
			continue
		}
		if !q.After.IsZero() && !olderThan(r.info, q.After) {
			continue
		}
		out = append(out, r.withLease())
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].CreatedAt.Equal(out[j].CreatedAt) {
			return out[i].CreatedAt.After(out[j].CreatedAt)
		}
		return out[i].ID > out[j].ID
	})
	if q.Limit > 0 && len(out) > q.Limit {
		out = out[:q.Limit]
	}
	return out, nil
}

// AcquireLease takes a free or expired lease under a new epoch.
func (s *Store) AcquireLease(_ context.Context, runID, owner string, now, until time.Time) (engine.Lease, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.runs[runID]
	if !ok {
		return engine.Lease{}, false, nil
	}
	if r.leaseOwner != "" && !r.leaseUntil.Before(now) {
		return engine.Lease{}, false, nil
	}
	return r.take(owner, until), true, nil
}

// RenewLease extends a lease nobody took since.
func (s *Store) RenewLease(_ context.Context, l engine.Lease, until time.Time) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.runs[l.RunID]
	if !ok || r.leaseOwner != l.Owner || r.leaseEpoch != l.Epoch {
		return false, nil
	}
	r.leaseUntil = until
	return true, nil
}

// TakeLease moves a lease from a dead owner.
func (s *Store) TakeLease(_ context.Context, runID, from, owner string, until time.Time) (engine.Lease, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.runs[runID]
	if !ok || r.leaseOwner != from {
		return engine.Lease{}, false, nil
	}
	return r.take(owner, until), true, nil
}

// ReleaseLease gives a lease up.
func (s *Store) ReleaseLease(_ context.Context, l engine.Lease) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r, ok := s.runs[l.RunID]; ok && r.leaseOwner == l.Owner && r.leaseEpoch == l.Epoch {
		r.leaseOwner, r.leaseUntil = "", time.Time{}
	}
	return nil
}

func (r *run) take(owner string, until time.Time) engine.Lease {
	r.leaseEpoch++
	r.leaseOwner, r.leaseUntil = owner, until
	return engine.Lease{RunID: r.info.ID, Owner: owner, Epoch: r.leaseEpoch}
}

func (r *run) withLease() engine.RunInfo {
	info := r.info
	info.LeaseOwner, info.LeaseUntil = r.leaseOwner, r.leaseUntil
	return info
}

func contains(list []engine.RunStatus, s engine.RunStatus) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// olderThan reports whether r comes after the cursor in a newest-first listing.
func olderThan(r engine.RunInfo, c engine.RunCursor) bool {
	if !r.CreatedAt.Equal(c.CreatedAt) {
		return r.CreatedAt.Before(c.CreatedAt)
	}
	return r.ID < c.ID
}
