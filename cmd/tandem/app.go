package main

import (
	"context"
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
	"tandem/agents/ollama"
	"tandem/engine"
	"tandem/engine/modelsteps"
	"tandem/flows"
	"tandem/store"
	"tandem/store/postgres"
	"tandem/telemetry"
)

// env is a wired-up engine over the workspace's database.
type env struct {
	db     database
	engine *engine.Engine
	log    *slog.Logger
	close  func()
}

// open wires the store, the logger and the engine with every step executor this binary has.
func (c *app) open(ctx context.Context) (*env, error) {
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
	db, err := openDatabase(ctx, c.db, sync)
	if err != nil {
		return nil, err
	}
	logger, closeLog := openLog(workspaceDir(c.db))
	eng, err := engine.New(engine.Options{Store: db, Parallel: c.parallel, Logger: logger, Lease: lease})
	if err != nil {
		_ = db.Close()
		closeLog()
		return nil, err
	}
	// llm: and agent: steps use the local Ollama server ($OLLAMA_HOST) and $TANDEM_MODEL.
	ollama, err := ollama.FromEnvironment()
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
	retries, err := model.RetryPolicyFromEnvironment()
	if err != nil {
		_ = db.Close()
		closeLog()
		return nil, usageError{err}
	}
	// A server that accepts a call and then goes quiet fails the attempt (retryable)
	// instead of holding the step forever; one that cannot be reached yet is tried again
	// for a bounded time, each wait shown in the step's trace.
	guarded := model.WithRetry(model.WithStallTimeouts(ollama, stalls), retries)
	eng.Register(flows.KindLLM, modelsteps.LLMExecutor{Model: guarded, DefaultModel: model.DefaultModel()})
	tools := modelsteps.ToolOptions{AllowHTTP: c.agent.allowHTTP, Approve: c.ask, Protected: protectedFiles(c.db), AllowMCP: c.agent.allowMCP}
	if c.agent.allowShell {
		tools.Approve = func(context.Context, string, map[string]any) bool { return true }
	}
	eng.Register(flows.KindAgent, modelsteps.AgentExecutor{Engine: eng, Tools: tools,
		Runner: &agents.Runner{Model: guarded, Caps: ollama, Memory: db, DefaultModel: model.DefaultModel()}})
	stopTelemetry := startTelemetry(eng, logger)
	return &env{db: db, engine: eng, log: logger, close: func() { stopTelemetry(); _ = db.Close(); closeLog() }}, nil
}

// startTelemetry exports runs as OpenTelemetry traces when OTEL_EXPORTER_OTLP_ENDPOINT (or
// ..._TRACES_ENDPOINT) is set. Export problems go to the log, never to the terminal, and
// never stop a run; the returned func flushes for at most a few seconds.
func startTelemetry(eng *engine.Engine, logger *slog.Logger) func() {
	if !telemetry.Enabled() {
		return func() {}
	}
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) { logger.Warn("telemetry export failed", "error", err) }))
	exp, err := telemetry.Start(eng.Bus(), logger)
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

// protectedFiles are the database and its journals, which agent tools may never touch (a
// server's database is out of their reach; its log is not).
func protectedFiles(db string) []string {
	if postgres.IsURL(db) {
		abs, _ := filepath.Abs(filepath.Join(workspaceDir(db), "tandem.log"))
		return []string{abs}
	}
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
