package engine

import (
	"os"
	"os/exec"
	"path/filepath"
	"sync"
)

// lookPaths caches where PATH resolves a command name, keyed by PATH and name: a flow of a
// thousand `run: ["true"]` steps searches PATH once, not a thousand times. Only successful
// lookups are kept, so a command installed later is found; a cached binary removed later
// fails to start, as it would have.
var lookPaths sync.Map // lookKey -> string

type lookKey struct{ path, name string }

// lookPath is exec.LookPath with successful lookups cached. A name with a slash in it is a
// path (relative ones to the step's directory) and is not looked up. A name PATH does not
// resolve gives exec.LookPath's *exec.Error.
func lookPath(name string) (string, error) {
	if filepath.Base(name) != name {
		return name, nil
	}
	key := lookKey{os.Getenv("PATH"), name}
	if p, ok := lookPaths.Load(key); ok {
		return p.(string), nil
	}
	p, err := exec.LookPath(name)
	if err != nil {
		return "", err
	}
	if filepath.IsAbs(p) {
		lookPaths.Store(key, p)
	}
	return p, nil
}
