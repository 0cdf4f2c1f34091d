package store_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"tandem/engine"
	"tandem/store"
)

func mode(t *testing.T, p string) os.FileMode {
	t.Helper()
	st, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	return st.Mode().Perm()
}

func TestTheDatabaseIsReadableByItsOwnerOnly(t *testing.T) {
	t.Run("a new workspace", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), ".tandem")
		path := filepath.Join(dir, "tandem.db")
		db, err := store.Open(context.Background(), path, store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		ev := engine.Event{RunID: "r1", Type: engine.RunStarted, Status: engine.RunStatusRunning}
		info := engine.RunInfo{ID: "r1", FlowName: "f", Status: engine.RunStatusRunning}
		if err := db.CreateRun(context.Background(), info, ev); err != nil {
			t.Fatal(err)
		}
		if m := mode(t, dir); m != 0o700 {
			t.Errorf(".tandem is %o, want 700", m)
		}
		for _, p := range []string{path, path + "-wal", path + "-shm"} {
			if m := mode(t, p); m&0o077 != 0 {
				t.Errorf("%s is %o, want no access for group and others", filepath.Base(p), m)
			}
		}
	})
	t.Run("a workspace an older tandem made world-readable", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), ".tandem")
		path := filepath.Join(dir, "tandem.db")
		db, err := store.Open(context.Background(), path, store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		db.Close()
		if err := os.Chmod(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(path, 0o644); err != nil {
			t.Fatal(err)
		}
		db, err = store.Open(context.Background(), path, store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if m := mode(t, dir); m != 0o700 {
			t.Errorf(".tandem is %o after reopening, want 700", m)
		}
		if m := mode(t, path); m != 0o600 {
			t.Errorf("the database is %o after reopening, want 600", m)
		}
	})
}
