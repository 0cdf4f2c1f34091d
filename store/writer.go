package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
)

// writer is the one connection this process writes through. It is held for the database's
// life, and writeMu serialises its use, so that BEGIN IMMEDIATE, COMMIT, ROLLBACK and the hot
// inserts are prepared on it once. Through database/sql's Tx the driver parses BEGIN and
// COMMIT again on every transaction, which costs about as much CPU as the INSERT itself.
type writer struct {
	conn                    *sql.Conn
	begin, commit, rollback *sql.Stmt
	insertEvent             *sql.Stmt
	insertSpan, prevRun     *sql.Stmt
	// fenced[k-1] inserts k events on condition that the run's lease is still the one named,
	// checked in the same statement: a step's transaction is one INSERT, like the floor's.
	fenced [fencedBatch]*sql.Stmt
	stmts  []*sql.Stmt // all of the above, to close

	// tail is the last event this writer committed. While the next event's seq follows it,
	// no other process has appended since, so the store knows which run the log ends with
	// without reading it (spans.go).
	tail logTail
}

// writeTx is a write transaction on the writer's connection: what a write's body may run.
type writeTx struct {
	w    *writer
	tail logTail // the writer's tail, moved along by the events this transaction inserts
}

// ExecContext runs a statement in the transaction.
func (t *writeTx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return t.w.conn.ExecContext(ctx, query, args...)
}

// QueryRowContext runs a query that returns at most one row in the transaction.
func (t *writeTx) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	return t.w.conn.QueryRowContext(ctx, query, args...)
}

// PrepareContext prepares a statement on the transaction's connection; close it before the
// transaction ends.
func (t *writeTx) PrepareContext(ctx context.Context, query string) (*sql.Stmt, error) {
	return t.w.conn.PrepareContext(ctx, query)
}

// openWriter takes a connection from the pool for writing and prepares its statements.
func openWriter(ctx context.Context, db *sql.DB) (*writer, error) {
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("open the writer's connection: %w", err)
	}
	w := &writer{conn: conn}
	type prep struct {
		stmt **sql.Stmt
		sql  string
	}
	all := []prep{
		{&w.begin, `BEGIN IMMEDIATE`},
		{&w.commit, `COMMIT`},
		{&w.rollback, `ROLLBACK`},
		{&w.insertEvent, insertEventSQL},
		{&w.insertSpan, insertSpanSQL},
		{&w.prevRun, prevRunSQL},
	}
	for k := 1; k <= fencedBatch; k++ {
		all = append(all, prep{&w.fenced[k-1], fencedInsertSQL(k)})
	}
	for _, p := range all {
		st, err := conn.PrepareContext(ctx, p.sql)
		if err != nil {
			_ = w.close()
			return nil, fmt.Errorf("prepare %q: %w", p.sql, err)
		}
		*p.stmt = st
		w.stmts = append(w.stmts, st)
	}
	return w, nil
}

func (w *writer) close() error {
	var errs []error
	for _, st := range w.stmts {
		errs = append(errs, st.Close())
	}
	return errors.Join(append(errs, w.conn.Close())...)
}

// discard closes a connection whose transaction state is unknown (a ROLLBACK that failed),
// so the pool never hands it out again; the next write opens a new one.
func (w *writer) discard() {
	for _, st := range w.stmts {
		_ = st.Close()
	}
	_ = w.conn.Raw(func(any) error { return driver.ErrBadConn })
	_ = w.conn.Close()
}

// write runs fn in a write transaction (BEGIN IMMEDIATE) on the writer's connection,
// committing when it returns nil and rolling back otherwise. An error means nothing fn did
// was committed.
func (d *DB) write(ctx context.Context, fn func(*writeTx) error) error {
	if d.readOnly {
		return fmt.Errorf("%w (%s): it can be read, but runs cannot start or move on", ErrReadOnly, d.path)
	}
	d.writeMu.Lock()
	defer d.writeMu.Unlock()
	if d.w == nil {
		w, err := openWriter(ctx, d.db)
		if err != nil {
			return err
		}
		d.w = w
	}
	w := d.w
	if _, err := w.begin.ExecContext(ctx); err != nil {
		// A BEGIN that failed (busy past the timeout, ctx ended) opened no transaction.
		return full(fmt.Errorf("begin: %w", err))
	}
	tx := &writeTx{w: w, tail: w.tail}
	if err := fn(tx); err != nil {
		d.rollback()
		return full(err)
	}
	// Once the body has run, commit whatever ctx does since: an error then would leave the
	// caller unsure whether the transaction committed.
	if _, err := w.commit.ExecContext(context.WithoutCancel(ctx)); err != nil {
		d.rollback()
		return full(fmt.Errorf("commit: %w", err))
	}
	w.tail = tx.tail
	return nil
}

// rollback ends the writer's open transaction without committing it. SQLite rolls some
// transactions back itself (a full disk, an I/O error), and then ROLLBACK fails; any failing
// ROLLBACK leaves the connection's state unknown, so it is discarded.
func (d *DB) rollback() {
	if _, err := d.w.rollback.ExecContext(context.Background()); err != nil {
		d.w.discard()
		d.w = nil
	}
}
