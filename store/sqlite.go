// Package store keeps tandem's state in SQLite: the append-only event log and the run index
// over it. It is the only package that speaks SQL.
package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"modernc.org/sqlite" // the pure-Go SQLite driver, registered as "sqlite"

	"tandem/engine"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Synchronous modes. FULL makes a committed step survive power loss; NORMAL survives process
// crashes and is faster.
const (
	SyncFull   = "FULL"
	SyncNormal = "NORMAL"
)

// Options tune Open.
type Options struct {
	Synchronous string        // SyncFull (default) or SyncNormal
	BusyTimeout time.Duration // how long a writer waits for another process; default 10s
	// ReadOnly opens the database for reading only: nothing is created, migrated or written.
	// Open also reads only, whatever ReadOnly says, when the file exists but may not be
	// written (its mode, a read-only mount).
	ReadOnly bool
}

// ErrReadOnly is returned by every write to a database opened for reading only.
var ErrReadOnly = errors.New("the database is read-only")

// DB is a tandem database. It is safe for concurrent use by many goroutines; several
// processes may share the file.
type DB struct {
	db       *sql.DB
	path     string
	stmts    statements
	readOnly bool
	// noSession: a database opened read-only before migration 6, whose runs have no session
	// column (listings read it as '').
	noSession bool
	// writeMu serialises this process's writers so they queue here instead of spinning on
	// SQLite's busy handler; other processes are handled by busy_timeout. It guards w.
	writeMu sync.Mutex
	w       *writer // opened by the first write (writer.go)
}

// DefaultPath is where a workspace keeps its database, relative to the working directory.
const DefaultPath = ".tandem/tandem.db"

// Open opens (creating if needed) the database at path with every pragma tandem relies on,
// and applies pending migrations.
func Open(ctx context.Context, path string, o Options) (*DB, error) {
	if o.Synchronous == "" {
		o.Synchronous = SyncFull
	}
	if o.Synchronous != SyncFull && o.Synchronous != SyncNormal {
		return nil, fmt.Errorf("open database: synchronous must be FULL or NORMAL, not %q", o.Synchronous)
	}
	if o.BusyTimeout <= 0 {
		o.BusyTimeout = 10 * time.Second
	}
	if o.ReadOnly || unwritable(path) {
		return openReadOnly(ctx, path, o)
	}
	if err := privateFiles(path); err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	q := url.Values{}
	q.Add("_pragma", "busy_timeout("+strconv.FormatInt(o.BusyTimeout.Milliseconds(), 10)+")")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous("+o.Synchronous+")")
	q.Add("_pragma", "foreign_keys(1)")
	// SQLite's default page cache is 2 MB per connection, and the log is written at its end:
	// the pages behind it are never read again while a run is advanced, yet they filled
	// every connection's cache (a 10,000-step run: 5 MB of its peak resident set).
	q.Add("_pragma", "cache_size(-256)")
	q.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	db.SetMaxOpenConns(4)
	db.SetMaxIdleConns(4)
	d := &DB{db: db, path: path}
	if err := d.migrate(ctx); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	if err := d.stmts.prepare(ctx, db); err != nil {
		_ = d.stmts.close()
		_ = db.Close()
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	return d, nil
}

// privateFiles makes sure the database holds every prompt, input and output for its owner
// only: a new .tandem directory is 0700 and a new database 0600 (SQLite gives its -wal and
// -shm files the database's mode); an existing .tandem directory or database that others can
// read is tightened.
func privateFiles(path string) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	if filepath.Base(dir) == ".tandem" {
		if err := tighten(dir, 0o700); err != nil {
			return err
		}
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	switch {
	case err == nil:
		return f.Close()
	case !errors.Is(err, os.ErrExist):
		return err
	}
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		if err := tighten(p, 0o600); err != nil {
			return err
		}
	}
	return nil
}

// tighten removes group and other permissions from a file this user owns; files that are
// missing or someone else's are left as they are.
func tighten(p string, mode os.FileMode) error {
	st, err := os.Stat(p)
	if err != nil || st.Mode().Perm()&0o077 == 0 {
		return nil
	}
	if err := os.Chmod(p, mode); err != nil && !errors.Is(err, os.ErrPermission) {
		return err
	}
	return nil
}

// Close closes the database.
func (d *DB) Close() error {
	d.writeMu.Lock()
	if d.w != nil {
		_ = d.w.close()
		d.w = nil
	}
	d.writeMu.Unlock()
	_ = d.stmts.close()
	return d.db.Close()
}

// Path returns the database file's path.
func (d *DB) Path() string { return d.path }

// Location names the database in messages: its file's path.
func (d *DB) Location() string { return d.path }

// migrate applies the embedded migrations not yet recorded, each in its own transaction.
func (d *DB) migrate(ctx context.Context) error {
	d.writeMu.Lock()
	defer d.writeMu.Unlock()
	if _, err := d.db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)`); err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	names, err := migrationNames()
	if err != nil {
		return err
	}
	current, err := d.refuseNewerSchema(ctx, names)
	if err != nil {
		return err
	}
	// Migrations apply in order, so a database at the last one has them all: opening it
	// takes no write lock (a command that only reads must not wait for a running writer).
	if current {
		return nil
	}
	for _, name := range names {
		base := filepath.Base(name)
		version, err := strconv.Atoi(strings.SplitN(base, "_", 2)[0])
		if err != nil {
			return fmt.Errorf("migration %s: name must start with a number", base)
		}
		body, err := migrations.ReadFile(name)
		if err != nil {
			return err
		}
		if err := d.applyMigration(ctx, version, base, string(body)); err != nil {
			return fmt.Errorf("migration %s: %w", base, err)
		}
	}
	return nil
}

// migrationNames lists the embedded migrations in the order they apply.
func migrationNames() ([]string, error) {
	names, err := fs.Glob(migrations, "migrations/*.sql")
	sort.Strings(names)
	return names, err
}

// ErrSchemaNewer is returned by Open for a database a newer tandem has migrated: this binary
// does not know its tables and must not write to them.
var ErrSchemaNewer = errors.New("the database was written by a newer tandem")

// refuseNewerSchema fails when the database records a migration this binary does not ship,
// and reports whether it records the last one this binary ships.
func (d *DB) refuseNewerSchema(ctx context.Context, names []string) (current bool, err error) {
	known := 0
	for _, name := range names {
		if v, err := strconv.Atoi(strings.SplitN(filepath.Base(name), "_", 2)[0]); err == nil && v > known {
			known = v
		}
	}
	var have sql.NullInt64
	if err := d.db.QueryRowContext(ctx, `SELECT max(version) FROM schema_migrations`).Scan(&have); err != nil {
		return false, fmt.Errorf("read schema version: %w", err)
	}
	if have.Valid && int(have.Int64) > known {
		return false, fmt.Errorf("%w (schema version %d, this binary knows up to %d); use that tandem, or upgrade this one",
			ErrSchemaNewer, have.Int64, known)
	}
	return have.Valid && int(have.Int64) == known, nil
}

func (d *DB) applyMigration(ctx context.Context, version int, name, body string) error {
	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }()
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations WHERE version = ?`, version).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return nil
	}
	if _, err := tx.ExecContext(ctx, body); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`,
		version, name, time.Now().UnixMilli()); err != nil {
		return err
	}
	return tx.Commit()
}

// full marks an error SQLite gave because the disk (or the file size limit) left no room as
// engine.ErrStoreFull, so the engine can say what happened and what to do.
func full(err error) error {
	var se *sqlite.Error
	if errors.As(err, &se) && se.Code()&0xff == sqliteFull {
		return fmt.Errorf("%w: %w", engine.ErrStoreFull, err)
	}
	return err
}

// sqliteFull is SQLITE_FULL, the primary result code of a write that found no room.
const sqliteFull = 13

func ms(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func fromMS(v sql.NullInt64) time.Time {
	if !v.Valid || v.Int64 == 0 {
		return time.Time{}
	}
	return time.UnixMilli(v.Int64)
}
