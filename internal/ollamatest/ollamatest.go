// Package ollamatest starts a real `ollama serve` for tests: on a free 127.0.0.1 port, with
// the models scripts/ollama-setup cached, stopped by PID when the tests end. In CI (CI=true)
// a missing Ollama or model fails the test instead of skipping it.
package ollamatest

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Model is the fast model scripts/ollama-setup provides, for tests of the mechanics (the
// tool loop, streaming, guards) that must not wait on a larger model.
const Model = "smollm2:135m"

// AgentModel is tandem's default agent model (model.DefaultAgentModel), which
// scripts/ollama-setup also provides: for tests and benchmarks of agents doing the task.
const AgentModel = "qwen2.5-coder:0.5b"

// Server is a running ollama serve.
type Server struct {
	Host   string // host:port, for OLLAMA_HOST
	URL    string // http://host:port
	Model  string
	models string // the OLLAMA_MODELS directory
	cmd    *exec.Cmd
	exited chan struct{} // closed when the process has exited
	log    *bytes.Buffer
}

var (
	once    sync.Once
	shared  *Server
	initErr error
	skipMsg string
)

// Start returns the package's shared server, starting it on first use. Tests in one binary
// share it because loading a model is slow; call Main from TestMain to stop it.
func Start(t testing.TB) *Server {
	t.Helper()
	once.Do(func() { shared, skipMsg, initErr = start() })
	skipUnless(t, skipMsg, initErr)
	return shared
}

// skipUnless fails the test on err, and skips it (fails it when CI=true) when skip says why
// no server could start.
func skipUnless(t testing.TB, skip string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("ollama: %v", err)
	}
	if skip != "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("ollama: %s (CI=true: a missing Ollama is a failure)", skip)
		}
		t.Skip("ollama: " + skip)
	}
}

// Main runs the tests and then stops the shared server, if one was started.
func Main(m *testing.M) {
	code := m.Run()
	if shared != nil {
		shared.Stop()
	}
	os.Exit(code)
}

// Stop terminates the server (SIGTERM, then SIGKILL).
func (s *Server) Stop() {
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(10 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.exited
	}
}

// Has reports whether the server has the model name (as scripts/ollama-setup imports it).
func (s *Server) Has(name string) bool { return hasModel(s.models, name) }

// Require skips the test (fails it when CI=true) unless the server has the model name.
func (s *Server) Require(t testing.TB, name string) {
	t.Helper()
	if s.Has(name) {
		return
	}
	msg := fmt.Sprintf("model %s is not in %s: run `bash scripts/ollama-setup`", name, s.models)
	if os.Getenv("CI") == "true" {
		t.Fatalf("ollama: %s (CI=true: a missing model is a failure)", msg)
	}
	t.Skip("ollama: " + msg)
}

// Log is what the server printed so far (for failure messages).
func (s *Server) Log() string { return s.log.String() }

// StartAt starts a server of the test's own on host (host:port), for tests of a server that
// comes up late; it is stopped when the test ends. It skips like Start.
func StartAt(t testing.TB, host string) *Server {
	t.Helper()
	s, skip, err := startAt(host)
	skipUnless(t, skip, err)
	t.Cleanup(s.Stop)
	return s
}

// FreeHost is a 127.0.0.1:port nothing listens on now, for a server to be started on later.
func FreeHost(t testing.TB) string {
	t.Helper()
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("127.0.0.1:%d", port)
}

func start() (*Server, string, error) {
	port, err := freePort()
	if err != nil {
		return nil, "", err
	}
	return startAt(fmt.Sprintf("127.0.0.1:%d", port))
}

func startAt(host string) (*Server, string, error) {
	bin, models, err := locate()
	if err != nil {
		return nil, err.Error(), nil
	}
	if !hasModel(models, Model) {
		return nil, fmt.Sprintf("model %s is not in %s: run `bash scripts/ollama-setup`", Model, models), nil
	}
	cmd := exec.Command(bin, "serve")
	cmd.Env = append(os.Environ(), "OLLAMA_HOST="+host, "OLLAMA_MODELS="+models,
		"OLLAMA_KEEP_ALIVE=30m", "OLLAMA_NUM_PARALLEL=2", "OLLAMA_NOPRUNE=1")
	var log bytes.Buffer
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		return nil, "", fmt.Errorf("start %s serve: %w", bin, err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	s := &Server{Host: host, URL: "http://" + host, Model: Model, models: models, cmd: cmd, exited: exited, log: &log}
	deadline := time.Now().Add(60 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.URL+"/api/version", nil)
		resp, err := http.DefaultClient.Do(req)
		cancel()
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s, "", nil
			}
		}
		select {
		case <-exited:
			return nil, "", fmt.Errorf("ollama serve exited at start:\n%s", log.String())
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			return nil, "", fmt.Errorf("ollama serve did not answer within 60s:\n%s", log.String())
		}
	}
}

// locate finds the ollama binary and the models directory scripts/ollama-setup caches.
func locate() (bin, models string, err error) {
	bin, models = os.Getenv("OLLAMA_BIN"), os.Getenv("TANDEM_OLLAMA_MODELS")
	if root, ok := moduleRoot(); ok && (bin == "" || models == "") {
		out, err := exec.Command("bash", filepath.Join(root, "scripts", "ollama-setup"), "--print-env").Output()
		if err == nil {
			sc := bufio.NewScanner(bytes.NewReader(out))
			for sc.Scan() {
				k, v, _ := strings.Cut(sc.Text(), "=")
				if k == "OLLAMA_BIN" && bin == "" {
					if _, err := os.Stat(v); err == nil {
						bin = v
					}
				}
				if k == "OLLAMA_MODELS" && models == "" {
					models = v
				}
			}
		}
	}
	if bin == "" {
		if p, err := exec.LookPath("ollama"); err == nil {
			bin = p
		}
	}
	if bin == "" {
		return "", "", fmt.Errorf("no ollama binary: run `bash scripts/ollama-setup`")
	}
	if models == "" {
		home, _ := os.UserHomeDir()
		models = filepath.Join(home, ".ollama", "models")
	}
	return bin, models, nil
}

func hasModel(dir, model string) bool {
	name, tag, _ := strings.Cut(model, ":")
	_, err := os.Stat(filepath.Join(dir, "manifests", "registry.ollama.ai", "library", name, tag))
	return err == nil
}

func moduleRoot() (string, bool) {
	dir, err := os.Getwd()
	if err != nil {
		return "", false
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, true
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", false
		}
		dir = parent
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
