package store_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"tandem/engine"
	"tandem/internal/mediatest"
	"tandem/store"
)

// writeRun writes a run with a few events to the database at path and returns it open.
func writeRun(t *testing.T, path string) *store.DB {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	info := engine.RunInfo{ID: "r1", FlowName: "f", FlowPath: "f.yaml", Status: engine.RunStatusRunning, CreatedAt: now}
	if err := db.CreateRun(ctx, info, engine.Event{RunID: "r1", Type: engine.RunStarted, Time: now}); err != nil {
		t.Fatal(err)
	}
	if err := db.Append(ctx, []engine.Event{
		{RunID: "r1", Type: engine.StepStarted, StepID: "a", Attempt: 1, Time: now},
		{RunID: "r1", Type: engine.StepSucceeded, StepID: "a", Attempt: 1, Time: now, Data: []byte(`{"output":"hi"}`)},
	}); err != nil {
		t.Fatal(err)
	}
	return db
}

func snapshot(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		files[e.Name()] = b
	}
	return files
}

func TestADatabaseOnAReadOnlyMediumCanBeRead(t *testing.T) {
	for _, c := range []struct {
		name string
		// left returns the database files as the writer left them in dir.
		left func(t *testing.T, dir string)
	}{
		{"closed cleanly (no -wal or -shm to read)", func(t *testing.T, dir string) {
			_ = writeRun(t, filepath.Join(dir, "tandem.db")).Close()
		}},
		{"left by a writer that never closed (its -wal holds the events)", func(t *testing.T, dir string) {
			src := t.TempDir()
			db := writeRun(t, filepath.Join(src, "tandem.db"))
			t.Cleanup(func() { _ = db.Close() })
			for _, name := range []string{"tandem.db", "tandem.db-wal", "tandem.db-shm"} {
				b, err := os.ReadFile(filepath.Join(src, name))
				if err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
					t.Fatal(err)
				}
			}
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			ctx := context.Background()
			dir, seal := mediatest.ReadOnlyDir(t)
			c.left(t, dir)
			seal()
			before := snapshot(t, dir)
			path := filepath.Join(dir, "tandem.db")
			db, err := store.Open(ctx, path, store.Options{})
			if err != nil {
				t.Fatalf("open a read-only database: %v", err)
			}
			defer db.Close()
			if !db.ReadOnly() {
				t.Fatal("the database on a read-only medium was not opened read-only")
			}
			runs, err := db.Runs(ctx, engine.RunQuery{})
			if err != nil || len(runs) != 1 || runs[0].ID != "r1" {
				t.Fatalf("runs: %+v, %v", runs, err)
			}
			evs, err := db.Events(ctx, "r1", 0)
			if err != nil {
				t.Fatal(err)
			}
			if st := engine.Fold(evs); len(evs) != 3 || st.Steps["a"].Output != "hi" {
				t.Fatalf("events: %d, step a: %+v", len(evs), st.Steps["a"])
			}
			err = db.Append(ctx, []engine.Event{{RunID: "r1", Type: engine.CancelRequested, Time: time.Now()}})
			if !errors.Is(err, store.ErrReadOnly) {
				t.Fatalf("a write to a read-only database: %v, want ErrReadOnly", err)
			}
			_ = db.Close()
			after := snapshot(t, dir)
			for name, b := range before {
				if !bytes.Equal(after[name], b) {
					t.Fatalf("%s changed", name)
				}
			}
			if len(after) != len(before) {
				t.Fatalf("files %d before, %d after", len(before), len(after))
			}
		})
	}
}

func TestAReadOnlyOpenWritesNothingEvenWhereItCould(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "tandem.db")
	_ = writeRun(t, path).Close()
	before, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(ctx, path, store.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	if evs, err := db.Events(ctx, "r1", 0); err != nil || len(evs) != 3 {
		t.Fatalf("events: %d, %v", len(evs), err)
	}
	if err := db.Append(ctx, []engine.Event{{RunID: "r1", Type: engine.CancelRequested, Time: time.Now()}}); !errors.Is(err, store.ErrReadOnly) {
		t.Fatalf("append: %v, want ErrReadOnly", err)
	}
	_ = db.Close()
	after, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(before, after) {
		t.Fatal("a read-only open changed the database file")
	}
	if _, err := store.Open(ctx, filepath.Join(t.TempDir(), "missing.db"), store.Options{ReadOnly: true}); err == nil {
		t.Fatal("a read-only open created a database")
	}
}
