package store

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
)

// TestAWriteThatFailsCommitsNothingAndTheNextWriteWorks covers the writer's three ends of a
// transaction: a body that fails, a transaction SQLite rolled back itself (as it does on a
// full disk), and the writes after each.
func TestAWriteThatFailsCommitsNothingAndTheNextWriteWorks(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "tandem.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	insert := func(tx *writeTx, v int) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO t (v) VALUES (?)`, v)
		return err
	}
	count := func() int {
		var n int
		if err := db.db.QueryRowContext(ctx, `SELECT count(*) FROM t`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if err := db.write(ctx, func(tx *writeTx) error {
		_, err := tx.ExecContext(ctx, `CREATE TABLE t (v INTEGER)`)
		return err
	}); err != nil {
		t.Fatal(err)
	}

	boom := errors.New("boom")
	err = db.write(ctx, func(tx *writeTx) error {
		if err := insert(tx, 1); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("write = %v, want the body's error", err)
	}
	if n := count(); n != 0 {
		t.Fatalf("a failed write left %d rows", n)
	}
	first := db.w
	if err := db.write(ctx, func(tx *writeTx) error { return insert(tx, 2) }); err != nil {
		t.Fatalf("the write after a failed one: %v", err)
	}
	if db.w != first || count() != 1 {
		t.Fatalf("after a rolled-back write: same connection %v, rows %d; want the same connection and 1 row", db.w == first, count())
	}

	// SQLite ends some transactions itself; COMMIT then fails, and so does ROLLBACK.
	err = db.write(ctx, func(tx *writeTx) error {
		if err := insert(tx, 3); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `ROLLBACK`)
		return err
	})
	if err == nil {
		t.Fatal("a write whose transaction was rolled back under it reported success")
	}
	if db.w != nil {
		t.Fatal("the writer kept a connection whose transaction state is unknown")
	}
	if err := db.write(ctx, func(tx *writeTx) error { return insert(tx, 4) }); err != nil {
		t.Fatalf("the write after a lost transaction: %v", err)
	}
	if n := count(); n != 2 {
		t.Fatalf("rows = %d, want 2 (the second and the fourth)", n)
	}
}
