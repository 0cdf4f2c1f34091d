package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"tandem/engine"
)

var _ engine.Store = (*DB)(nil)
var _ engine.Tail = (*DB)(nil)

// Append writes requests any process may make in one transaction, assigns their Seq, moves
// each run's index row, and wakes the workers listening on this database.
func (d *DB) Append(ctx context.Context, events []engine.Event) error {
	if len(events) == 0 {
		return nil
	}
	return pgx.BeginFunc(ctx, d.pool, func(tx pgx.Tx) error {
		ids := runIDs(events)
		if err := lockRuns(ctx, tx, ids); err != nil {
			return fmt.Errorf("append %s to run %s: %w", events[0].Type, events[0].RunID, err)
		}
		if err := appendEvents(ctx, tx, events); err != nil {
			return err
		}
		return d.notify(ctx, tx, ids...)
	})
}

// AppendFenced is Append on condition that l is still the run's lease, checked under the
// run row's lock in the same transaction; otherwise it writes nothing and returns
// engine.ErrFenced. The advancing process's own writes wake nobody.
func (d *DB) AppendFenced(ctx context.Context, l engine.Lease, events []engine.Event) error {
	for _, e := range events {
		if e.RunID != l.RunID {
			return fmt.Errorf("append %s to run %s under the lease of run %s: events of another run", e.Type, e.RunID, l.RunID)
		}
	}
	return pgx.BeginFunc(ctx, d.pool, func(tx pgx.Tx) error {
		var owner *string
		var epoch int64
		err := tx.QueryRow(ctx, `SELECT lease_owner, lease_epoch FROM runs WHERE id = $1 FOR NO KEY UPDATE`, l.RunID).Scan(&owner, &epoch)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("append to run %s: %w", l.RunID, engine.ErrRunNotFound)
		}
		if err != nil {
			return fmt.Errorf("append to run %s: %w", l.RunID, err)
		}
		if owner == nil || *owner != l.Owner || epoch != l.Epoch {
			return fmt.Errorf("append to run %s as %s: %w", l.RunID, l.Owner, engine.ErrFenced)
		}
		if len(events) == 0 {
			return nil
		}
		return appendEvents(ctx, tx, events)
	})
}

// runIDs returns the distinct runs of events, sorted: rows are always locked in id order so
// two writers never wait on each other in a circle.
func runIDs(events []engine.Event) []string {
	ids := make([]string, 0, 1)
	for _, e := range events {
		ids = append(ids, e.RunID)
	}
	slices.Sort(ids)
	return slices.Compact(ids)
}

// lockRuns locks the index rows of ids (which must be sorted), failing when one is missing.
func lockRuns(ctx context.Context, tx pgx.Tx, ids []string) error {
	rows, err := tx.Query(ctx, `SELECT id FROM runs WHERE id = ANY($1) ORDER BY id FOR NO KEY UPDATE`, ids)
	if err != nil {
		return err
	}
	found, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return err
	}
	if len(found) != len(ids) {
		for _, id := range ids {
			if !slices.Contains(found, id) {
				return fmt.Errorf("run %s: %w", id, engine.ErrRunNotFound)
			}
		}
	}
	return nil
}

// insertEvents takes len(events) seqs from the counter row (whose lock, held to commit,
// keeps seqs in commit order) and inserts the events with them, in one statement.
const insertEvents = `WITH bump AS (UPDATE event_seq SET last = last + $1 RETURNING last),
ins AS (INSERT INTO events (seq, run_id, type, step_id, attempt, at, data)
	SELECT bump.last - $1 + e.ord, e.run_id, e.type, e.step_id, e.attempt, e.at, e.data
	FROM bump, unnest($2::text[], $3::text[], $4::text[], $5::int4[], $6::int8[], $7::bytea[])
		WITH ORDINALITY AS e(run_id, type, step_id, attempt, at, data, ord))
SELECT last FROM bump`

// appendEvents inserts events in tx, assigns their Seq and moves the run index.
func appendEvents(ctx context.Context, tx pgx.Tx, events []engine.Event) error {
	n := len(events)
	runs, types, steps := make([]string, n), make([]string, n), make([]string, n)
	attempts, ats, data := make([]int32, n), make([]int64, n), make([][]byte, n)
	for i, e := range events {
		runs[i], types[i], steps[i] = e.RunID, string(e.Type), e.StepID
		attempts[i], ats[i], data[i] = int32(e.Attempt), ms(e.Time), []byte(e.Data)
	}
	var last int64
	if err := tx.QueryRow(ctx, insertEvents, int64(n), runs, types, steps, attempts, ats, data).Scan(&last); err != nil {
		return fmt.Errorf("append %s to run %s: %w", events[0].Type, events[0].RunID, err)
	}
	for i := range events {
		events[i].Seq = last - int64(n) + int64(i) + 1
	}
	return updateRuns(ctx, tx, events)
}

// updateRuns moves the index rows of the runs whose status the events change.
func updateRuns(ctx context.Context, tx pgx.Tx, events []engine.Event) error {
	type change struct {
		seq    int64
		at     time.Time
		status engine.RunStatus
	}
	changes := map[string]*change{}
	var order []string
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
		c.seq, c.at, c.status = e.Seq, e.Time, e.Status
	}
	slices.Sort(order)
	for _, id := range order {
		c := changes[id]
		var ended *int64
		if c.status.Terminal() || c.status == engine.RunStatusInterrupted {
			at := ms(c.at)
			ended = &at
		}
		tag, err := tx.Exec(ctx, `UPDATE runs SET last_seq = $1, updated_at = $2, status = $3, ended_at = $4 WHERE id = $5`,
			c.seq, ms(c.at), string(c.status), ended, id)
		if err != nil {
			return fmt.Errorf("update run %s: %w", id, err)
		}
		if tag.RowsAffected() == 0 {
			return fmt.Errorf("update run %s: %w", id, engine.ErrRunNotFound)
		}
	}
	return nil
}

const eventColumns = `seq, run_id, type, step_id, attempt, at, data`

// Events returns a run's events after afterSeq, in order.
func (d *DB) Events(ctx context.Context, runID string, afterSeq int64) ([]engine.Event, error) {
	rows, err := d.pool.Query(ctx, `SELECT `+eventColumns+` FROM events WHERE run_id = $1 AND seq > $2 ORDER BY seq`, runID, afterSeq)
	if err != nil {
		return nil, fmt.Errorf("read events of run %s: %w", runID, err)
	}
	evs, err := scanEvents(rows)
	if err != nil {
		return nil, fmt.Errorf("read events of run %s: %w", runID, err)
	}
	return evs, nil
}

// EventsSince returns events of every run after afterSeq, oldest first, at most limit. Seqs
// commit in order (see insertEvents), so a follower that remembers the last seq it saw never
// misses one.
func (d *DB) EventsSince(ctx context.Context, afterSeq int64, limit int) ([]engine.Event, error) {
	if limit <= 0 {
		limit = 1000
	}
	rows, err := d.pool.Query(ctx, `SELECT `+eventColumns+` FROM events WHERE seq > $1 ORDER BY seq LIMIT $2`, afterSeq, limit)
	if err != nil {
		return nil, fmt.Errorf("read events since %d: %w", afterSeq, err)
	}
	evs, err := scanEvents(rows)
	if err != nil {
		return nil, fmt.Errorf("read events since %d: %w", afterSeq, err)
	}
	return evs, nil
}

func scanEvents(rows pgx.Rows) ([]engine.Event, error) {
	defer rows.Close()
	var out []engine.Event
	for rows.Next() {
		var e engine.Event
		var typ string
		var attempt int32
		var at int64
		var data []byte
		if err := rows.Scan(&e.Seq, &e.RunID, &typ, &e.StepID, &attempt, &at, &data); err != nil {
			return nil, fmt.Errorf("scan event: %w", err)
		}
		e.Type, e.Attempt, e.Time, e.Data = engine.EventType(typ), int(attempt), time.UnixMilli(at), data
		out = append(out, e)
	}
	return out, rows.Err()
}
