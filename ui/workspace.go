package ui

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	tea "charm.land/bubbletea/v2"
	"github.com/fsnotify/fsnotify"
	"go.yaml.in/yaml/v3"

	"tandem/flows"
)

// The workspace's flow and agent files are found in its folder and every subfolder (but
// tandem's own, version control's and dependency folders), listed by folder, and watched:
// a file added, changed or removed while the workbench is open is listed again at once.

// skipDir reports whether a folder of the workspace is never searched for flows.
func skipDir(name string) bool {
	if strings.HasPrefix(name, ".") { // .tandem, .git, .venv, editors' folders
		return true
	}
	switch name {
	case "vendor", "node_modules", "__pycache__", "venv", "testdata":
		return true
	}
	return false
}

// isFlowFile reports whether a file name is one a flow or agent may be in.
func isFlowFile(name string) bool {
	ext := filepath.Ext(name)
	return (ext == ".yaml" || ext == ".yml") && !strings.HasPrefix(name, ".") // hidden: the chat's per-model agent copies, editor files
}

// LoadFlows returns a command that loads every flow and agent file under dir; files that do
// not load are listed with their errors.
func LoadFlows(dir string) tea.Cmd {
	return func() tea.Msg { return FlowsLoadedMsg{Flows: loadFlows(dir)} }
}

func loadFlows(dir string) []FlowEntry {
	var paths []string
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		switch {
		case err != nil:
			return nil // an unreadable folder: list what can be read
		case d.IsDir() && p != dir && skipDir(d.Name()):
			return filepath.SkipDir
		case !d.IsDir() && isFlowFile(d.Name()):
			paths = append(paths, p)
		}
		return nil
	})
	// Top-level files first, then each folder's, by name.
	sort.Slice(paths, func(i, j int) bool {
		di, dj := filepath.Dir(paths[i]), filepath.Dir(paths[j])
		if (di == dir) != (dj == dir) {
			return di == dir
		}
		return paths[i] < paths[j]
	})
	out := make([]FlowEntry, 0, len(paths))
	for _, p := range paths {
		if e, ok := loadEntry(dir, p); ok {
			out = append(out, e)
		}
	}
	return out
}

// loadEntry loads the flow or agent at path p of workspace dir. A file in a subfolder that
// is neither (an eval suite, data) is left out; at the top every YAML file is listed, so a
// flow with a mistake in its keys still shows why it does not load.
func loadEntry(dir, p string) (FlowEntry, bool) {
	rel, err := filepath.Rel(dir, p)
	if err != nil {
		rel = p
	}
	e := FlowEntry{Path: p, Name: strings.TrimSuffix(filepath.Base(p), filepath.Ext(p))}
	if src, err := os.ReadFile(p); err == nil && flows.DefinitionKind(src) == "" && flows.IsDefinition(src) {
		return FlowEntry{}, false // an eval suite: `tandem eval` runs it, its runs are under Evals
	}
	if d := filepath.Dir(rel); d != "." {
		e.Dir = filepath.ToSlash(d)
		src, err := os.ReadFile(p)
		var probe any
		if err != nil || (flows.DefinitionKind(src) == "" && yaml.Unmarshal(src, &probe) == nil) {
			return FlowEntry{}, false
		}
	}
	f, a, err := flows.LoadAny(p)
	switch {
	case err != nil:
		var diags flows.Diagnostics
		if errors.As(err, &diags) {
			e.Err = diags.Error()
		} else {
			e.Err = err.Error()
		}
		e.Err = strings.ReplaceAll(e.Err, p, rel)
	case f != nil:
		e.Flow = f
		if f.Name != "" {
			e.Name = f.Name
		}
	case a != nil:
		e.Agent, e.AgentDef = true, a
		if a.Name != "" {
			e.Name = a.Name
		}
	}
	return e, true
}

// workspaceWatch watches the workspace's folders for flow files that come, change and go.
type workspaceWatch struct {
	w    *fsnotify.Watcher
	dir  string
	stop chan struct{}
}

// workspaceMsg says flow files of the workspace changed; err when the watch failed.
type workspaceMsg struct{ err error }

// newWorkspaceWatch watches dir and its folders; nil when the system cannot watch (the
// workbench then lists the files it found at start).
func newWorkspaceWatch(dir string) *workspaceWatch {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return nil
	}
	ww := &workspaceWatch{w: w, dir: dir, stop: make(chan struct{})}
	ww.addTree(dir)
	return ww
}

// addTree watches folder root and the folders under it that are searched for flows.
func (ww *workspaceWatch) addTree(root string) {
	_ = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return nil
		}
		if p != ww.dir && skipDir(d.Name()) {
			return filepath.SkipDir
		}
		_ = ww.w.Add(p)
		return nil
	})
}

// close stops the watch; a nil watch is already stopped. It is idempotent.
func (ww *workspaceWatch) close() {
	if ww == nil {
		return
	}
	select {
	case <-ww.stop:
	default:
		close(ww.stop)
		_ = ww.w.Close()
	}
}

// wait waits for a change to a flow file or a folder, taking every event already queued
// with it, so a save that writes, renames and chmods lists the files once.
func (ww *workspaceWatch) wait() tea.Msg {
	relevant := func(ev fsnotify.Event) bool {
		if ev.Has(fsnotify.Create) {
			if fi, err := os.Stat(ev.Name); err == nil && fi.IsDir() {
				if !skipDir(filepath.Base(ev.Name)) {
					ww.addTree(ev.Name)
				}
				return true
			}
		}
		return isFlowFile(filepath.Base(ev.Name)) || ev.Has(fsnotify.Remove) || ev.Has(fsnotify.Rename)
	}
	for {
		select {
		case <-ww.stop:
			return nil
		case err, ok := <-ww.w.Errors:
			if !ok {
				return nil
			}
			return workspaceMsg{err: err}
		case ev, ok := <-ww.w.Events:
			if !ok {
				return nil
			}
			if !relevant(ev) {
				continue
			}
			for {
				select {
				case ev, ok := <-ww.w.Events:
					if ok {
						relevant(ev)
						continue
					}
				default:
				}
				return workspaceMsg{}
			}
		}
	}
}

// waitWorkspace waits for the workspace's next change, when it is watched.
func (m Model) waitWorkspace() tea.Cmd {
	if m.watch == nil {
		return nil
	}
	return m.watch.wait
}

// workspaceChanged lists the workspace's files again and waits for the next change.
func (m *Model) workspaceChanged(msg workspaceMsg) tea.Cmd {
	if msg.err != nil {
		m.setStatus(errors.New("watching the workspace: " + msg.err.Error()))
	}
	return tea.Batch(LoadFlows(m.opts.Dir), m.waitWorkspace())
}

// flowsLoaded lists the workspace's files and previews the one under the cursor.
func (m *Model) flowsLoaded(msg FlowsLoadedMsg) {
	m.files = msg.Flows
	m.run.noteDisk(m.files)
	m.sidebar, _ = m.sidebar.Update(msg)
	if e, ok := m.sidebar.SelectedFlow(); ok {
		m.preview(e)
	}
}
