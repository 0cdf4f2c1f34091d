package store_test

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"tandem/engine"
	"tandem/engine/storetest"
	"tandem/store"
)

func open(t *testing.T) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "tandem.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

func TestSQLiteConforms(t *testing.T) {
	storetest.Run(t, func(t *testing.T) engine.Store { return open(t) })
}

func TestReopeningKeepsEverythingAndMigratesOnce(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "sub", "tandem.db")
	db, err := store.Open(ctx, path, store.Options{Synchronous: store.SyncNormal})
	if err != nil {
		t.Fatal(err)
	}
	ev := engine.Event{RunID: "r", Type: engine.RunStarted, Status: engine.RunStatusRunning}
	if err := db.CreateRun(ctx, engine.RunInfo{ID: "r", FlowName: "f", FlowPath: "f.yaml", Status: engine.RunStatusRunning}, ev); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db, err = store.Open(ctx, path, store.Options{})
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer db.Close()
	evs, err := db.Events(ctx, "r", 0)
	if err != nil || len(evs) != 1 {
		t.Fatalf("after reopen: %d events, %v", len(evs), err)
	}
}

func TestOpenRejectsUnknownSynchronousMode(t *testing.T) {
	_, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "x.db"), store.Options{Synchronous: "OFF"})
	if err == nil {
		t.Fatal("synchronous=OFF accepted")
	}
}

func TestOpenRefusesADatabaseANewerTandemMigrated(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "tandem.db")
	db, err := store.Open(ctx, path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	// What a later tandem leaves behind: a migration this binary does not ship.
	raw, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (9999, '9999_future.sql', 0)`); err != nil {
		t.Fatal(err)
	}
	_ = raw.Close()
	_, err = store.Open(ctx, path, store.Options{})
	if !errors.Is(err, store.ErrSchemaNewer) || !strings.Contains(err.Error(), "9999") {
		t.Fatalf("open: err = %v, want ErrSchemaNewer naming version 9999", err)
	}
}

func TestOpeningAnUpToDateDatabaseDoesNotWaitForAWriter(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "tandem.db")
	db, err := store.Open(ctx, path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	// Another process holds the write lock (a long step commit, a copy into the database).
	raw, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	conn, err := raw.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `BEGIN IMMEDIATE`); err != nil {
		t.Fatal(err)
	}
	defer func() { _, _ = conn.ExecContext(ctx, `ROLLBACK`) }()
	// A reader opens and reads without the lock; a busy timeout of zero would fail at once
	// where opening wrote (or took the write lock to check the migrations).
	db, err = store.Open(ctx, path, store.Options{BusyTimeout: time.Millisecond})
	if err != nil {
		t.Fatalf("open while another holds the write lock: %v", err)
	}
	defer db.Close()
	if _, err := db.Runs(ctx, engine.RunQuery{}); err != nil {
		t.Fatalf("list runs while another holds the write lock: %v", err)
	}
}

func TestIntegrityCheckFindsADamagedIndex(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "tandem.db")
	db, err := store.Open(ctx, path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if problems, err := db.CheckIntegrity(ctx); err != nil || len(problems) != 0 {
		t.Fatalf("a fresh database: %v, %v", problems, err)
	}
	_ = db.Close()
	// Damage it the way a bad disk or a careless hand would: an index that disagrees with
	// its table.
	raw, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	var index string // any index over runs: the migrations decide which there are
	if err := raw.QueryRowContext(ctx, `SELECT name FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'runs' AND sql IS NOT NULL LIMIT 1`).Scan(&index); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`INSERT INTO runs (id, flow_name, flow_path, status, created_at, updated_at) VALUES ('r1', 'f', '/f', 'running', 0, 0)`,
		`PRAGMA writable_schema = ON`,
		`UPDATE sqlite_schema SET sql = 'CREATE INDEX ` + index + ` ON runs (flow_name)' WHERE name = '` + index + `'`,
	} {
		if res, err := raw.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		} else if n, _ := res.RowsAffected(); strings.HasPrefix(q, "UPDATE") && n != 1 {
			t.Fatalf("%s changed %d rows, want 1", q, n)
		}
	}
	_ = raw.Close()
	db, err = store.Open(ctx, path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	problems, err := db.CheckIntegrity(ctx)
	if err != nil || len(problems) == 0 {
		t.Fatalf("a damaged index went unreported: %v, %v", problems, err)
	}
}

// A database from before runs had a session (schema 5) is read as it is when opened
// read-only, and migrated on the next open that may write: each chat or ask turn gets the
// session its run_started inputs name; other runs, and agent runs of a parent, get none.
func TestMigratingAnOlderDatabaseGivesItsChatTurnsTheirSession(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "tandem.db")
	db, err := store.Open(ctx, path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	at := storetest.CreateChatTurnsOfOldSchema(ctx, t, db)
	// t1's log goes on after t2 started: its run_started is its first span's first event.
	if err := db.Append(ctx, []engine.Event{{RunID: "t1", Type: engine.RunSucceeded, Time: at, Status: engine.RunStatusSucceeded}}); err != nil {
		t.Fatal(err)
	}
	_ = db.Close()
	raw, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{`ALTER TABLE runs DROP COLUMN session`, `DELETE FROM schema_migrations WHERE version >= 6`} {
		if _, err := raw.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	_ = raw.Close()

	ro, err := store.Open(ctx, path, store.Options{ReadOnly: true})
	if err != nil {
		t.Fatalf("open schema 5 read-only: %v", err)
	}
	if runs, err := ro.Runs(ctx, engine.RunQuery{}); err != nil || len(runs) != 4 || runs[0].Session != "" {
		t.Fatalf("read-only listing of schema 5: %+v, %v", runs, err)
	}
	_ = ro.Close()

	db, err = store.Open(ctx, path, store.Options{})
	if err != nil {
		t.Fatalf("migrate: %v", err)
	}
	defer db.Close()
	for id, want := range storetest.OldChatTurnSessions {
		if r, err := db.Run(ctx, id); err != nil || r.Session != want {
			t.Errorf("run %s: session %q, %v; want %q", id, r.Session, err, want)
		}
	}
}
