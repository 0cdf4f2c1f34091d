package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"tandem/engine"
)

// statements are the queries of the hot path, prepared once at open: every advancing step
// runs the fence check and the inserts, and parsing their SQL again each time would cost as
// much as the inserts themselves.
type statements struct {
	insertEvent *sql.Stmt
	lastSpan    *sql.Stmt
	insertSpan  *sql.Stmt
	fence       *sql.Stmt
	runEvents   *sql.Stmt
}

// runEventsSQL reads a run's events after a seq through its spans (migration 0005): each span
// of the run that can hold events past afterSeq, then the events from its start up to the
// next span of any run. The run_id test on events keeps the answer right even if a span were
// wrong.
const runEventsSQL = `SELECT e.seq, e.run_id, e.type, e.step_id, e.attempt, e.at, e.data
	FROM event_spans s JOIN events e
	  ON e.seq >= s.start_seq
	 AND e.seq < coalesce((SELECT min(n.start_seq) FROM event_spans n WHERE n.start_seq > s.start_seq), 9223372036854775807)
	WHERE s.run_id = ?1
	  AND s.start_seq >= coalesce((SELECT max(p.start_seq) FROM event_spans p WHERE p.run_id = ?1 AND p.start_seq <= ?2), 0)
	  AND e.seq > ?2 AND e.run_id = ?1
	ORDER BY s.start_seq, e.seq`

func (s *statements) prepare(ctx context.Context, db *sql.DB) error {
	for _, p := range []struct {
		stmt **sql.Stmt
		sql  string
	}{
		{&s.insertEvent, `INSERT INTO events (run_id, type, step_id, attempt, at, data) VALUES (?, ?, ?, ?, ?, ?)`},
		{&s.lastSpan, `SELECT start_seq, run_id FROM event_spans ORDER BY start_seq DESC LIMIT 1`},
		{&s.insertSpan, `INSERT INTO event_spans (start_seq, run_id) VALUES (?, ?)`},
		// The fence check also reads the log's last span, which the inserts after it need:
		// one query instead of two in every step's transaction.
		{&s.fence, `SELECT lease_owner, lease_epoch, (SELECT run_id FROM event_spans ORDER BY start_seq DESC LIMIT 1) FROM runs WHERE id = ?`},
		{&s.runEvents, runEventsSQL},
	} {
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
	for _, st := range []*sql.Stmt{s.insertEvent, s.lastSpan, s.insertSpan, s.fence, s.runEvents} {
		if st != nil {
			errs = append(errs, st.Close())
		}
	}
	return errors.Join(errs...)
}

// eventWriter inserts events in one write transaction and keeps the spans (migration 0005)
// true: an event whose run is not the run of the log's last event starts a span.
type eventWriter struct {
	insertEvent, lastSpan, insertSpan, fence *sql.Stmt
	lastRun                                  string
	known                                    bool
}

// writer binds the statements to tx; close it when the transaction ends.
func (s *statements) writer(ctx context.Context, tx *sql.Tx) *eventWriter {
	return &eventWriter{
		insertEvent: tx.StmtContext(ctx, s.insertEvent),
		lastSpan:    tx.StmtContext(ctx, s.lastSpan),
		insertSpan:  tx.StmtContext(ctx, s.insertSpan),
		fence:       tx.StmtContext(ctx, s.fence),
	}
}

func (w *eventWriter) close() {
	for _, st := range []*sql.Stmt{w.insertEvent, w.lastSpan, w.insertSpan, w.fence} {
		_ = st.Close()
	}
}

// lastRunIs tells the writer which run the log's last event belongs to ("" for an empty log),
// read in the same transaction, so insert need not read it.
func (w *eventWriter) lastRunIs(run sql.NullString) {
	w.lastRun, w.known = run.String, true
}

// insert appends one event and returns its seq.
func (w *eventWriter) insert(ctx context.Context, runID string, typ engine.EventType, stepID string, attempt int, at int64, data []byte) (int64, error) {
	if !w.known {
		var start int64
		switch err := w.lastSpan.QueryRowContext(ctx).Scan(&start, &w.lastRun); {
		case errors.Is(err, sql.ErrNoRows):
			w.lastRun = ""
		case err != nil:
			return 0, fmt.Errorf("read the log's last span: %w", err)
		}
		w.known = true
	}
	res, err := w.insertEvent.ExecContext(ctx, runID, string(typ), stepID, attempt, at, data)
	if err != nil {
		return 0, err
	}
	seq, err := res.LastInsertId()
	if err != nil {
		return 0, err
	}
	if runID != w.lastRun {
		if _, err := w.insertSpan.ExecContext(ctx, seq, runID); err != nil {
			return 0, fmt.Errorf("start a span of run %s: %w", runID, err)
		}
		w.lastRun = runID
	}
	return seq, nil
}
