// Package telemetry exports what the engine does as OpenTelemetry traces: runs and steps
// become spans, and agent turns, model calls and tool calls follow the OpenTelemetry GenAI
// semantic conventions. It is off unless the standard OTLP variables name an endpoint; it
// reads the engine's bus like any other observer, so exporting never slows or fails a run:
// notices wait in a bounded queue, and those that do not fit are dropped and counted.
package telemetry

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.26.0"
	"go.opentelemetry.io/otel/trace"

	"tandem/engine"
)

// Enabled reports whether the environment asks for an OTLP export of traces.
func Enabled() bool {
	return os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != "" || os.Getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != ""
}

// CaptureContent reports whether message and tool contents may be recorded in spans
// (OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true); by default they are not.
func CaptureContent() bool {
	return strings.EqualFold(os.Getenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"), "true")
}

// queueSize bounds the notices waiting to become spans.
const queueSize = 4096

// Exporter turns bus notices into spans.
type Exporter struct {
	provider *sdktrace.TracerProvider
	tracer   trace.Tracer
	sub      *engine.Subscription
	queue    chan engine.Notice
	dropped  atomic.Int64
	log      *slog.Logger
	done     chan struct{}
	stop     chan struct{}
	spans    *spanBook
}

// Start exports the bus's notices over OTLP/HTTP (protobuf, or JSON), configured by the standard
// OTEL_* variables (see OTLPConfigFromEnv; OTEL_SERVICE_NAME names the service). Settings
// that cannot be used are logged and skipped. Call Shutdown to flush.
func Start(bus *engine.Bus, log *slog.Logger) (*Exporter, error) {
	cfg, ignored, err := OTLPConfigFromEnv(os.Getenv)
	if err != nil {
		return nil, fmt.Errorf("start OTLP export: %w", err)
	}
	for _, err := range ignored {
		if log != nil {
			log.Warn("telemetry: a setting was ignored", "error", err)
		}
	}
	return StartWith(bus, log, sdktrace.NewBatchSpanProcessor(NewOTLPExporter(cfg), sdktrace.WithMaxQueueSize(queueSize)))
}

// StartWith exports through a given span processor (tests pass a synchronous one).
func StartWith(bus *engine.Bus, log *slog.Logger, sp sdktrace.SpanProcessor) (*Exporter, error) {
	res, err := resource.Merge(resource.Default(), resource.NewSchemaless(semconv.ServiceName(serviceName())))
	if err != nil {
		return nil, fmt.Errorf("start OTLP export: %w", err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sp), sdktrace.WithResource(res))
	e := &Exporter{provider: tp, tracer: tp.Tracer("tandem"), sub: bus.Subscribe(""), log: log,
		queue: make(chan engine.Notice, queueSize), done: make(chan struct{}), stop: make(chan struct{})}
	e.spans = newSpanBook(e.tracer, CaptureContent())
	go e.pump()
	go e.work()
	return e, nil
}

func serviceName() string {
	if s := os.Getenv("OTEL_SERVICE_NAME"); s != "" {
		return s
	}
	return "tandem"
}

// pump moves notices from the bus into the bounded queue, dropping what does not fit.
func (e *Exporter) pump() {
	defer close(e.queue)
	for {
		select {
		case <-e.stop:
			e.enqueue(e.sub.Next())
			return
		case <-e.sub.Ready():
			e.enqueue(e.sub.Next())
		}
	}
}

func (e *Exporter) enqueue(ns []engine.Notice) {
	for _, n := range ns {
		if n.Delta != nil && n.Delta.Trace == nil {
			continue // tokens and stdout chunks make no spans
		}
		select {
		case e.queue <- n:
		default:
			e.dropped.Add(1)
		}
	}
}

func (e *Exporter) work() {
	defer close(e.done)
	for n := range e.queue {
		e.spans.notice(n, time.Now())
	}
}

// Dropped is how many notices did not fit the queue (their spans are missing).
func (e *Exporter) Dropped() int64 { return e.dropped.Load() }

// Shutdown ends the spans still open (marked unfinished), flushes and stops the export.
func (e *Exporter) Shutdown(ctx context.Context) error {
	e.sub.Close()
	close(e.stop)
	<-e.done
	e.spans.endAll(time.Now())
	if d := e.Dropped(); d > 0 && e.log != nil {
		e.log.Warn("telemetry: dropped notices from a full queue; some spans are missing", "dropped", d)
	}
	if err := e.provider.Shutdown(ctx); err != nil {
		return fmt.Errorf("flush OTLP export: %w", err)
	}
	return nil
}
