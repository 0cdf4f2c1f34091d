package postgres_test

import (
	"context"
	"testing"

	"tandem/engine"
	"tandem/engine/storetest"
	"tandem/internal/pgtest"
	"tandem/store/postgres"
)

func open(t *testing.T) *postgres.DB {
	t.Helper()
	db, err := postgres.Open(context.Background(), pgtest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

func TestPostgresConforms(t *testing.T) {
	storetest.Run(t, func(t *testing.T) engine.Store { return open(t) })
}
