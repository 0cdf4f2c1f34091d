package telemetry_test

import (
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	coltrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	common "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"tandem/telemetry"
)

// collector stands in for an OpenTelemetry collector's OTLP/HTTP receiver. It decodes each
// export with the generated types of opentelemetry-proto: protobuf bodies with proto, JSON
// ones with protojson (the protobuf JSON mapping OTLP/JSON is defined by), refusing unknown
// fields. Trace and span IDs are hex in OTLP/JSON, not base64: protojson reads such a string
// as base64 bytes, so fromHex turns them back into the IDs that were sent.
type collector struct {
	mu       sync.Mutex
	requests []*coltrace.ExportTraceServiceRequest
	types    []string // each request's Content-Type
	headers  []http.Header
	reply    func(n int, w http.ResponseWriter) bool // answers the nth request itself when it returns true
}

func newCollector(t *testing.T) (*collector, *httptest.Server) {
	t.Helper()
	c := &collector{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.mu.Lock()
		n := len(c.headers)
		c.headers = append(c.headers, r.Header.Clone())
		reply := c.reply
		c.mu.Unlock()
		if reply != nil && reply(n, w) {
			return
		}
		ct := r.Header.Get("Content-Type")
		if r.Method != http.MethodPost || r.URL.Path != "/v1/traces" || (ct != "application/json" && ct != "application/x-protobuf") {
			http.Error(w, "want a POST of application/x-protobuf or application/json to /v1/traces", http.StatusBadRequest)
			return
		}
		var body io.Reader = r.Body
		if r.Header.Get("Content-Encoding") == "gzip" {
			gz, err := gzip.NewReader(r.Body)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			body = gz
		}
		b, err := io.ReadAll(body)
		var req coltrace.ExportTraceServiceRequest
		if err == nil && ct == "application/json" {
			if err = protojson.Unmarshal(b, &req); err == nil {
				err = fromHex(&req)
			}
		} else if err == nil {
			err = proto.Unmarshal(b, &req)
		}
		if err != nil {
			http.Error(w, "bad export: "+err.Error(), http.StatusBadRequest)
			return
		}
		c.mu.Lock()
		c.requests = append(c.requests, &req)
		c.types = append(c.types, ct)
		c.mu.Unlock()
		w.Header().Set("Content-Type", ct)
		if ct == "application/json" {
			_, _ = io.WriteString(w, `{}`)
		}
	}))
	t.Cleanup(srv.Close)
	return c, srv
}

func (c *collector) spans() []*tracepb.Span {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []*tracepb.Span
	for _, r := range c.requests {
		for _, rs := range r.ResourceSpans {
			for _, ss := range rs.ScopeSpans {
				out = append(out, ss.Spans...)
			}
		}
	}
	return out
}

// fromHex turns the IDs protojson read as base64 back into the bytes their hex text says.
func fromHex(req *coltrace.ExportTraceServiceRequest) error {
	var err error
	id := func(b *[]byte) {
		if len(*b) == 0 {
			return
		}
		var e error
		if *b, e = hex.DecodeString(base64.StdEncoding.EncodeToString(*b)); e != nil {
			err = fmt.Errorf("an ID that is not hex: %w", e)
		}
	}
	for _, rs := range req.ResourceSpans {
		for _, ss := range rs.ScopeSpans {
			for _, s := range ss.Spans {
				id(&s.TraceId)
				id(&s.SpanId)
				id(&s.ParentSpanId)
				for _, l := range s.Links {
					id(&l.TraceId)
					id(&l.SpanId)
				}
			}
		}
	}
	return err
}

func gotID(b []byte) string { return hex.EncodeToString(b) }

func exporterFor(srv *httptest.Server) *telemetry.OTLPExporter {
	return telemetry.NewOTLPExporter(telemetry.OTLPConfig{URL: srv.URL + "/v1/traces", RetryWait: time.Millisecond})
}

func TestSpansReachACollectorAsOTLPProtobufOrJSON(t *testing.T) {
	for _, tc := range []struct {
		json bool
		want string
	}{{false, "application/x-protobuf"}, {true, "application/json"}} {
		t.Run(tc.want, func(t *testing.T) {
			col, srv := newCollector(t)
			ended := record(t, telemetry.NewOTLPExporter(telemetry.OTLPConfig{URL: srv.URL + "/v1/traces", JSON: tc.json}))
			if len(col.types) == 0 || col.types[0] != tc.want {
				t.Fatalf("sent as %v, want %s", col.types, tc.want)
			}
			checkSpans(t, col, ended)
		})
	}
}

// record makes two spans, a parent and a child with every kind of attribute, an event, a
// link and an error status, and returns them as the SDK ended them.
func record(t *testing.T, exp sdktrace.SpanExporter) []sdktrace.ReadOnlySpan {
	t.Helper()
	rec := tracetest.NewSpanRecorder()
	res := resource.NewSchemaless(attribute.String("service.name", "svc"))
	tp := sdktrace.NewTracerProvider(sdktrace.WithResource(res), sdktrace.WithSpanProcessor(rec),
		sdktrace.WithSpanProcessor(sdktrace.NewSimpleSpanProcessor(exp)))
	tracer := tp.Tracer("tandem", trace.WithInstrumentationVersion("1.2"))
	ctx, parent := tracer.Start(context.Background(), "run f")
	linked := trace.NewSpanContext(trace.SpanContextConfig{TraceID: trace.TraceID{9}, SpanID: trace.SpanID{8}, Remote: true})
	_, child := tracer.Start(ctx, "step a", trace.WithSpanKind(trace.SpanKindClient),
		trace.WithLinks(trace.Link{SpanContext: linked, Attributes: []attribute.KeyValue{attribute.String("why", "fork")}}))
	child.SetAttributes(attribute.String("s", "ünïcode \"quoted\"\n"), attribute.Int64("i", math.MinInt64),
		attribute.Float64("f", 0.25), attribute.Float64("nan", math.NaN()), attribute.Float64("inf", math.Inf(-1)),
		attribute.Bool("b", true), attribute.StringSlice("ss", []string{"stop", "length"}), attribute.Int64Slice("is", []int64{1, 1 << 60}),
		attribute.BoolSlice("bs", []bool{false}), attribute.Float64Slice("fs", []float64{1.5}))
	child.AddEvent("tool_call", trace.WithAttributes(attribute.String("tandem.detail", "ls")))
	child.SetStatus(codes.Error, "exit 3")
	child.End()
	parent.End()
	if err := tp.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	return rec.Ended()
}

// checkSpans holds what the collector decoded to the spans the SDK ended (record's two).
func checkSpans(t *testing.T, col *collector, ended []sdktrace.ReadOnlySpan) {
	t.Helper()
	got := col.spans()
	if len(got) != 2 || len(ended) != 2 {
		t.Fatalf("the collector got %d spans, the SDK ended %d", len(got), len(ended))
	}
	col.mu.Lock()
	rs := col.requests[0].ResourceSpans[0]
	col.mu.Unlock()
	if v := rs.Resource.Attributes[0]; v.Key != "service.name" || v.Value.GetStringValue() != "svc" {
		t.Errorf("resource attributes = %v", rs.Resource.Attributes)
	}
	if s := rs.ScopeSpans[0].Scope; s.Name != "tandem" || s.Version != "1.2" {
		t.Errorf("scope = %v", s)
	}
	for i, want := range ended {
		s := got[i]
		if s.Name != want.Name() {
			t.Fatalf("span %d is %q, want %q", i, s.Name, want.Name())
		}
		sc := want.SpanContext()
		if gotID(s.TraceId) != sc.TraceID().String() || gotID(s.SpanId) != sc.SpanID().String() {
			t.Errorf("%s: ids %s/%s, want %s/%s", s.Name, gotID(s.TraceId), gotID(s.SpanId), sc.TraceID(), sc.SpanID())
		}
		if p := want.Parent().SpanID(); p.IsValid() != (len(s.ParentSpanId) > 0) || (p.IsValid() && gotID(s.ParentSpanId) != p.String()) {
			t.Errorf("%s: parent %q, want %v", s.Name, gotID(s.ParentSpanId), p)
		}
		if s.StartTimeUnixNano != uint64(want.StartTime().UnixNano()) || s.EndTimeUnixNano != uint64(want.EndTime().UnixNano()) {
			t.Errorf("%s: times %d..%d, want %v..%v", s.Name, s.StartTimeUnixNano, s.EndTimeUnixNano, want.StartTime(), want.EndTime())
		}
		if s.Flags != 0x101 {
			t.Errorf("%s: flags %#x, want sampled with a known local parent (0x101)", s.Name, s.Flags)
		}
	}
	run, step := got[0], got[1]
	if run.Name != "run f" {
		run, step = step, run
	}
	if run.Kind != tracepb.Span_SPAN_KIND_INTERNAL || step.Kind != tracepb.Span_SPAN_KIND_CLIENT {
		t.Errorf("kinds %v, %v", run.Kind, step.Kind)
	}
	if step.Status.Code != tracepb.Status_STATUS_CODE_ERROR || step.Status.Message != "exit 3" || run.Status.Code != tracepb.Status_STATUS_CODE_UNSET {
		t.Errorf("statuses: step %v, run %v", step.Status, run.Status)
	}
	attrs := map[string]*common.AnyValue{}
	for _, kv := range step.Attributes {
		attrs[kv.Key] = kv.Value
	}
	if attrs["s"].GetStringValue() != "ünïcode \"quoted\"\n" || attrs["i"].GetIntValue() != math.MinInt64 ||
		attrs["f"].GetDoubleValue() != 0.25 || !math.IsNaN(attrs["nan"].GetDoubleValue()) || !math.IsInf(attrs["inf"].GetDoubleValue(), -1) ||
		!attrs["b"].GetBoolValue() {
		t.Errorf("scalar attributes: %v", step.Attributes)
	}
	if a := attrs["ss"].GetArrayValue().GetValues(); len(a) != 2 || a[1].GetStringValue() != "length" {
		t.Errorf("string slice: %v", a)
	}
	if a := attrs["is"].GetArrayValue().GetValues(); len(a) != 2 || a[1].GetIntValue() != 1<<60 {
		t.Errorf("int slice: %v", a)
	}
	if a := attrs["bs"].GetArrayValue().GetValues(); len(a) != 1 || a[0].GetValue() == nil || a[0].GetBoolValue() {
		t.Errorf("bool slice: %v", a)
	}
	if a := attrs["fs"].GetArrayValue().GetValues(); len(a) != 1 || a[0].GetDoubleValue() != 1.5 {
		t.Errorf("float slice: %v", a)
	}
	if len(step.Events) != 1 || step.Events[0].Name != "tool_call" || step.Events[0].Attributes[0].Value.GetStringValue() != "ls" ||
		step.Events[0].TimeUnixNano == 0 {
		t.Errorf("events: %v", step.Events)
	}
	if len(step.Links) != 1 || gotID(step.Links[0].TraceId) != hex.EncodeToString([]byte{9, 15: 0}) ||
		step.Links[0].Flags != 0x300 || step.Links[0].Attributes[0].Key != "why" {
		t.Errorf("links: %v", step.Links)
	}
}

func TestAThrottledCollectorIsRetried(t *testing.T) {
	col, srv := newCollector(t)
	col.reply = func(n int, w http.ResponseWriter) bool {
		if n < 2 {
			w.Header().Set("Retry-After", "0")
			http.Error(w, "busy", []int{http.StatusServiceUnavailable, http.StatusTooManyRequests}[n])
			return true
		}
		return false
	}
	record(t, exporterFor(srv))
	if n := len(col.spans()); n != 2 || len(col.headers) != 4 {
		t.Fatalf("the collector got %d spans in %d requests, want 2 in 4 (two refused, then one per span)", n, len(col.headers))
	}
}

func TestExportFailuresSayWhatTheCollectorSaid(t *testing.T) {
	for _, tc := range []struct {
		name     string
		status   int
		body     string
		want     string
		requests int
	}{
		{"a refusal is not retried", http.StatusBadRequest, "bad field", "400 Bad Request: bad field", 1},
		{"an unavailable collector is retried until the retry budget is spent", http.StatusBadGateway, "", "502 Bad Gateway: (empty)", 0},
		{"a partial success names the rejected spans", http.StatusOK, `{"partialSuccess":{"rejectedSpans":"1","errorMessage":"too old"}}`, "rejected 1 spans: too old", 1},
		{"a partial success in protobuf too", http.StatusOK, partialProto(t, 3, "over quota"), "rejected 3 spans: over quota", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			col, srv := newCollector(t)
			col.reply = func(_ int, w http.ResponseWriter) bool {
				w.Header().Set("Content-Type", "application/json")
				if !strings.HasPrefix(tc.body, "{") {
					w.Header().Set("Content-Type", "application/x-protobuf")
				}
				w.WriteHeader(tc.status)
				_, _ = io.WriteString(w, tc.body)
				return true
			}
			exp := telemetry.NewOTLPExporter(telemetry.OTLPConfig{URL: srv.URL + "/v1/traces", RetryWait: time.Millisecond, RetryFor: 50 * time.Millisecond})
			spans := record(t, tracetest.NewInMemoryExporter())
			err := exp.ExportSpans(context.Background(), spans)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one with %q", err, tc.want)
			}
			if n := len(col.headers); (tc.requests > 0 && n != tc.requests) || (tc.requests == 0 && n < 2) {
				t.Errorf("%d requests", n)
			}
		})
	}
}

func TestAnExportEndsWithItsContext(t *testing.T) {
	col, srv := newCollector(t)
	release := make(chan struct{})
	t.Cleanup(func() { close(release) }) // before srv.Close, which waits for the handler
	arrived := make(chan struct{})
	col.reply = func(int, http.ResponseWriter) bool { close(arrived); <-release; return true }
	exp := exporterFor(srv)
	spans := record(t, tracetest.NewInMemoryExporter())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- exp.ExportSpans(ctx, spans) }()
	<-arrived
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("export error %v, want context.Canceled", err)
	}
}

func TestTheEnvironmentConfiguresTheExport(t *testing.T) {
	col, srv := newCollector(t)
	env := map[string]string{
		"OTEL_EXPORTER_OTLP_ENDPOINT":           srv.URL + "/",
		"OTEL_EXPORTER_OTLP_HEADERS":            "Authorization=Bearer%20abc, x-tenant = t1,broken",
		"OTEL_EXPORTER_OTLP_TRACES_COMPRESSION": "gzip",
		"OTEL_EXPORTER_OTLP_TIMEOUT":            "soon",
		"OTEL_EXPORTER_OTLP_PROTOCOL":           "grpc", // overridden by the traces one
		"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL":    "http/json",
	}
	cfg, ignored, err := telemetry.OTLPConfigFromEnv(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if cfg.URL != srv.URL+"/v1/traces" || !cfg.Gzip || cfg.Timeout != 0 || !cfg.JSON {
		t.Errorf("config %+v", cfg)
	}
	if len(ignored) != 2 || !strings.Contains(ignored[0].Error(), `"broken"`) || !strings.Contains(ignored[1].Error(), "OTEL_EXPORTER_OTLP_TIMEOUT") {
		t.Errorf("ignored %v, want the header without = and the timeout", ignored)
	}
	cfg.RetryWait = time.Millisecond
	record(t, telemetry.NewOTLPExporter(cfg))
	if len(col.spans()) != 2 {
		t.Fatalf("the collector got %d spans (a gzipped body it could not read?)", len(col.spans()))
	}
	h := col.headers[0]
	if h.Get("Authorization") != "Bearer abc" || h.Get("X-Tenant") != "t1" || h.Get("Content-Encoding") != "gzip" || h.Get("Content-Type") != "application/json" {
		t.Errorf("headers %v", h)
	}
	env = map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": srv.URL, "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}
	cfg, ignored, _ = telemetry.OTLPConfigFromEnv(func(k string) string { return env[k] })
	if cfg.JSON || len(ignored) != 1 || !strings.Contains(ignored[0].Error(), "http/protobuf") {
		t.Errorf("grpc: JSON %v, ignored %v; want protobuf over HTTP and a note", cfg.JSON, ignored)
	}
}

func TestEndpointsFollowTheOTLPRules(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  map[string]string
		url  string
		err  string
	}{
		{"a base endpoint gets the traces path", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318"}, "http://c:4318/v1/traces", ""},
		{"a base endpoint's own path is kept", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "https://c/otlp/"}, "https://c/otlp/v1/traces", ""},
		{"a traces endpoint is used as it is", map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://c:4318/in"}, "http://c:4318/in", ""},
		{"a traces endpoint with no path gets /", map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://c"}, "http://c/", ""},
		{"a traces endpoint wins", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://a", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://b/t"}, "http://b/t", ""},
		{"an endpoint without a scheme is refused", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "localhost:4318"}, "", "is not an http or https URL"},
		{"no endpoint is refused", map[string]string{}, "", "no endpoint"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, _, err := telemetry.OTLPConfigFromEnv(func(k string) string { return tc.env[k] })
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil || cfg.URL != tc.url {
				t.Fatalf("URL %q (%v), want %q", cfg.URL, err, tc.url)
			}
		})
	}
}

func TestAShutDownExporterSendsNothing(t *testing.T) {
	col, srv := newCollector(t)
	exp := exporterFor(srv)
	if err := exp.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := exp.ExportSpans(context.Background(), record(t, tracetest.NewInMemoryExporter())); err == nil || len(col.headers) != 0 {
		t.Fatalf("export after shutdown: %v, %d requests", err, len(col.headers))
	}
}

func partialProto(t *testing.T, rejected int64, msg string) string {
	t.Helper()
	b, err := proto.Marshal(&coltrace.ExportTraceServiceResponse{PartialSuccess: &coltrace.ExportTracePartialSuccess{RejectedSpans: rejected, ErrorMessage: msg}})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
