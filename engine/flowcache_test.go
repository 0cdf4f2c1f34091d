package engine

import (
	"fmt"
	"path/filepath"
	"testing"

	"tandem/flows"
)

func TestTheFlowCacheReturnsTheFlowAStartRemembered(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f.yaml")
	src := "name: f\nsteps:\n  - id: a\n    shell: 'true'\n"
	f, err := flows.Parse(path, []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	var c flowCache
	c.remember(f)
	if got, err := c.parse(f.Path, src); err != nil || got != f {
		t.Fatalf("parse after remember = %p, %v; want the remembered %p", got, err, f)
	}
	other, err := c.parse(f.Path, src+"  - id: b\n    shell: 'true'\n")
	if err != nil || other == f || len(other.Steps) != 2 {
		t.Fatalf("another source gave %+v, %v", other, err)
	}
	if _, err := c.parse(f.Path, "name: [broken"); err == nil {
		t.Fatal("a broken source parsed")
	}
	for i := 0; i < 3*flowCacheSize; i++ {
		if _, err := c.parse(path, fmt.Sprintf("name: f%d\nsteps:\n  - id: a\n    shell: 'true'\n", i)); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(c.flows); n > flowCacheSize {
		t.Fatalf("the cache holds %d flows, more than %d", n, flowCacheSize)
	}
}
