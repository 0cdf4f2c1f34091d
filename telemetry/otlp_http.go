package telemetry

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// OTLPConfig says where and how an OTLPExporter sends spans.
type OTLPConfig struct {
	URL     string            // where export requests are POSTed, e.g. http://localhost:4318/v1/traces
	Headers map[string]string // sent with every request
	Timeout time.Duration     // for one request; 0 means 10 s
	Gzip    bool              // compress request bodies
	JSON    bool              // send JSON bodies (http/json) instead of protobuf (http/protobuf)
	TLS     *tls.Config       // for https URLs; nil means the system's roots
	// RetryWait is the first wait before a retry of a throttled or unavailable collector
	// (429, 502, 503, 504, or a timeout); it doubles, with jitter, up to 30 s. 0 means 5 s.
	RetryWait time.Duration
	// RetryFor bounds the time one export spends retrying; 0 means a minute.
	RetryFor time.Duration
}

// OTLPConfigFromEnv reads the standard OTEL_EXPORTER_OTLP_* variables through getenv:
// ENDPOINT (a base URL; /v1/traces is added) or TRACES_ENDPOINT (used as it is), PROTOCOL
// (http/protobuf, the default, or http/json), HEADERS, TIMEOUT (milliseconds), COMPRESSION
// (gzip), CERTIFICATE, and CLIENT_CERTIFICATE with CLIENT_KEY, each but the endpoint also
// as TRACES_..., which wins. A value that cannot be used is skipped and reported in ignored
// (grpc among them: spans go over HTTP); an endpoint that is not an http(s) URL is an error.
func OTLPConfigFromEnv(getenv func(string) string) (cfg OTLPConfig, ignored []error, err error) {
	get := func(name string) (string, string) {
		if v := getenv("OTEL_EXPORTER_OTLP_TRACES_" + name); v != "" {
			return v, "OTEL_EXPORTER_OTLP_TRACES_" + name
		}
		return getenv("OTEL_EXPORTER_OTLP_" + name), "OTEL_EXPORTER_OTLP_" + name
	}
	endpoint, name := getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"), "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
	if endpoint == "" {
		endpoint, name = getenv("OTEL_EXPORTER_OTLP_ENDPOINT"), "OTEL_EXPORTER_OTLP_ENDPOINT"
	}
	if endpoint == "" {
		return cfg, nil, errors.New("no endpoint: set OTEL_EXPORTER_OTLP_ENDPOINT")
	}
	u, err := url.Parse(endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return cfg, nil, fmt.Errorf("%s=%q is not an http or https URL (such as http://localhost:4318)", name, endpoint)
	}
	if name == "OTEL_EXPORTER_OTLP_ENDPOINT" {
		u.Path = strings.TrimSuffix(u.Path, "/") + "/v1/traces"
	} else if u.Path == "" {
		u.Path = "/"
	}
	cfg.URL = u.String()

	if v, name := get("HEADERS"); v != "" {
		cfg.Headers = map[string]string{}
		for pair := range strings.SplitSeq(v, ",") {
			k, val, ok := strings.Cut(pair, "=")
			k = strings.TrimSpace(k)
			unescaped, uerr := url.PathUnescape(val)
			switch {
			case !ok || !validHeaderName(k):
				ignored = append(ignored, fmt.Errorf("%s: %q is not name=value", name, pair))
			case uerr != nil:
				ignored = append(ignored, fmt.Errorf("%s: header %s: %w", name, k, uerr))
			default:
				cfg.Headers[k] = strings.TrimSpace(unescaped)
			}
		}
	}
	if v, name := get("PROTOCOL"); v != "" {
		switch v {
		case "http/json":
			cfg.JSON = true
		case "http/protobuf":
		default:
			ignored = append(ignored, fmt.Errorf("%s=%q: spans are sent as http/protobuf (http/json is the other choice)", name, v))
		}
	}
	if v, name := get("TIMEOUT"); v != "" {
		if ms, perr := strconv.Atoi(v); perr != nil || ms < 0 {
			ignored = append(ignored, fmt.Errorf("%s=%q is not a number of milliseconds", name, v))
		} else {
			cfg.Timeout = time.Duration(ms) * time.Millisecond
		}
	}
	if v, name := get("COMPRESSION"); v != "" {
		switch v {
		case "gzip":
			cfg.Gzip = true
		case "none":
		default:
			ignored = append(ignored, fmt.Errorf("%s=%q: only gzip and none are known", name, v))
		}
	}
	tlsCfg := &tls.Config{}
	if v, name := get("CERTIFICATE"); v != "" {
		pool := x509.NewCertPool()
		if pem, rerr := os.ReadFile(v); rerr != nil {
			ignored = append(ignored, fmt.Errorf("%s: %w", name, rerr))
		} else if !pool.AppendCertsFromPEM(pem) {
			ignored = append(ignored, fmt.Errorf("%s: no PEM certificate in %s", name, v))
		} else {
			tlsCfg.RootCAs = pool
		}
	}
	certFile, certName := get("CLIENT_CERTIFICATE")
	keyFile, _ := get("CLIENT_KEY")
	if certFile != "" && keyFile != "" {
		if cert, lerr := tls.LoadX509KeyPair(certFile, keyFile); lerr != nil {
			ignored = append(ignored, fmt.Errorf("%s: %w", certName, lerr))
		} else {
			tlsCfg.Certificates = []tls.Certificate{cert}
		}
	}
	if tlsCfg.RootCAs != nil || tlsCfg.Certificates != nil {
		cfg.TLS = tlsCfg
	}
	return cfg, ignored, nil
}

func validHeaderName(k string) bool {
	if k == "" {
		return false
	}
	for _, c := range k {
		if c >= 0x80 || !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("!#$%&'*+-.^_`|~", c)) {
			return false
		}
	}
	return true
}

// OTLPExporter sends spans to an OpenTelemetry collector as OTLP/HTTP, with protobuf bodies
// (application/x-protobuf) or, when asked, JSON ones (application/json). It is an
// sdktrace.SpanExporter; the SDK's batch processor calls it from one goroutine.
type OTLPExporter struct {
	cfg    OTLPConfig
	client *http.Client
	closed atomic.Bool
}

var _ sdktrace.SpanExporter = (*OTLPExporter)(nil)

// NewOTLPExporter returns an exporter that sends to cfg.URL.
func NewOTLPExporter(cfg OTLPConfig) *OTLPExporter {
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.RetryWait <= 0 {
		cfg.RetryWait = 5 * time.Second
	}
	if cfg.RetryFor <= 0 {
		cfg.RetryFor = time.Minute
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if cfg.TLS != nil {
		tr.TLSClientConfig = cfg.TLS
	}
	return &OTLPExporter{cfg: cfg, client: &http.Client{Transport: tr, Timeout: cfg.Timeout}}
}

// maxResponse bounds how much of a collector's reply is read.
const maxResponse = 64 << 10

// retryable is a failure worth trying again, after at least wait when the collector said so.
type retryable struct {
	err  error
	wait time.Duration
}

func (r retryable) Error() string { return r.err.Error() }
func (r retryable) Unwrap() error { return r.err }

// ExportSpans sends spans in one request, retrying a collector that is throttled or
// unavailable until ctx ends or RetryFor has passed. A collector's partial success (spans
// it rejected) comes back as an error.
func (e *OTLPExporter) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	if e.closed.Load() {
		return errors.New("export spans: the OTLP exporter is shut down")
	}
	if len(spans) == 0 {
		return nil
	}
	req := exportRequest(spans)
	body, contentType := req.marshalProto(), "application/x-protobuf"
	if e.cfg.JSON {
		var err error
		if body, err = json.Marshal(req); err != nil {
			return fmt.Errorf("encode spans: %w", err)
		}
		contentType = "application/json"
	}
	encoding := ""
	if e.cfg.Gzip {
		var b bytes.Buffer
		gz := gzip.NewWriter(&b)
		_, _ = gz.Write(body) // a bytes.Buffer does not fail
		_ = gz.Close()
		body, encoding = b.Bytes(), "gzip"
	}
	start, wait := time.Now(), e.cfg.RetryWait
	for {
		err := e.send(ctx, body, contentType, encoding)
		var r retryable
		if err == nil || !errors.As(err, &r) {
			return err
		}
		// Wait the longer of the backoff (with up to 50% jitter either way) and the
		// collector's Retry-After, unless that runs past ctx or the retry budget.
		delay := max(r.wait, wait/2+rand.N(wait))
		if time.Since(start)+delay > e.cfg.RetryFor {
			return fmt.Errorf("export spans: gave up retrying after %v: %w", time.Since(start).Round(time.Millisecond), err)
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("export spans: %w (last: %w)", context.Cause(ctx), err)
		case <-t.C:
		}
		wait = min(2*wait, 30*time.Second)
	}
}

func (e *OTLPExporter) send(ctx context.Context, body []byte, contentType, encoding string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.cfg.URL, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("export spans: %w", err)
	}
	for k, v := range e.cfg.Headers {
		req.Header.Set(k, v)
	}
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("User-Agent", "tandem")
	if encoding != "" {
		req.Header.Set("Content-Encoding", encoding)
	}
	resp, err := e.client.Do(req)
	if err != nil {
		var ue *url.Error
		if ctx.Err() == nil && (errors.As(err, &ue) && ue.Timeout() || errors.Is(err, syscall.ECONNRESET)) {
			return retryable{err: fmt.Errorf("export spans: %w", err)}
		}
		return fmt.Errorf("export spans: %w", err)
	}
	defer resp.Body.Close()
	reply, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return fmt.Errorf("export spans: read the reply: %w", err)
	}
	if resp.StatusCode >= 200 && resp.StatusCode <= 299 {
		return partialSuccess(resp.Header.Get("Content-Type"), reply)
	}
	text := strings.TrimSpace(string(bytes.ToValidUTF8(reply, []byte("?"))))
	if text == "" {
		text = "(empty)"
	}
	err = fmt.Errorf("export spans to %s: %s: %s", e.cfg.URL, resp.Status, text)
	switch resp.StatusCode {
	case http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return retryable{err: err, wait: retryAfter(resp.Header.Get("Retry-After"))}
	}
	return err
}

// partialSuccess reads an ExportTraceServiceResponse, protobuf or JSON as its Content-Type
// says (a reply of another type carries nothing the export acts on), and returns the
// spans the collector rejected as an error.
func partialSuccess(contentType string, reply []byte) error {
	if len(reply) == 0 {
		return nil
	}
	if strings.HasPrefix(contentType, "application/x-protobuf") {
		rejected, msg, err := partialSuccessProto(reply)
		if err != nil {
			return fmt.Errorf("export spans: the collector's reply: %w", err)
		}
		if rejected == 0 && msg == "" {
			return nil
		}
		return fmt.Errorf("export spans: the collector rejected %d spans: %s", rejected, msg)
	}
	if !strings.HasPrefix(contentType, "application/json") {
		return nil
	}
	var r struct {
		PartialSuccess struct {
			RejectedSpans json.Number `json:"rejectedSpans"`
			ErrorMessage  string      `json:"errorMessage"`
		} `json:"partialSuccess"`
	}
	if err := json.Unmarshal(reply, &r); err != nil {
		return fmt.Errorf("export spans: the collector's reply: %w", err)
	}
	p := r.PartialSuccess
	if p.RejectedSpans == "" {
		p.RejectedSpans = "0"
	}
	if p.RejectedSpans == "0" && p.ErrorMessage == "" {
		return nil
	}
	return fmt.Errorf("export spans: the collector rejected %s spans: %s", p.RejectedSpans, p.ErrorMessage)
}

// retryAfter reads a Retry-After header: seconds or an HTTP date.
func retryAfter(v string) time.Duration {
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseInt(v, 10, 32); err == nil && s >= 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(time.Until(t), 0)
	}
	return 0
}

// Shutdown makes later exports fail and closes idle connections; an export in flight
// ends with its context.
func (e *OTLPExporter) Shutdown(context.Context) error {
	e.closed.Store(true)
	e.client.CloseIdleConnections()
	return nil
}
