package engine_test

import (
	"testing"

	"tandem/engine"
	"tandem/internal/storelist"
)

// opener makes a fresh, empty store for one test.
type opener = func(t testing.TB) engine.Store

// stores are the stores every engine scenario runs on (internal/storelist.All).
var stores = storelist.All

// onEveryStore runs a scenario once on each of stores, as a subtest named for the store.
func onEveryStore(t *testing.T, scenario func(t *testing.T, open opener)) {
	t.Helper()
	storelist.Each(t, scenario)
}
