package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"tandem/engine"
)

// A run's events are found through spans (migration 0005): a span starts at each event whose
// run differs from the run of the event before it in the log, so a run advancing alone writes
// one span, not an index row per event. The store writes them itself, in the transaction that
// inserts the events (migration 0007 dropped the trigger that did it: its program ran for
// every event and cost a step as much CPU as the insert).

const insertSpanSQL = `INSERT INTO event_spans (start_seq, run_id) VALUES (?, ?)`

// prevRunSQL is the run of the last event before a seq.
const prevRunSQL = `SELECT run_id FROM events WHERE seq < ? ORDER BY seq DESC LIMIT 1`

// logTail is the last event of the log as one writer knows it: its seq and run. Seq 0 is
// unknown.
type logTail struct {
	seq int64
	run string
}

// keepSpans writes the spans that events start. They have just been inserted in tx, in seq
// order, and the transaction holds the write lock, so no other event can come between them.
// The run the log ended with before an event is the writer's tail when the event's seq
// follows it (seqs are never reused, so nobody wrote in between), and is read otherwise.
func keepSpans(ctx context.Context, tx *writeTx, events []engine.Event) error {
	for i := range events {
		e := &events[i]
		prev := tx.tail.run
		if tx.tail.seq == 0 || e.Seq != tx.tail.seq+1 {
			err := tx.w.prevRun.QueryRowContext(ctx, e.Seq).Scan(&prev)
			if errors.Is(err, sql.ErrNoRows) {
				prev = "" // the log's first event
			} else if err != nil {
				return fmt.Errorf("read the log's last run before seq %d: %w", e.Seq, err)
			}
		}
		if e.RunID != prev {
			if _, err := tx.w.insertSpan.ExecContext(ctx, e.Seq, e.RunID); err != nil {
				return fmt.Errorf("start a span of run %s at seq %d: %w", e.RunID, e.Seq, err)
			}
		}
		tx.tail = logTail{seq: e.Seq, run: e.RunID}
	}
	return nil
}
