package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"syscall"
)

// unwritable reports whether path is an existing file this process may not write: its mode
// forbids it, or it sits on a read-only medium.
func unwritable(path string) bool {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err == nil {
		_ = f.Close()
		return false
	}
	return errors.Is(err, os.ErrPermission) || errors.Is(err, syscall.EROFS)
}

// openReadOnly opens an existing database for reading. A WAL database needs its -shm file to
// be read: SQLite makes one when the directory allows it (mode=ro). When it cannot (a
// read-only medium or directory), the file is opened as immutable, which is right because
// nobody can be writing to it there: a writer would have had to create the -shm too.
func openReadOnly(ctx context.Context, path string, o Options) (*DB, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("open database %s for reading: %w", path, err)
	}
	busy := "busy_timeout(" + strconv.FormatInt(o.BusyTimeout.Milliseconds(), 10) + ")"
	var firstErr error
	for _, extra := range []string{"", "immutable"} {
		q := url.Values{}
		q.Add("_pragma", busy)
		q.Set("mode", "ro")
		if extra != "" {
			q.Set(extra, "1")
		}
		db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
		if err != nil {
			return nil, fmt.Errorf("open database %s for reading: %w", path, err)
		}
		d, err := readOnlyDB(ctx, db, path)
		if err == nil {
			return d, nil
		}
		_ = db.Close()
		if errors.Is(err, ErrSchemaNewer) || errors.Is(err, errSchemaOlder) {
			return nil, fmt.Errorf("open database %s: %w", path, err)
		}
		if firstErr == nil {
			firstErr = err
		}
	}
	return nil, fmt.Errorf("open database %s for reading: %w", path, firstErr)
}

// errSchemaOlder is a read-only database from before the run index had leases and epochs:
// reading it needs a migration, which needs write access.
var errSchemaOlder = errors.New("the database was written by an older tandem and needs migrating, which takes write access")

// readOnlyDB checks the schema and prepares the reads. A database one migration behind
// (before event spans) is still read, through its per-event index.
func readOnlyDB(ctx context.Context, db *sql.DB, path string) (*DB, error) {
	db.SetMaxOpenConns(4)
	db.SetMaxIdleConns(4)
	d := &DB{db: db, path: path, readOnly: true}
	var have sql.NullInt64
	if err := db.QueryRowContext(ctx, `SELECT max(version) FROM schema_migrations`).Scan(&have); err != nil {
		return nil, fmt.Errorf("read schema version: %w", err)
	}
	names, err := migrationNames()
	if err != nil {
		return nil, err
	}
	if _, err := d.refuseNewerSchema(ctx, names); err != nil {
		return nil, err
	}
	query := runEventsSQL
	switch {
	case have.Int64 < 4:
		return nil, fmt.Errorf("%w (schema version %d); open it once with write access", errSchemaOlder, have.Int64)
	case have.Int64 < 5:
		query = `SELECT seq, run_id, type, step_id, attempt, at, data FROM events WHERE run_id = ?1 AND seq > ?2 ORDER BY seq`
	}
	d.noSession = have.Int64 < 6
	if d.stmts.runEvents, err = db.PrepareContext(ctx, query); err != nil {
		return nil, err
	}
	return d, nil
}

// ReadOnly reports whether the database was opened for reading only; every write then fails
// with ErrReadOnly.
func (d *DB) ReadOnly() bool { return d.readOnly }
