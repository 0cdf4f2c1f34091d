package agents

import (
	"path/filepath"
	"sync"
)

// SeenFiles is what one agent run has read or written in its workspace. With it, write_file
// will not replace a file the agent has not looked at: a small model asked to "write the
// port from config/app.toml into port.txt" writes its guess into config/app.toml, and an
// agent of any size overwriting a file it never read destroys what it could not know about.
// (Claude Code's and crush's write tools keep the same rule.) Creating a new file, or
// rewriting one the run read or wrote, is allowed. Safe for concurrent use.
type SeenFiles struct {
	mu    sync.Mutex
	paths map[string]bool
}

// NewSeenFiles returns an empty record, for one agent run.
func NewSeenFiles() *SeenFiles { return &SeenFiles{paths: map[string]bool{}} }

func (s *SeenFiles) add(rel string) {
	if s == nil {
		return
	}
	s.mu.Lock()
	s.paths[filepath.Clean(rel)] = true
	s.mu.Unlock()
}

func (s *SeenFiles) has(rel string) bool {
	if s == nil {
		return true // no record kept: every write is allowed, as before
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.paths[filepath.Clean(rel)]
}
