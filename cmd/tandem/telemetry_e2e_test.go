package main_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	coltrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"
)

// collector receives OTLP/HTTP trace exports, as an OpenTelemetry collector would.
type collector struct {
	mu    sync.Mutex
	spans map[string]map[string]string // span name -> attribute key -> value (as text)
	svc   string
}

func startCollector(t *testing.T) (*httptest.Server, *collector) {
	t.Helper()
	c := &collector{spans: map[string]map[string]string{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var req coltrace.ExportTraceServiceRequest
		if r.URL.Path != "/v1/traces" || proto.Unmarshal(body, &req) != nil {
			http.Error(w, "bad export", http.StatusBadRequest)
			return
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		for _, rs := range req.ResourceSpans {
			for _, kv := range rs.GetResource().GetAttributes() {
				if kv.Key == "service.name" {
					c.svc = kv.GetValue().GetStringValue()
				}
			}
			for _, ss := range rs.ScopeSpans {
				for _, s := range ss.Spans {
					attrs := map[string]string{}
					for _, kv := range s.Attributes {
						attrs[kv.Key] = strings.Trim(kv.GetValue().String(), " ")
					}
					c.spans[s.Name] = attrs
				}
			}
		}
		w.Header().Set("Content-Type", "application/x-protobuf")
		b, _ := proto.Marshal(&coltrace.ExportTraceServiceResponse{})
		w.Write(b)
	}))
	t.Cleanup(srv.Close)
	return srv, c
}

func TestTelemetryExportsARunAsSpans(t *testing.T) {
	srv, col := startCollector(t)
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", srv.URL)
	t.Setenv("OTEL_SERVICE_NAME", "tandem-test")
	w := newWorkspace(t)
	w.write("two.yaml", "name: two\nsteps:\n  - id: a\n    shell: echo a\n  - id: b\n    needs: [a]\n    shell: exit 3\n")
	if _, errOut, code := w.tandem("run", "two.yaml"); code != 1 {
		t.Fatalf("exit %d, want 1 (step b fails)\n%s", code, errOut)
	}
	col.mu.Lock()
	defer col.mu.Unlock()
	for _, name := range []string{"run two", "step a", "step b"} {
		if _, ok := col.spans[name]; !ok {
			t.Fatalf("the collector got %v, want %q", col.spans, name)
		}
	}
	if got := col.spans["step b"]["tandem.step.status"]; !strings.Contains(got, "failed") {
		t.Errorf("step b's status attribute = %q", got)
	}
	if col.svc != "tandem-test" {
		t.Errorf("service.name = %q", col.svc)
	}
}

func TestTelemetryWithTheCollectorDownLosesNothing(t *testing.T) {
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:1")
	t.Setenv("OTEL_EXPORTER_OTLP_TIMEOUT", "500")
	w := newWorkspace(t)
	w.write("one.yaml", "name: one\nsteps:\n  - id: a\n    shell: echo fine\n")
	out, errOut, code := w.tandem("run", "one.yaml")
	if code != 0 || strings.Contains(errOut, "export") {
		t.Fatalf("exit %d: a down collector must not fail the run or write on the terminal\n%s\n%s", code, out, errOut)
	}
	log, _ := os.ReadFile(filepath.Join(w.dir, ".tandem", "tandem.log"))
	if !strings.Contains(string(log), "telemetry") {
		t.Errorf("the export failure is not in the log:\n%s", log)
	}
}
