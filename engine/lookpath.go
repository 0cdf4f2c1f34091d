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

// command is exec.Command with PATH lookups cached. argv[0] stays the name as written.
func command(name string, args ...string) *exec.Cmd {
	if filepath.Base(name) != name {
		return exec.Command(name, args...) // a path: nothing to look up
	}
	key := lookKey{os.Getenv("PATH"), name}
	if p, ok := lookPaths.Load(key); ok {
		cmd := exec.Command(p.(string), args...)
		cmd.Args[0] = name
		return cmd
	}
	cmd := exec.Command(name, args...)
	if cmd.Err == nil && filepath.IsAbs(cmd.Path) {
		lookPaths.Store(key, cmd.Path)
	}
	return cmd
}
