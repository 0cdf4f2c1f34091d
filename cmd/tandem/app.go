package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"go.opentelemetry.io/otel"

	"tandem/agents"
	"tandem/agents/model"
	"tandem/engine"
	"tandem/engine/modelsteps"
	"tandem/flows"
	"tandem/store"
	"tandem/telemetry"
)

// common holds the flags every command that touches the database shares.
type common struct {
	db         string
	sync       string
	parallel   int
	allowShell bool
	allowHTTP  bool
	allowMCP   multiFlag
	// ask decides shell calls without --allow-shell: the workbench asks its person. Headless
	// commands leave it nil, so they refuse.
	ask agents.Approver
}

func (c *common) register(fs *flag.FlagSet) {
	def := os.Getenv("TANDEM_DB")
	if def == "" {
		def = store.DefaultPath
	}
	fs.StringVar(&c.db, "db", def, "database file (env TANDEM_DB)")
	sync := os.Getenv("TANDEM_SYNC")
	if sync == "" {
		sync = store.SyncFull
	}
	fs.StringVar(&c.sync, "sync", sync, "SQLite synchronous mode: FULL survives power loss, NORMAL process crashes (env TANDEM_SYNC)")
	fs.BoolVar(&c.allowShell, "allow-shell", false, "let agents use the shell tool without asking")
	fs.BoolVar(&c.allowHTTP, "allow-http", false, "let agents use the http_get tool")
	fs.Var(&c.allowMCP, "allow-mcp", "let agents call the tools of MCP server `NAME` without asking (repeatable)")
}

func (c *common) registerParallel(fs *flag.FlagSet) {
	fs.IntVar(&c.parallel, "parallel", 0, "steps run at once per run (default: number of CPUs)")
}

// env is a wired-up engine over the workspace's database.
type env struct {
	db     *store.DB
	engine *engine.Engine
	log    *slog.Logger
	close  func()
}

// openRun opens the workspace and finds a run by id or unique prefix. A run that is not
// there, or a prefix that fits several, is the caller's mistake (exit 2).
func (c *common) openRun(ctx context.Context, ref string) (*env, engine.RunInfo, error) {
	e, err := c.open(ctx)
	if err != nil {
		return nil, engine.RunInfo{}, err
	}
	info, err := e.db.Run(ctx, ref)
	if err != nil {
		e.close()
		if errors.Is(err, engine.ErrRunNotFound) || errors.Is(err, engine.ErrAmbiguousRun) {
			err = usageError{err}
		}
		return nil, engine.RunInfo{}, err
	}
	return e, info, nil
}

// open wires the store, the logger and the engine with every step executor this binary has.
func (c *common) open(ctx context.Context) (*env, error) {
	sync := strings.ToUpper(c.sync)
	if sync != store.SyncFull && sync != store.SyncNormal {
		return nil, usagef("--sync %s: want FULL or NORMAL", c.sync)
	}
	var lease time.Duration
	if v := os.Getenv("TANDEM_LEASE"); v != "" {
		var err error
		if lease, err = time.ParseDuration(v); err != nil || lease <= 0 {
			return nil, usagef("TANDEM_LEASE=%s: want a positive duration such as 15s", v)
		}
	}
	db, err := store.Open(ctx, c.db, store.Options{Synchronous: sync})
	if err != nil {
		return nil, err
	}
	logger, closeLog := openLog(filepath.Dir(c.db))
	eng, err := engine.New(engine.Options{Store: db, Parallel: c.parallel, Logger: logger, Lease: lease})
	if err != nil {
		_ = db.Close()
		closeLog()
		return nil, err
	}
	// llm: and agent: steps use the local Ollama server ($OLLAMA_HOST) and $TANDEM_MODEL.
	ollama, err := model.FromEnvironment()
	if err != nil {
		_ = db.Close()
		closeLog()
		return nil, usageError{err}
	}
	stalls, err := model.StallTimeoutsFromEnvironment()
	if err != nil {
		_ = db.Close()
		closeLog()
		return nil, usageError{err}
	}
	// A server that accepts a call and then goes quiet fails the attempt (retryable)
	// instead of holding the step forever.
	guarded := model.WithStallTimeouts(ollama, stalls)
	eng.Register(flows.KindLLM, modelsteps.LLMExecutor{Model: guarded, DefaultModel: model.DefaultModel()})
	tools := modelsteps.ToolOptions{AllowHTTP: c.allowHTTP, Approve: c.ask, Protected: protectedFiles(c.db), AllowMCP: c.allowMCP}
	if c.allowShell {
		tools.Approve = func(context.Context, string, map[string]any) bool { return true }
	}
	eng.Register(flows.KindAgent, modelsteps.AgentExecutor{Engine: eng, Tools: tools,
		Runner: &agents.Runner{Model: guarded, Caps: ollama, Memory: db, DefaultModel: model.DefaultModel()}})
	stopTelemetry := startTelemetry(ctx, eng, logger)
	return &env{db: db, engine: eng, log: logger, close: func() { stopTelemetry(); _ = db.Close(); closeLog() }}, nil
}

// startTelemetry exports runs as OpenTelemetry traces when OTEL_EXPORTER_OTLP_ENDPOINT (or
// ..._TRACES_ENDPOINT) is set. Export problems go to the log, never to the terminal, and
// never stop a run; the returned func flushes for at most a few seconds.
func startTelemetry(ctx context.Context, eng *engine.Engine, logger *slog.Logger) func() {
	if !telemetry.Enabled() {
		return func() {}
	}
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) { logger.Warn("telemetry export failed", "error", err) }))
	exp, err := telemetry.Start(ctx, eng.Bus(), logger)
	if err != nil {
		fmt.Fprintf(stderr, "tandem: OpenTelemetry export is off: %v (check OTEL_EXPORTER_OTLP_ENDPOINT)\n", err)
		return func() {}
	}
	return func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := exp.Shutdown(sctx); err != nil {
			logger.Warn("telemetry flush failed", "error", err)
		}
	}
}

// protectedFiles are the database and its journals, which agent tools may never touch.
func protectedFiles(db string) []string {
	abs, err := filepath.Abs(db)
	if err != nil {
		abs = db
	}
	return []string{abs, abs + "-wal", abs + "-shm", abs + "-journal", filepath.Join(filepath.Dir(abs), "tandem.log")}
}

// openLog opens the structured log file next to the database; logs never go to the terminal.
func openLog(dir string) (*slog.Logger, func()) {
	f, err := os.OpenFile(filepath.Join(dir, "tandem.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return slog.New(slog.NewTextHandler(io.Discard, nil)), func() {}
	}
	if st, err := f.Stat(); err == nil && st.Mode().Perm()&0o077 != 0 {
		_ = f.Chmod(0o600) // logs quote prompts and outputs; an older tandem made them 0644
	}
	return slog.New(slog.NewJSONHandler(f, &slog.HandlerOptions{Level: slog.LevelInfo})), func() { _ = f.Close() }
}

// parseFlags parses a command's flags; -h prints usage and exits 0, mistakes exit 2.
func parseFlags(fs *flag.FlagSet, args []string) error {
	fs.SetOutput(os.Stderr)
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return exitError{code: exitOK}
		}
		return exitError{code: exitUsage}
	}
	return nil
}

// interspersed lets flags follow positional arguments (`tandem run f.yaml -i k=v`).
func interspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := parseFlags(fs, args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// multiFlag collects repeated -i key=value flags.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }
