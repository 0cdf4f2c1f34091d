package agents

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"tandem/flows"
)

// Workspace confines file tools to a directory and keeps tandem's own files out of reach.
// Every file operation goes through os.Root, so no path (through "..", an absolute name or a
// symlink, dangling or not) reaches outside Root. Inside it, tandem's state (any .tandem
// directory, SQLite databases, the paths in Protected) and its flow and agent definitions are
// refused: an agent that could read them would see every prompt and input, and one that could
// write them would choose what the next run executes or grant itself tools.
type Workspace struct {
	Root string
	// Protected are further absolute paths (files or directories) the tools refuse, such as
	// the run database when it lives under Root with an unusual name.
	Protected []string
	// Seen, when set, records the files this agent run read or wrote, and write_file refuses
	// to replace an existing file that is not in it (see SeenFiles). One per agent run.
	Seen *SeenFiles
}

// ErrProtected is the error a file tool returns for a path the workspace policy refuses.
var ErrProtected = errors.New("protected by tandem")

// ErrNotRead is the error write_file returns for an existing file the run has not read.
var ErrNotRead = errors.New("an existing file is only replaced after reading it")

// sqliteMagic starts every SQLite database file.
var sqliteMagic = []byte("SQLite format 3\x00")

// rel turns the model's path into a clean path relative to the workspace root, refusing
// names that leave it lexically.
func (w Workspace) rel(p string) (string, error) {
	if p == "" {
		p = "."
	}
	if filepath.IsAbs(p) {
		r, err := filepath.Rel(w.Root, p)
		if err != nil || r == ".." || strings.HasPrefix(r, ".."+string(filepath.Separator)) {
			if real, rerr := filepath.EvalSymlinks(w.Root); rerr == nil {
				r, err = filepath.Rel(real, p)
			}
		}
		if err != nil {
			return "", fmt.Errorf("%s is outside the workspace; only files under %s are allowed", p, w.Root)
		}
		p = r
	}
	p = filepath.Clean(p)
	if p == ".." || strings.HasPrefix(p, ".."+string(filepath.Separator)) {
		return "", fmt.Errorf("%s is outside the workspace; only files under %s are allowed", p, w.Root)
	}
	return p, nil
}

// check applies the policy to a workspace-relative path, both as named and as its symlinks
// resolve inside the workspace.
func (w Workspace) check(rel string) error {
	names := []string{filepath.Join(w.Root, rel)}
	if real, err := w.realPath(rel); err == nil {
		names = append(names, real)
	}
	var protected []string
	for _, p := range w.Protected {
		protected = append(protected, p)
		if real, err := filepath.EvalSymlinks(p); err == nil {
			protected = append(protected, real)
		}
	}
	for _, name := range names {
		for _, part := range strings.Split(filepath.ToSlash(name), "/") {
			if part == ".tandem" {
				return fmt.Errorf("%s: %w: .tandem/ holds tandem's run database and logs, which agent tools may not touch", rel, ErrProtected)
			}
		}
		for _, p := range protected {
			if within(name, p) {
				return fmt.Errorf("%s: %w: agent tools may not touch tandem's own files", rel, ErrProtected)
			}
		}
	}
	return nil
}

// realPath resolves symlinks of an existing path, or of the directory of a new one.
func (w Workspace) realPath(rel string) (string, error) {
	joined := filepath.Join(w.Root, rel)
	if real, err := filepath.EvalSymlinks(joined); err == nil {
		return real, nil
	}
	dir, err := filepath.EvalSymlinks(filepath.Dir(joined))
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, filepath.Base(joined)), nil
}

func within(name, dir string) bool {
	return name == dir || strings.HasPrefix(name, dir+string(filepath.Separator))
}

// refuseContent refuses files whose bytes show they are tandem's: a SQLite database, or a
// flow or agent definition.
func refuseContent(rel string, content []byte) error {
	if bytes.HasPrefix(content, sqliteMagic) {
		return fmt.Errorf("%s: %w: it is a database, which agent tools may not touch", rel, ErrProtected)
	}
	if isYAMLName(rel) && flows.IsDefinition(content) {
		return fmt.Errorf("%s: %w: it is a tandem flow or agent definition, which agent tools may not read or change", rel, ErrProtected)
	}
	return nil
}

func isYAMLName(p string) bool {
	ext := strings.ToLower(filepath.Ext(p))
	return ext == ".yaml" || ext == ".yml"
}

// openRoot opens the workspace root for confined access.
func (w Workspace) openRoot() (*os.Root, error) {
	r, err := os.OpenRoot(w.Root)
	if err != nil {
		return nil, fmt.Errorf("open workspace %s: %w", w.Root, err)
	}
	return r, nil
}

// confined rewrites os.Root's escape errors into words a model can act on.
func (w Workspace) confined(p string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("%s: no such file or directory in the workspace", p)
	}
	if strings.Contains(err.Error(), "escapes") {
		return fmt.Errorf("%s is outside the workspace (a link leading out of it); only files under %s are allowed", p, w.Root)
	}
	return err
}

// enter applies the policy to the model's path and opens the workspace root; the caller
// closes the root.
func (w Workspace) enter(p string) (string, *os.Root, error) {
	rel, err := w.rel(p)
	if err != nil {
		return "", nil, err
	}
	if err := w.check(rel); err != nil {
		return "", nil, err
	}
	root, err := w.openRoot()
	if err != nil {
		return "", nil, err
	}
	return rel, root, nil
}

// open opens an existing workspace file or directory for reading.
func (w Workspace) open(p string) (string, *os.File, error) {
	rel, root, err := w.enter(p)
	if err != nil {
		return "", nil, err
	}
	defer root.Close()
	f, err := root.Open(rel)
	if err != nil {
		return "", nil, w.confined(p, err)
	}
	return rel, f, nil
}

// readFile reads at most limit+1 bytes of a workspace file.
func (w Workspace) readFile(p string, limit int64) ([]byte, error) {
	rel, f, err := w.open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.IsDir() {
		return nil, fmt.Errorf("%s is a directory; use list_dir", p)
	}
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if err := refuseContent(rel, b); err != nil {
		return nil, err
	}
	w.Seen.add(rel)
	return b, nil
}

// writeFile replaces a workspace file's content, creating it when new.
func (w Workspace) writeFile(p string, content []byte) error {
	rel, root, err := w.enter(p)
	if err != nil {
		return err
	}
	defer root.Close()
	if old, err := root.Open(rel); err == nil {
		b, rerr := io.ReadAll(io.LimitReader(old, 1<<20))
		old.Close()
		if rerr == nil {
			if err := refuseContent(rel, b); err != nil {
				return err
			}
		}
		if !w.Seen.has(rel) {
			return fmt.Errorf("%s exists and this run has not read it: %w; read it first, or write to a new file", p, ErrNotRead)
		}
	}
	if err := refuseContent(rel, content); err != nil {
		return err
	}
	f, err := root.OpenFile(rel, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("%s: directory does not exist", p)
		}
		return w.confined(p, err)
	}
	if _, err := f.Write(content); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	w.Seen.add(rel)
	return nil
}

// listDir lists a workspace directory's entries.
func (w Workspace) listDir(p string) ([]os.DirEntry, error) {
	_, f, err := w.open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return f.ReadDir(-1)
}
