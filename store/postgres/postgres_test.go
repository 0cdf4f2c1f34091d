package postgres_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"

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

// A team database from before runs had a session (schema 1) is migrated on the next open:
// each chat or ask turn gets the session its run_started inputs name, other runs none.
func TestMigratingAnOlderDatabaseGivesItsChatTurnsTheirSession(t *testing.T) {
	ctx := context.Background()
	u := pgtest.URL(t)
	db, err := postgres.Open(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	storetest.CreateChatTurnsOfOldSchema(ctx, t, db)
	_ = db.Close()
	c, err := pgx.Connect(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{`ALTER TABLE runs DROP COLUMN session`, `DELETE FROM schema_migrations WHERE version = 2`} {
		if _, err := c.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	_ = c.Close(ctx)

	db, err = postgres.Open(ctx, u)
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
