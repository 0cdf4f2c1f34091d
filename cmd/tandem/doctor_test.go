package main_test

import (
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"tandem/agents/model"
)

func TestDoctorSaysHowToStartAServerThatIsDown(t *testing.T) {
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := l.Addr().String()
	l.Close()
	w := newWorkspace(t)
	t.Setenv("OLLAMA_HOST", addr)
	out, _, code := w.tandem("doctor")
	if code != 1 || !strings.Contains(out, "✗ server") || !strings.Contains(out, "ollama serve") {
		t.Fatalf("exit %d\n%s", code, out)
	}
}

func TestDoctorSaysHowToGetAMissingModel(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/api/version":
			w.Write([]byte(`{"version":"0.17.4"}`))
		default:
			w.WriteHeader(http.StatusNotFound)
			w.Write([]byte(`{"error":"model 'smollm2:135m' not found"}`))
		}
	}))
	defer srv.Close()
	w := newWorkspace(t)
	t.Setenv("OLLAMA_HOST", srv.URL)
	t.Setenv("TANDEM_MODEL", "")
	out, _, code := w.tandem("doctor")
	if code != 1 || !strings.Contains(out, "✓ server") || !strings.Contains(out, "Ollama 0.17.4") ||
		!strings.Contains(out, "ollama pull "+model.DefaultAgentModel) {
		t.Fatalf("exit %d\n%s", code, out)
	}
}

func TestDoctorChecksTheDatabaseIntegrity(t *testing.T) {
	w := newWorkspace(t)
	out, _, _ := w.tandem("doctor")
	if !strings.Contains(out, "✓ database") || !strings.Contains(out, "none yet") {
		t.Fatalf("before any run:\n%s", out)
	}
	w.write("ok.yaml", "name: ok\nsteps:\n  - id: a\n    shell: echo a\n")
	if _, errOut, code := w.tandem("run", "ok.yaml"); code != 0 {
		t.Fatalf("run: %s", errOut)
	}
	out, _, _ = w.tandem("doctor")
	if !strings.Contains(out, "✓ database") || !strings.Contains(out, "integrity ok") {
		t.Fatalf("after a run:\n%s", out)
	}
}

// A server built from source (go install, as scripts/ollama-setup does) reports 0.0.0: doctor
// says what that means instead of printing a version no release has.
func TestDoctorSaysAServerBuiltFromSourceHasNoVersion(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/version" {
			w.Write([]byte(`{"version":"0.0.0"}`))
			return
		}
		w.WriteHeader(http.StatusNotFound)
		w.Write([]byte(`{"error":"model 'smollm2:135m' not found"}`))
	}))
	defer srv.Close()
	w := newWorkspace(t)
	t.Setenv("OLLAMA_HOST", srv.URL)
	out, _, _ := w.tandem("doctor")
	if !strings.Contains(out, "Ollama (built from source, no version) at") || strings.Contains(out, "0.0.0") {
		t.Fatalf("doctor on a from-source server:\n%s", out)
	}
}
