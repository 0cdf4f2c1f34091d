package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"tandem/agents"
	"tandem/cmd/tandem/internal/render"
	"tandem/engine"
	"tandem/store"
)

// app holds what every command shares: the persistent --db and --sync, the flags of the
// commands that advance runs or run agents, and --json. Only one command runs per process,
// so the commands bind their flags to these fields.
type app struct {
	db       string
	sync     string
	parallel int
	json     bool
	agent    agentFlags
	// ask decides shell calls without --allow-shell: the workbench asks its person. Headless
	// commands leave it nil, so they refuse.
	ask agents.Approver
}

// agentFlags are the permissions given to agents, on the commands that may run one.
type agentFlags struct {
	allowShell bool
	allowHTTP  bool
	allowMCP   []string
}

// spec describes one command; app.command turns it into a cobra command with the preamble
// every command shares: the usage line, the argument count, --json, the flags of commands
// that advance runs or run agents, opening the workspace, finding the run, closing.
type spec struct {
	use   string // the name and its arguments, as the usage line shows them
	short string
	long  string           // more help, when the short line and the flags do not say it all
	args  func(n int) bool // which argument counts are right (default: exactly the ones use names)
	// json is the help of --json ("" for a command without it).
	json string
	// advances: the command advances runs (--parallel, and the agent flags: a step may be
	// an agent). agent: the command runs an agent itself (the agent flags only).
	advances, agent bool
	complete        completion
	flags           func(f *pflag.FlagSet)
	// Exactly one of run, onDB and onRun: run opens nothing itself; onDB gets the opened
	// workspace; onRun also gets the run its first argument names (an id or unique prefix).
	run   func(ctx context.Context, args []string) error
	onDB  func(ctx context.Context, e *env, args []string) error
	onRun func(ctx context.Context, e *env, run engine.RunInfo, args []string) error
}

// command builds the cobra command of s.
func (a *app) command(s spec) *cobra.Command {
	want := s.args
	if want == nil {
		n := countArgs(s.use)
		want = func(got int) bool { return got == n }
	}
	c := &cobra.Command{
		Use:   s.use,
		Short: s.short,
		Long:  s.long,
		Args: func(c *cobra.Command, args []string) error {
			if !want(len(args)) {
				return usagef("usage: tandem %s", s.use)
			}
			return nil
		},
		ValidArgsFunction: a.completer(s.complete),
		RunE: func(c *cobra.Command, args []string) error {
			ctx := c.Context()
			switch {
			case s.onRun != nil:
				e, info, err := a.openRun(ctx, args[0])
				if err != nil {
					return err
				}
				defer e.close()
				return s.onRun(ctx, e, info, args[1:])
			case s.onDB != nil:
				e, err := a.open(ctx)
				if err != nil {
					return err
				}
				defer e.close()
				return s.onDB(ctx, e, args)
			}
			return s.run(ctx, args)
		},
	}
	f := c.Flags()
	if s.json != "" {
		f.BoolVar(&a.json, "json", false, s.json)
	}
	if s.advances {
		f.IntVar(&a.parallel, "parallel", 0, "steps run at once per run (default: number of CPUs)")
	}
	if s.advances || s.agent {
		f.BoolVar(&a.agent.allowShell, "allow-shell", false, "let agents use the shell tool without asking")
		f.BoolVar(&a.agent.allowHTTP, "allow-http", false, "let agents use the http_get tool")
		f.StringArrayVar(&a.agent.allowMCP, "allow-mcp", nil, "let agents call the tools of MCP server NAME without asking (repeatable)")
	}
	if s.flags != nil {
		s.flags(f)
	}
	return c
}

// countArgs counts the arguments a usage line names before its first flag: "retry RUN STEP
// [--input TEXT]" has two.
func countArgs(use string) int {
	n := 0
	for _, w := range strings.Fields(use)[1:] {
		if strings.HasPrefix(w, "[") || strings.HasPrefix(w, "-") {
			break
		}
		n++
	}
	return n
}

// newRoot builds the whole command tree, with --db and --sync hidden from the help of the
// commands that open no database.
func newRoot() *cobra.Command {
	root := commandTree()
	for _, c := range root.Commands() {
		switch c.Name() {
		case "init", "validate", "man", "completion", "help":
			withoutDB(c)
		}
	}
	return root
}

// commandTree builds every command, with the root's flags on each (the man page's tree).
func commandTree() *cobra.Command {
	a := &app{}
	root := &cobra.Command{
		Use:   "tandem",
		Short: "a terminal workbench for durable flows and local agents",
		Long: "tandem runs flows (durable DAGs of steps) and agents (local Ollama models with tools) " +
			"and keeps every run as an event log in SQLite. With no command it opens the workbench.",
		SilenceUsage: true,
	}
	db := os.Getenv("TANDEM_DB")
	if db == "" {
		db = store.DefaultPath
	}
	sync := os.Getenv("TANDEM_SYNC")
	if sync == "" {
		sync = store.SyncFull
	}
	pf := root.PersistentFlags()
	pf.StringVar(&a.db, "db", db, "path of the SQLite database file, or a postgres:// URL for a team database (env TANDEM_DB)")
	pf.StringVar(&a.sync, "sync", sync, "how SQLite syncs: FULL survives power loss, NORMAL process crashes (env TANDEM_SYNC)")
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.AddGroup(&cobra.Group{ID: "runs", Title: "Runs"}, &cobra.Group{ID: "debug", Title: "Debugging"},
		&cobra.Group{ID: "waits", Title: "Waits"}, &cobra.Group{ID: "agents", Title: "Agents and models"},
		&cobra.Group{ID: "files", Title: "Files and setup"})
	for group, cmds := range map[string][]*cobra.Command{
		"runs":   a.runCommands(),
		"debug":  a.debugCommands(),
		"waits":  a.waitCommands(),
		"agents": a.agentCommands(),
		"files":  append(a.fileCommands(), a.dbCommand()),
	} {
		for _, c := range cmds {
			c.GroupID = group
			root.AddCommand(c)
		}
	}
	ui := a.uiCommand()
	root.AddCommand(ui, manCommand())
	// cobra adds its help and completion commands when the root executes; made now, newRoot can
	// give it the hidden flags too.
	root.InitDefaultHelpCmd()
	root.InitDefaultCompletionCmd()
	root.RunE = func(c *cobra.Command, args []string) error { return ui.RunE(c, args) }
	root.Args = unknownCommand
	root.SuggestionsMinimumDistance = 2
	return root
}

// unknownCommand refuses arguments to tandem itself, as cobra.NoArgs does, but says what
// was probably meant: the command a typo is close to, or tandem run for a flow file.
func unknownCommand(c *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	msg := fmt.Sprintf("unknown command %q for %q", args[0], c.CommandPath())
	if ext := filepath.Ext(args[0]); ext == ".yaml" || ext == ".yml" {
		msg += fmt.Sprintf(" (to run a flow: tandem run %s)", args[0])
	} else if s := c.SuggestionsFor(args[0]); len(s) > 0 {
		msg += fmt.Sprintf(" (did you mean %s?)", strings.Join(s, " or "))
	}
	return errors.New(msg)
}

// openRun opens the workspace and finds a run by id or unique prefix. A run that is not
// there, or a prefix that fits several, is the caller's mistake (exit 2).
func (a *app) openRun(ctx context.Context, ref string) (*env, engine.RunInfo, error) {
	e, err := a.open(ctx)
	if err != nil {
		return nil, engine.RunInfo{}, err
	}
	info, err := e.db.Run(ctx, ref)
	if err != nil {
		e.close()
		return nil, engine.RunInfo{}, runError(ref, err)
	}
	return e, info, nil
}

// runError makes a run that is not there, or a prefix that fits several, a usage error; a
// missing run says where to find the ids rather than the store's wording.
func runError(ref string, err error) error {
	if errors.Is(err, engine.ErrRunNotFound) {
		return usageError{runNotFound{ref}}
	}
	if errors.Is(err, engine.ErrAmbiguousRun) {
		return usageError{err}
	}
	return err
}

// runNotFound is a run id (or prefix) that no run has.
type runNotFound struct{ ref string }

func (e runNotFound) Error() string {
	return fmt.Sprintf("run %q not found: no run id starts with it (tandem runs lists the runs)", e.ref)
}

func (e runNotFound) Unwrap() error { return engine.ErrRunNotFound }

// inputs parses repeated -i key=value flags.
func inputs(kvs []string) (map[string]string, error) {
	given := map[string]string{}
	for _, kv := range kvs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || strings.TrimSpace(k) == "" {
			return nil, usagef("-i %q: want key=value, with the input's name as key", kv)
		}
		given[k] = v
	}
	return given, nil
}

func atLeastOne(n int) bool { return n >= 1 }

// printJSON writes v as indented JSON to the raw stdout (encoding/json escapes control
// characters itself).
func printJSON(v any) error { return render.JSON(os.Stdout, v) }
