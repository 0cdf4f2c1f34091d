package agents

import (
	"io/fs"
	"path/filepath"
	"sort"
	"strings"
)

// Small models invent paths ("notes.txt" for corpus/notes.txt, or the task's words). When a
// workspace is small, read_file and list_dir take their path from an enum of the entries
// that exist, so the grammar (and a native model reading the schema) can only name a real
// one. The enum is recomputed before each turn, so a file written by write_file can be read
// on the next.

// maxPathEnum is the largest workspace whose entries are offered as an enum; above it the
// path stays a free string.
const maxPathEnum = 64

// entries lists the workspace's visible files and directories as slash paths relative to
// its root, directories with "." first. ok is false when the workspace has more than
// maxPathEnum entries or cannot be read. Hidden entries (.tandem, .git) are left out, and
// so is anything the workspace would refuse to open.
func (w Workspace) entries() (files, dirs []string, ok bool) {
	root, err := filepath.EvalSymlinks(w.Root)
	if err != nil {
		return nil, nil, false
	}
	dirs = []string{"."}
	n := 0
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == root {
			return nil
		}
		if strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if n++; n > maxPathEnum {
			return fs.SkipAll
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		// Offer only what the tools would open: the workspace's policy refuses tandem's own
		// files (its state, databases, flow and agent definitions) and links leading out.
		if d.IsDir() {
			if _, err := w.listDir(rel); err != nil {
				return filepath.SkipDir
			}
			dirs = append(dirs, rel)
		} else if _, err := w.readFile(rel, 4096); err == nil {
			files = append(files, rel)
		}
		return nil
	})
	if err != nil || n > maxPathEnum {
		return nil, nil, false
	}
	sort.Strings(files)
	sort.Strings(dirs[1:])
	return files, dirs, true
}

// pathEnumParams is a path-argument schema whose path must be one of choices; with no
// choices (or too many entries) it is the free-string schema base.
func pathEnumParams(base map[string]any, choices []string, ok bool) map[string]any {
	if !ok || len(choices) == 0 {
		return base
	}
	props, _ := base["properties"].(map[string]any)
	path, _ := props["path"].(map[string]any)
	enum := make([]any, len(choices))
	for i, c := range choices {
		enum[i] = c
	}
	p := map[string]any{}
	for k, v := range path {
		p[k] = v
	}
	p["enum"] = enum
	out := map[string]any{}
	for k, v := range base {
		out[k] = v
	}
	newProps := map[string]any{}
	for k, v := range props {
		newProps[k] = v
	}
	newProps["path"] = p
	out["properties"] = newProps
	return out
}
