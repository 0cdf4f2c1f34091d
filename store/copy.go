package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"tandem/engine"
)

// RunRecord is a run's index row as a copy moves it: what RunInfo holds and the lease epoch,
// so fencing tokens stay increasing in the new database.
type RunRecord struct {
	engine.RunInfo
	LeaseEpoch int64
}

// SessionRecord is an agent session as a copy moves it, its messages the stored JSON.
type SessionRecord struct {
	Name, Agent string
	Messages    []byte
	UpdatedAt   time.Time
}

// CopySource is a database a copy reads: every run by id, every event by seq, every session.
type CopySource interface {
	engine.Tail
	CopyRuns(ctx context.Context, afterID string, limit int) ([]RunRecord, error)
	CopySessions(ctx context.Context) ([]SessionRecord, error)
}

// Importer writes a copy's rows as they are, ids and seqs included.
type Importer interface {
	PutRuns(ctx context.Context, runs []RunRecord) error
	PutEvents(ctx context.Context, events []engine.Event) error
	PutSessions(ctx context.Context, sessions []SessionRecord) error
}

// CopyTarget is a database a copy fills. Import calls fill with an Importer of one
// transaction, committed when fill returns nil, after checking the database holds no run and
// no session (ErrNotEmpty otherwise): a copy never merges two histories.
type CopyTarget interface {
	Import(ctx context.Context, fill func(Importer) error) error
}

// ErrNotEmpty is returned when a copy's target already holds runs or sessions.
var ErrNotEmpty = errors.New("the target database is not empty")

// CopyCounts says how much a copy moved.
type CopyCounts struct {
	Runs, Events, Sessions int
	LastSeq                int64
}

// Copy moves every run, event and session from one database into an empty one, keeping run
// ids, event seqs (the next event in the target follows the last one copied), lease epochs
// and times. It writes the target in one transaction: a failed copy leaves it empty.
func Copy(ctx context.Context, from CopySource, to CopyTarget) (CopyCounts, error) {
	const batch = 2000
	var n CopyCounts
	err := to.Import(ctx, func(w Importer) error {
		n = CopyCounts{}
		for after := ""; ; {
			runs, err := from.CopyRuns(ctx, after, batch)
			if err != nil {
				return err
			}
			if len(runs) == 0 {
				break
			}
			if err := w.PutRuns(ctx, runs); err != nil {
				return err
			}
			n.Runs += len(runs)
			after = runs[len(runs)-1].ID
		}
		for after := int64(0); ; {
			evs, err := from.EventsSince(ctx, after, batch)
			if err != nil {
				return err
			}
			if len(evs) == 0 {
				break
			}
			if err := w.PutEvents(ctx, evs); err != nil {
				return err
			}
			n.Events += len(evs)
			after = evs[len(evs)-1].Seq
			n.LastSeq = after
		}
		sessions, err := from.CopySessions(ctx)
		if err != nil {
			return err
		}
		n.Sessions = len(sessions)
		return w.PutSessions(ctx, sessions)
	})
	if err != nil {
		return CopyCounts{}, fmt.Errorf("copy database: %w", err)
	}
	return n, nil
}

var (
	_ CopySource = (*DB)(nil)
	_ CopyTarget = (*DB)(nil)
)

// CopyRuns returns up to limit runs after afterID, in id order, for a copy.
func (d *DB) CopyRuns(ctx context.Context, afterID string, limit int) ([]RunRecord, error) {
	rows, err := d.db.QueryContext(ctx, `SELECT `+d.columns()+`, lease_epoch FROM runs WHERE id > ? ORDER BY id LIMIT ?`, afterID, limit)
	if err != nil {
		return nil, fmt.Errorf("read runs: %w", err)
	}
	defer rows.Close()
	var out []RunRecord
	for rows.Next() {
		var r RunRecord
		var status string
		var parent, parentStep, leaseOwner sql.NullString
		var created, updated, ended, leaseUntil sql.NullInt64
		if err := rows.Scan(&r.ID, &r.FlowName, &r.FlowPath, &status, &parent, &parentStep, &created, &updated, &ended,
			&r.LastSeq, &leaseOwner, &leaseUntil, &r.Session, &r.LeaseEpoch); err != nil {
			return nil, fmt.Errorf("read runs: %w", err)
		}
		r.Status = engine.RunStatus(status)
		r.ParentRunID, r.ParentStepID, r.LeaseOwner = parent.String, parentStep.String, leaseOwner.String
		r.CreatedAt, r.UpdatedAt, r.EndedAt, r.LeaseUntil = fromMS(created), fromMS(updated), fromMS(ended), fromMS(leaseUntil)
		out = append(out, r)
	}
	return out, rows.Err()
}

// CopySessions returns every session, for a copy.
func (d *DB) CopySessions(ctx context.Context) ([]SessionRecord, error) {
	rows, err := d.db.QueryContext(ctx, `SELECT name, agent, messages, updated_at FROM sessions ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("read sessions: %w", err)
	}
	defer rows.Close()
	var out []SessionRecord
	for rows.Next() {
		var s SessionRecord
		var at int64
		if err := rows.Scan(&s.Name, &s.Agent, &s.Messages, &at); err != nil {
			return nil, fmt.Errorf("read sessions: %w", err)
		}
		s.UpdatedAt = time.UnixMilli(at)
		out = append(out, s)
	}
	return out, rows.Err()
}

// Import fills an empty database in one transaction.
func (d *DB) Import(ctx context.Context, fill func(Importer) error) error {
	return d.write(ctx, func(tx *writeTx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM runs) + (SELECT count(*) FROM sessions)`).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return fmt.Errorf("%w: %s holds runs or sessions; copy into a new file", ErrNotEmpty, d.path)
		}
		return fill(sqliteImporter{tx})
	})
}

type sqliteImporter struct{ tx *writeTx }

func (w sqliteImporter) PutRuns(ctx context.Context, runs []RunRecord) error {
	for _, r := range runs {
		_, err := w.tx.ExecContext(ctx, `INSERT INTO runs (id, flow_name, flow_path, status, parent_run_id, parent_step_id,
			created_at, updated_at, ended_at, last_seq, lease_owner, lease_until, lease_epoch, session) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			r.ID, r.FlowName, r.FlowPath, string(r.Status), nullable(r.ParentRunID), nullable(r.ParentStepID), ms(r.CreatedAt),
			ms(r.UpdatedAt), nullMS(r.EndedAt), r.LastSeq, nullable(r.LeaseOwner), nullMS(r.LeaseUntil), r.LeaseEpoch, r.Session)
		if err != nil {
			return fmt.Errorf("write run %s: %w", r.ID, err)
		}
	}
	return nil
}

func (w sqliteImporter) PutEvents(ctx context.Context, events []engine.Event) error {
	for _, e := range events {
		_, err := w.tx.ExecContext(ctx, `INSERT INTO events (seq, run_id, type, step_id, attempt, at, data) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			e.Seq, e.RunID, string(e.Type), e.StepID, e.Attempt, ms(e.Time), []byte(e.Data))
		if err != nil {
			return fmt.Errorf("write event %d: %w", e.Seq, err)
		}
	}
	return keepSpans(ctx, w.tx, events)
}

func (w sqliteImporter) PutSessions(ctx context.Context, sessions []SessionRecord) error {
	for _, s := range sessions {
		if _, err := w.tx.ExecContext(ctx, `INSERT INTO sessions (name, agent, messages, updated_at) VALUES (?, ?, ?, ?)`,
			s.Name, s.Agent, s.Messages, s.UpdatedAt.UnixMilli()); err != nil {
			return fmt.Errorf("write session %s: %w", s.Name, err)
		}
	}
	return nil
}

func nullMS(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMilli()
}
