package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"tandem/engine"
)

// fencedBatch is how many events one prepared fenced insert takes; a longer batch inserts the
// rest one by one after it, in the same transaction.
const fencedBatch = 4

// statements are the reads of the hot path, prepared once at open (the writes are prepared on
// the writer's connection, writer.go): parsing their SQL again each time would cost as much as
// running them.
type statements struct {
	runEvents *sql.Stmt
}

const insertEventSQL = `INSERT INTO events (run_id, type, step_id, attempt, at, data) VALUES (?, ?, ?, ?, ?, ?)`

// runEventsSQL reads a run's events after a seq through its spans (migration 0005): each span
// of the run that can hold events past afterSeq, then the events from its start up to the
// next span of any run. The run_id test on events keeps the answer right even if a span were
// wrong. The lower bound on e.seq is one expression: given two (the span's start and
// afterSeq), SQLite ranged the primary key on afterSeq alone and scanned the log from there,
// so reading a run cost as much as the log before it.
const runEventsSQL = `SELECT e.seq, e.run_id, e.type, e.step_id, e.attempt, e.at, e.data
	FROM event_spans s JOIN events e
	  ON e.seq >= max(s.start_seq, ?2 + 1)
	 AND e.seq < coalesce((SELECT min(n.start_seq) FROM event_spans n WHERE n.start_seq > s.start_seq), 9223372036854775807)
	WHERE s.run_id = ?1
	  AND s.start_seq >= coalesce((SELECT max(p.start_seq) FROM event_spans p WHERE p.run_id = ?1 AND p.start_seq <= ?2), 0)
	  AND e.run_id = ?1
	ORDER BY s.start_seq, e.seq`

// fencedInsertSQL inserts k events of run ?1, in order, only while that run has lease owner
// and epoch the last two arguments. Rows affected is k or 0. The run is bound once: every
// event of a fenced append is the lease's run.
func fencedInsertSQL(k int) string {
	rows := make([]string, k)
	for i := range rows {
		rows[i] = fmt.Sprintf("(%d, ?1, ?, ?, ?, ?, ?)", i)
	}
	return `INSERT INTO events (run_id, type, step_id, attempt, at, data)
		SELECT column2, column3, column4, column5, column6, column7 FROM (VALUES ` + strings.Join(rows, ", ") + `)
		WHERE EXISTS (SELECT 1 FROM runs WHERE id = ?1 AND lease_owner = ? AND lease_epoch = ?)
		ORDER BY column1`
}

func (s *statements) prepare(ctx context.Context, db *sql.DB) error {
	type prep struct {
		stmt **sql.Stmt
		sql  string
	}
	all := []prep{
		{&s.runEvents, runEventsSQL},
	}
	for _, p := range all {
		st, err := db.PrepareContext(ctx, p.sql)
		if err != nil {
			return fmt.Errorf("prepare %q: %w", p.sql, err)
		}
		*p.stmt = st
	}
	return nil
}

func (s *statements) close() error {
	var errs []error
	for _, st := range []*sql.Stmt{s.runEvents} {
		if st != nil {
			errs = append(errs, st.Close())
		}
	}
	return errors.Join(errs...)
}

// insertEvents inserts events one by one in tx, assigns their Seq and writes the spans they
// start.
func insertEvents(ctx context.Context, tx *writeTx, events []engine.Event) error {
	ins := tx.w.insertEvent
	for i := range events {
		e := &events[i]
		res, err := ins.ExecContext(ctx, e.RunID, string(e.Type), e.StepID, e.Attempt, ms(e.Time), []byte(e.Data))
		if err != nil {
			return fmt.Errorf("append %s to run %s: %w", e.Type, e.RunID, err)
		}
		if e.Seq, err = res.LastInsertId(); err != nil {
			return fmt.Errorf("append events: %w", err)
		}
	}
	return keepSpans(ctx, tx, events)
}

// insertFenced inserts events (at least one, all of l's run) in tx on condition that l is still
// the run's lease, assigns their Seq and writes the spans they start; otherwise it writes
// nothing and says why.
func insertFenced(ctx context.Context, tx *writeTx, l engine.Lease, events []engine.Event) error {
	k := min(len(events), fencedBatch)
	args := make([]any, 0, 5*k+3)
	args = append(args, l.RunID)
	for _, e := range events[:k] {
		args = append(args, string(e.Type), e.StepID, e.Attempt, ms(e.Time), []byte(e.Data))
	}
	args = append(args, l.Owner, l.Epoch)
	res, err := tx.w.fenced[k-1].ExecContext(ctx, args...)
	if err != nil {
		return fmt.Errorf("append %d events to run %s: %w", len(events), l.RunID, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("append to run %s: %w", l.RunID, err)
	}
	if n == 0 {
		return refused(ctx, tx, l)
	}
	// One statement in a write transaction: its rows took consecutive seqs, in order.
	last, err := res.LastInsertId()
	if err != nil {
		return fmt.Errorf("append to run %s: %w", l.RunID, err)
	}
	for i := range events[:k] {
		events[i].Seq = last - int64(k-1-i)
	}
	if err := keepSpans(ctx, tx, events[:k]); err != nil {
		return err
	}
	return insertEvents(ctx, tx, events[k:])
}

// refused says why a fenced write was refused: the run is gone, or its lease is not l.
func refused(ctx context.Context, tx *writeTx, l engine.Lease) error {
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM runs WHERE id = ?`, l.RunID).Scan(&n); err != nil {
		return fmt.Errorf("append to run %s: %w", l.RunID, err)
	}
	if n == 0 {
		return fmt.Errorf("append to run %s: %w", l.RunID, engine.ErrRunNotFound)
	}
	return fmt.Errorf("append to run %s as %s: %w", l.RunID, l.Owner, engine.ErrFenced)
}

// checkFence reports whether l is still the run's lease, for a fenced append of no events.
func checkFence(ctx context.Context, tx *writeTx, l engine.Lease) error {
	var owner sql.NullString
	var epoch int64
	err := tx.QueryRowContext(ctx, `SELECT lease_owner, lease_epoch FROM runs WHERE id = ?`, l.RunID).Scan(&owner, &epoch)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("append to run %s: %w", l.RunID, engine.ErrRunNotFound)
	}
	if err != nil {
		return fmt.Errorf("append to run %s: %w", l.RunID, err)
	}
	if owner.String != l.Owner || epoch != l.Epoch {
		return fmt.Errorf("append to run %s as %s: %w", l.RunID, l.Owner, engine.ErrFenced)
	}
	return nil
}
