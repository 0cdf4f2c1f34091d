package engine_test

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

// opener makes a fresh, empty store for one test.
type opener func(t *testing.T) engine.Store

// stores are the stores every engine scenario runs on. A new store joins by adding its
// constructor here.
var stores = []struct {
	name string
	open opener
}{
	{"memstore", func(t *testing.T) engine.Store { return memstore.New() }},
	{"sqlite", func(t *testing.T) engine.Store {
		db, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "tandem.db"), store.Options{Synchronous: store.SyncNormal})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = db.Close() })
		return db
	}},
	// PostgreSQL on the test server (internal/pgtest): a schema of its own per test.
	{"postgres", func(t *testing.T) engine.Store {
		db, err := postgres.Open(context.Background(), pgtest.URL(t))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = db.Close() })
		return db
	}},
}

// onEveryStore runs a scenario once on each of stores, as a subtest named for the store.
func onEveryStore(t *testing.T, scenario func(t *testing.T, open opener)) {
	t.Helper()
	for _, sc := range stores {
		t.Run(sc.name, func(t *testing.T) { scenario(t, sc.open) })
	}
}
