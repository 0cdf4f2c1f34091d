// Package postgres keeps tandem's state in PostgreSQL, for a team whose workers run on
// several machines over one history. It has the SQLite store's tables and behaviour (the
// conformance suite in engine/storetest proves it), and it wakes workers at once with
// LISTEN/NOTIFY when a request is appended or a detached run is created.
package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"path"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

//go:embed migrations/*.sql
var migrations embed.FS

// DB is a tandem database on a PostgreSQL server. It is safe for concurrent use, and any
// number of processes on any number of machines may share it.
type DB struct {
	pool    *pgxpool.Pool
	url     string // the URL with its password hidden, for messages
	channel string // the NOTIFY channel of this schema's wake-ups

	wakeMu    sync.Mutex
	wakeSubs  map[chan struct{}]struct{}
	stopWake  context.CancelFunc
	wakeDone  chan struct{}
	listening chan struct{} // closed once LISTEN first took effect
	listened  bool
}

// IsURL reports whether a --db value names a PostgreSQL database rather than a SQLite file.
func IsURL(s string) bool {
	return strings.HasPrefix(s, "postgres://") || strings.HasPrefix(s, "postgresql://")
}

// Redact returns a database URL with its password replaced, for messages and logs.
func Redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "postgres://(unparsable URL)"
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}

// Open connects to the database at rawURL (postgres://user:pass@host:port/db?...), checks
// the server answers, and applies pending migrations. A `search_path` parameter in the URL
// puts tandem's tables in that schema, so several tandem databases can share one server
// database.
func Open(ctx context.Context, rawURL string) (*DB, error) {
	shown := Redact(rawURL)
	cfg, err := pgxpool.ParseConfig(rawURL)
	if err != nil {
		return nil, fmt.Errorf("open database %s: %w", shown, err)
	}
	if cfg.MaxConns < 8 {
		cfg.MaxConns = 8
	}
	if cfg.ConnConfig.ConnectTimeout == 0 {
		cfg.ConnConfig.ConnectTimeout = 10 * time.Second
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open database %s: %w", shown, err)
	}
	d := &DB{pool: pool, url: shown, wakeSubs: map[chan struct{}]struct{}{}}
	var schema *string
	if err := pool.QueryRow(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
		pool.Close()
		return nil, fmt.Errorf("open database %s: %w", shown, err)
	}
	if schema == nil {
		pool.Close()
		return nil, fmt.Errorf("open database %s: the search_path names no schema that exists; create it first (CREATE SCHEMA ...)", shown)
	}
	d.channel = "tandem_wake_" + *schema
	if err := d.migrate(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("open database %s: %w", shown, err)
	}
	return d, nil
}

// Close stops the wake-up listener and closes every connection.
func (d *DB) Close() error {
	d.wakeMu.Lock()
	stop, done := d.stopWake, d.wakeDone
	d.wakeMu.Unlock()
	if stop != nil {
		stop()
		<-done
	}
	d.pool.Close()
	return nil
}

// Location is the database's URL with the password hidden.
func (d *DB) Location() string { return d.url }

// ErrSchemaNewer is returned by Open for a database a newer tandem has migrated.
var ErrSchemaNewer = errors.New("the database was written by a newer tandem")

// migrate applies the embedded migrations not yet recorded, all in one transaction under an
// advisory lock, so processes starting together migrate once.
func (d *DB) migrate(ctx context.Context) error {
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return err
	}
	sort.Strings(names)
	known := 0
	versions := make([]int, len(names))
	for i, name := range names {
		v, err := strconv.Atoi(strings.SplitN(path.Base(name), "_", 2)[0])
		if err != nil {
			return fmt.Errorf("migration %s: name must start with a number", name)
		}
		versions[i], known = v, max(known, v)
	}
	return pgx.BeginFunc(ctx, d.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('tandem migrate ' || current_schema()))`); err != nil {
			return fmt.Errorf("lock for migrations: %w", err)
		}
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
			version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)`); err != nil {
			return fmt.Errorf("create schema_migrations: %w", err)
		}
		var have *int
		if err := tx.QueryRow(ctx, `SELECT max(version) FROM schema_migrations`).Scan(&have); err != nil {
			return fmt.Errorf("read schema version: %w", err)
		}
		if have != nil && *have > known {
			return fmt.Errorf("%w (schema version %d, this binary knows up to %d); use that tandem, or upgrade this one",
				ErrSchemaNewer, *have, known)
		}
		for i, name := range names {
			if have != nil && versions[i] <= *have {
				continue
			}
			body, err := migrations.ReadFile(name)
			if err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, string(body)); err != nil {
				return fmt.Errorf("migration %s: %w", path.Base(name), err)
			}
			if _, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)`,
				versions[i], path.Base(name), time.Now().UnixMilli()); err != nil {
				return fmt.Errorf("migration %s: %w", path.Base(name), err)
			}
		}
		return nil
	})
}

// CheckIntegrity reports broken links in the log: events of runs the index lacks, index rows
// pointing past their log, seqs ahead of the counter. The server guards its own pages.
func (d *DB) CheckIntegrity(ctx context.Context) ([]string, error) {
	var problems []string
	checks := []struct{ what, query string }{
		{"runs whose last_seq is past their log", `SELECT count(*) FROM runs r WHERE r.last_seq > 0 AND NOT EXISTS (SELECT 1 FROM events e WHERE e.seq = r.last_seq AND e.run_id = r.id)`},
		{"events beyond the seq counter", `SELECT count(*) FROM events WHERE seq > (SELECT last FROM event_seq)`},
	}
	for _, c := range checks {
		var n int64
		if err := d.pool.QueryRow(ctx, c.query).Scan(&n); err != nil {
			return nil, fmt.Errorf("check integrity: %w", err)
		}
		if n > 0 {
			problems = append(problems, fmt.Sprintf("%d %s", n, c.what))
		}
	}
	return problems, nil
}

func ms(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func fromMS(v *int64) time.Time {
	if v == nil || *v == 0 {
		return time.Time{}
	}
	return time.UnixMilli(*v)
}

func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
