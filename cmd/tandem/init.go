package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"tandem/examples"
)

func runInit(pos []string) error {
	dir := "."
	if len(pos) == 1 {
		dir = pos[0]
	}
	files, err := exampleFiles()
	if err != nil {
		return fmt.Errorf("list the example workspace: %w", err)
	}
	// Check every file first so a refusal writes nothing.
	var existing []string
	for _, name := range files {
		if _, err := os.Lstat(filepath.Join(dir, filepath.FromSlash(name))); err == nil {
			existing = append(existing, name)
		} else if !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("check %s: %w", filepath.Join(dir, name), err)
		}
	}
	if len(existing) > 0 {
		shown := existing
		if len(shown) > 5 {
			shown = append(shown[:5:5], fmt.Sprintf("and %d more", len(existing)-5))
		}
		return usagef("%s already has files the example workspace would overwrite (%s); nothing was written: choose an empty or new directory, e.g. tandem init tandem-examples",
			dir, strings.Join(shown, ", "))
	}
	for _, name := range files {
		if err := writeExample(dir, name); err != nil {
			return err
		}
	}
	fmt.Fprintf(stdout, "wrote the example workspace (%d files) to %s\n\n", len(files), dir)
	printNextSteps(dir)
	return nil
}

// exampleFiles lists the embedded workspace's files, slash-separated, in walk order.
func exampleFiles() ([]string, error) {
	var files []string
	err := fs.WalkDir(examples.FS, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			files = append(files, p)
		}
		return nil
	})
	return files, err
}

// writeExample writes one embedded file under dir; O_EXCL keeps even a file created since
// the check from being overwritten.
func writeExample(dir, name string) error {
	b, err := examples.FS.ReadFile(name)
	if err != nil {
		return fmt.Errorf("read example %s: %w", name, err)
	}
	dst := filepath.Join(dir, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return fmt.Errorf("create %s: %w", filepath.Dir(dst), err)
	}
	f, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		if errors.Is(err, fs.ErrExist) {
			return usagef("%s appeared while writing the workspace; it was left as it is", dst)
		}
		return fmt.Errorf("write %s: %w", dst, err)
	}
	if _, err := f.Write(b); err != nil {
		_ = f.Close()
		return fmt.Errorf("write %s: %w", dst, err)
	}
	return f.Close()
}

func printNextSteps(dir string) {
	fmt.Fprintln(stdout, "  content.yaml  research (agent) → draft → edit (llm) → approval → publish")
	fmt.Fprintln(stdout, "  triage.yaml   a model picks a process (schema-constrained); each process is a sub-flow")
	fmt.Fprintln(stdout, "  batch.yaml    no model: map fan-out, a step that succeeds on retry, a wait for an event")
	fmt.Fprintln(stdout, "  debug.yaml    an agent that loops until the loop detector stops it")
	fmt.Fprintln(stdout, "\nnext:")
	if dir != "." {
		fmt.Fprintf(stdout, "  cd %s\n", dir)
	}
	fmt.Fprintln(stdout, "  tandem doctor                  # is Ollama up, is the model there? (TANDEM_MODEL, default qwen2.5-coder:0.5b)")
	fmt.Fprintln(stdout, "  tandem run batch.yaml          # needs no model; then tandem signal RUN publish")
	fmt.Fprintln(stdout, "  tandem run content.yaml        # then tandem inbox, tandem approve RUN review")
	fmt.Fprintln(stdout, "  tandem run triage.yaml -i ticket=triage/tickets/technical.txt")
	fmt.Fprintln(stdout, "  tandem run debug.yaml          # then tandem trace RUN")
	fmt.Fprintln(stdout, "  README.md walks through each one")
}
