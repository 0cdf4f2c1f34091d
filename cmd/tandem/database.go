package main

import (
	"context"
	"os"
	"path/filepath"

	"tandem/agents"
	"tandem/engine"
	"tandem/store"
	"tandem/store/postgres"
)

// database is what the commands need of a store, whichever one --db names: the engine's
// interfaces, the tail the workbench follows, agents' memory, and a little administration
// (sessions, the integrity check, tandem db copy).
type database interface {
	engine.Store
	engine.Tail
	agents.Memory
	Sessions(ctx context.Context) ([]store.SessionInfo, error)
	CheckIntegrity(ctx context.Context) ([]string, error)
	store.CopySource
	store.CopyTarget
	// Location names the database in messages (a file's path, a URL without its password).
	Location() string
	Close() error
}

var (
	_ database = (*store.DB)(nil)
	_ database = (*postgres.DB)(nil)
)

// openDatabase opens a PostgreSQL database for a postgres:// URL and a SQLite file for
// anything else.
func openDatabase(ctx context.Context, ref, sync string) (database, error) {
	if postgres.IsURL(ref) {
		return postgres.Open(ctx, ref)
	}
	return store.Open(ctx, ref, store.Options{Synchronous: sync})
}

// workspaceDir is where the log lives: beside a SQLite file, or in ./.tandem for a server.
func workspaceDir(ref string) string {
	if postgres.IsURL(ref) {
		_ = os.MkdirAll(".tandem", 0o700)
		return ".tandem"
	}
	return filepath.Dir(ref)
}
