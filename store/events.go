package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"tandem/engine"
)

var _ engine.Store = (*DB)(nil)
var _ engine.Tail = (*DB)(nil)

// Append writes events in one transaction, assigns their Seq, and moves each run's index row
// (status, last event, end time) along.
func (d *DB) Append(ctx context.Context, events []engine.Event) error {
	if len(events) == 0 {
		return nil
	}
	return d.write(ctx, func(tx *writeTx) error {
		if err := insertEvents(ctx, tx, events); err != nil {
			return err
		}
		return updateRuns(ctx, tx, events)
	})
}

// AppendFenced is Append on condition that l is still the run's lease, checked in the same
// transaction; otherwise it writes nothing and returns engine.ErrFenced.
func (d *DB) AppendFenced(ctx context.Context, l engine.Lease, events []engine.Event) error {
	for _, e := range events {
		if e.RunID != l.RunID {
			return fmt.Errorf("append %s to run %s under the lease of run %s: events of another run", e.Type, e.RunID, l.RunID)
		}
	}
	return d.write(ctx, func(tx *writeTx) error {
		if len(events) == 0 {
			return checkFence(ctx, tx, l)
		}
		if err := insertFenced(ctx, tx, l, events); err != nil {
			return err
		}
		return updateRuns(ctx, tx, events)
	})
}

// updateRuns moves the index rows of the runs whose status the events change. Events that
// do not change a status leave the row alone: listings need status and times, and followers
// read the log itself by seq.
func updateRuns(ctx context.Context, tx *writeTx, events []engine.Event) error {
	type change struct {
		seq    int64
		at     time.Time
		status engine.RunStatus
	}
	changes := map[string]*change{}
	order := []string{}
	for _, e := range events {
		if e.Status == "" {
			continue
		}
		c, ok := changes[e.RunID]
		if !ok {
			c = &change{}
			changes[e.RunID] = c
			order = append(order, e.RunID)
		}
		c.seq, c.at = e.Seq, e.Time
		if e.Status != "" {
			c.status = e.Status
		}
	}
	for _, id := range order {
		c := changes[id]
		if c.status == "" {
			continue
		}
		var ended any
		if c.status.Terminal() || c.status == engine.RunStatusInterrupted {
			ended = ms(c.at)
		}
		res, err := tx.ExecContext(ctx, `UPDATE runs SET last_seq = ?, updated_at = ?, status = ?, ended_at = ? WHERE id = ?`,
			c.seq, ms(c.at), string(c.status), ended, id)
		if err != nil {
			return fmt.Errorf("update run %s: %w", id, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("update run %s: %w", id, engine.ErrRunNotFound)
		}
	}
	return nil
}

// Events returns a run's events after afterSeq, in order.
func (d *DB) Events(ctx context.Context, runID string, afterSeq int64) ([]engine.Event, error) {
	rows, err := d.stmts.runEvents.QueryContext(ctx, runID, afterSeq)
	if err != nil {
		return nil, fmt.Errorf("read events of run %s: %w", runID, err)
	}
	return scanEvents(rows)
}

// EventsSince returns events of every run after afterSeq, oldest first, at most limit.
func (d *DB) EventsSince(ctx context.Context, afterSeq int64, limit int) ([]engine.Event, error) {
	if limit <= 0 {
		limit = 1000
	}
	rows, err := d.db.QueryContext(ctx, `SELECT seq, run_id, type, step_id, attempt, at, data
		FROM events WHERE seq > ? ORDER BY seq LIMIT ?`, afterSeq, limit)
	if err != nil {
		return nil, fmt.Errorf("read events since %d: %w", afterSeq, err)
	}
	return scanEvents(rows)
}

func scanEvents(rows *sql.Rows) ([]engine.Event, error) {
	defer rows.Close()
	var out []engine.Event
	for rows.Next() {
		var e engine.Event
		var typ string
		var at int64
		var data []byte
		if err := rows.Scan(&e.Seq, &e.RunID, &typ, &e.StepID, &e.Attempt, &at, &data); err != nil {
			return nil, fmt.Errorf("scan event: %w", err)
		}
		e.Type, e.Time, e.Data = engine.EventType(typ), time.UnixMilli(at), data
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read events: %w", err)
	}
	return out, nil
}
