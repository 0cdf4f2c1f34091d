package memstore_test

import (
	"testing"

	"tandem/engine"
	"tandem/engine/memstore"
	"tandem/engine/storetest"
)

func TestMemstoreConforms(t *testing.T) {
	storetest.Run(t, func(t *testing.T) engine.Store { return memstore.New() })
}
