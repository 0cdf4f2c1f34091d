package ui

import (
	"context"
	"os"
	"path/filepath"

	"tandem/engine"
	"tandem/eval"
	"tandem/flows"
)

// runTwoCaseSuite writes suite (two cases) into the app's directory as evals.yaml and runs
// it to its end with the app's engine.
func (a *chatApp) runTwoCaseSuite(suite string) *eval.Report {
	a.t.Helper()
	path := filepath.Join(a.dir, "evals.yaml")
	os.WriteFile(path, []byte(suite), 0o644)
	s, err := eval.Parse(path, []byte(suite))
	if err != nil {
		a.t.Fatal(err)
	}
	rep, err := (&eval.Runner{Engine: a.m.opts.Engine, WorkDir: a.t.TempDir()}).Start(context.Background(), s, eval.Options{})
	if err != nil || len(rep.Cells) != 2 {
		a.t.Fatalf("%+v %v", rep, err)
	}
	return rep
}

// runHello runs the app's hello.yaml to its end and returns the run's id.
func (a *chatApp) runHello() string {
	a.t.Helper()
	hello, err := flows.Load(filepath.Join(a.dir, "hello.yaml"))
	if err != nil {
		a.t.Fatal(err)
	}
	e := a.m.opts.Engine
	id, err := e.Start(context.Background(), hello, nil, engine.StartOptions{})
	if err == nil {
		_, err = e.Execute(context.Background(), id)
	}
	if err != nil {
		a.t.Fatal(err)
	}
	return id
}
