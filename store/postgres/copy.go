package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"tandem/engine"
	"tandem/store"
)

var (
	_ store.CopySource = (*DB)(nil)
	_ store.CopyTarget = (*DB)(nil)
)

// CopyRuns returns up to limit runs after afterID, in id order, for a copy.
func (d *DB) CopyRuns(ctx context.Context, afterID string, limit int) ([]store.RunRecord, error) {
	rows, err := d.pool.Query(ctx, `SELECT `+runColumns+`, lease_epoch FROM runs WHERE id > $1 ORDER BY id LIMIT $2`, afterID, limit)
	if err != nil {
		return nil, fmt.Errorf("read runs: %w", err)
	}
	defer rows.Close()
	var out []store.RunRecord
	for rows.Next() {
		var r store.RunRecord
		var status string
		var parent, parentStep, leaseOwner *string
		var created, updated, ended, leaseUntil *int64
		if err := rows.Scan(&r.ID, &r.FlowName, &r.FlowPath, &status, &parent, &parentStep, &created, &updated, &ended,
			&r.LastSeq, &leaseOwner, &leaseUntil, &r.Session, &r.LeaseEpoch); err != nil {
			return nil, fmt.Errorf("read runs: %w", err)
		}
		r.Status = engine.RunStatus(status)
		r.ParentRunID, r.ParentStepID, r.LeaseOwner = deref(parent), deref(parentStep), deref(leaseOwner)
		r.CreatedAt, r.UpdatedAt, r.EndedAt, r.LeaseUntil = fromMS(created), fromMS(updated), fromMS(ended), fromMS(leaseUntil)
		out = append(out, r)
	}
	return out, rows.Err()
}

// CopySessions returns every session, for a copy.
func (d *DB) CopySessions(ctx context.Context) ([]store.SessionRecord, error) {
	rows, err := d.pool.Query(ctx, `SELECT name, agent, messages, updated_at FROM sessions ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("read sessions: %w", err)
	}
	defer rows.Close()
	var out []store.SessionRecord
	for rows.Next() {
		var s store.SessionRecord
		var msgs string
		var at int64
		if err := rows.Scan(&s.Name, &s.Agent, &msgs, &at); err != nil {
			return nil, fmt.Errorf("read sessions: %w", err)
		}
		s.Messages, s.UpdatedAt = []byte(msgs), time.UnixMilli(at)
		out = append(out, s)
	}
	return out, rows.Err()
}

// Import fills an empty database in one transaction, then moves the seq counter past the
// last event copied.
func (d *DB) Import(ctx context.Context, fill func(store.Importer) error) error {
	return pgx.BeginFunc(ctx, d.pool, func(tx pgx.Tx) error {
		// Nobody appends while the copy fills the database.
		if _, err := tx.Exec(ctx, `LOCK TABLE runs, events, sessions, event_seq IN EXCLUSIVE MODE`); err != nil {
			return err
		}
		var n int64
		if err := tx.QueryRow(ctx, `SELECT (SELECT count(*) FROM runs) + (SELECT count(*) FROM sessions)`).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return fmt.Errorf("%w: %s holds runs or sessions; copy into a new database or schema", store.ErrNotEmpty, d.url)
		}
		if err := fill(pgImporter{tx}); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `UPDATE event_seq SET last = greatest(last, (SELECT coalesce(max(seq), 0) FROM events))`)
		return err
	})
}

type pgImporter struct{ tx pgx.Tx }

func (w pgImporter) PutRuns(ctx context.Context, runs []store.RunRecord) error {
	rows := make([][]any, len(runs))
	for i, r := range runs {
		rows[i] = []any{r.ID, r.FlowName, r.FlowPath, string(r.Status), nullable(r.ParentRunID), nullable(r.ParentStepID),
			ms(r.CreatedAt), ms(r.UpdatedAt), nullMS(r.EndedAt), r.LastSeq, nullable(r.LeaseOwner), nullMS(r.LeaseUntil), r.LeaseEpoch, r.Session}
	}
	_, err := w.tx.CopyFrom(ctx, pgx.Identifier{"runs"}, []string{"id", "flow_name", "flow_path", "status", "parent_run_id",
		"parent_step_id", "created_at", "updated_at", "ended_at", "last_seq", "lease_owner", "lease_until", "lease_epoch", "session"},
		pgx.CopyFromRows(rows))
	if err != nil {
		return fmt.Errorf("write runs: %w", err)
	}
	return nil
}

func (w pgImporter) PutEvents(ctx context.Context, events []engine.Event) error {
	rows := make([][]any, len(events))
	for i, e := range events {
		rows[i] = []any{e.Seq, e.RunID, string(e.Type), e.StepID, int32(e.Attempt), ms(e.Time), []byte(e.Data)}
	}
	_, err := w.tx.CopyFrom(ctx, pgx.Identifier{"events"}, []string{"seq", "run_id", "type", "step_id", "attempt", "at", "data"},
		pgx.CopyFromRows(rows))
	if err != nil {
		return fmt.Errorf("write events: %w", err)
	}
	return nil
}

func (w pgImporter) PutSessions(ctx context.Context, sessions []store.SessionRecord) error {
	for _, s := range sessions {
		if _, err := w.tx.Exec(ctx, `INSERT INTO sessions (name, agent, messages, updated_at) VALUES ($1, $2, $3, $4)`,
			s.Name, s.Agent, string(s.Messages), s.UpdatedAt.UnixMilli()); err != nil {
			return fmt.Errorf("write session %s: %w", s.Name, err)
		}
	}
	return nil
}

func nullMS(t time.Time) *int64 {
	if t.IsZero() {
		return nil
	}
	v := t.UnixMilli()
	return &v
}
