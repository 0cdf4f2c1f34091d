package modelsteps_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"tandem/engine"
	"tandem/flows"
	"tandem/internal/storelist"
)

// harness is an engine over a fresh store and a directory for flow and agent files.
type harness struct {
	t     *testing.T
	dir   string
	store engine.Store
	eng   *engine.Engine
}

// opener makes a fresh, empty store for one test; every scenario runs on each store of
// internal/storelist through onEveryStore.
type opener = func(t testing.TB) engine.Store

func onEveryStore(t *testing.T, scenario func(t *testing.T, open opener)) {
	t.Helper()
	storelist.Each(t, scenario)
}

func newHarness(t *testing.T, open opener) *harness {
	t.Helper()
	s := open(t)
	e, err := engine.New(engine.Options{Store: s, Parallel: 4, PollEvery: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return &harness{t: t, dir: t.TempDir(), store: s, eng: e}
}

// flow writes a flow file and loads it.
func (h *harness) flow(name, src string) *flows.Flow {
	h.t.Helper()
	h.file(name, src)
	f, err := flows.Load(filepath.Join(h.dir, name))
	if err != nil {
		h.t.Fatalf("load %s: %v", name, err)
	}
	return f
}

// file writes a file into the harness's directory.
func (h *harness) file(name, src string) {
	h.t.Helper()
	if err := os.WriteFile(filepath.Join(h.dir, name), []byte(src), 0o644); err != nil {
		h.t.Fatal(err)
	}
}

// run starts and executes a flow to its end.
func (h *harness) run(f *flows.Flow, inputs map[string]string) *engine.State {
	h.t.Helper()
	ctx := context.Background()
	in, err := flows.ResolveInputs(f, inputs)
	if err != nil {
		h.t.Fatal(err)
	}
	id, err := h.eng.Start(ctx, f, in, engine.StartOptions{})
	if err != nil {
		h.t.Fatal(err)
	}
	st, err := h.eng.Execute(ctx, id)
	if err != nil {
		h.t.Fatalf("execute: %v", err)
	}
	return st
}
