// Package storelist is the list of stores every engine scenario runs on, shared by the test
// packages that run scenarios (engine, engine/modelsteps). A new store joins them all by
// adding its constructor to All.
package storelist

import (
	"context"
	"path/filepath"
	"testing"

	"tandem/engine"
	"tandem/engine/memstore"
	"tandem/internal/pgtest"
	"tandem/store"
	"tandem/store/postgres"
)

// Store names a store and makes a fresh, empty one for one test, closed when the test ends.
type Store struct {
	Name string
	Open func(t testing.TB) engine.Store
}

// All are the stores scenarios run on: the in-memory one, SQLite (a real file) and PostgreSQL
// (the test server of internal/pgtest, a schema of its own per test).
var All = []Store{
	{"memstore", func(t testing.TB) engine.Store { return memstore.New() }},
	{"sqlite", func(t testing.TB) engine.Store {
		db, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "tandem.db"), store.Options{Synchronous: store.SyncNormal})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = db.Close() })
		return db
	}},
	{"postgres", func(t testing.TB) engine.Store {
		db, err := postgres.Open(context.Background(), pgtest.URL(t))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = db.Close() })
		return db
	}},
}

// Each runs a scenario once on each store of All, as a subtest named for the store.
func Each(t *testing.T, scenario func(t *testing.T, open func(testing.TB) engine.Store)) {
	t.Helper()
	for _, s := range All {
		t.Run(s.Name, func(t *testing.T) { scenario(t, s.Open) })
	}
}
