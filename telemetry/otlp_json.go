package telemetry

import (
	"encoding/hex"
	"encoding/json"
	"math"
	"strconv"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/instrumentation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// An ExportTraceServiceRequest (opentelemetry-proto's trace.proto), shaped for its OTLP/JSON
// encoding (the protobuf JSON mapping with the OTLP exceptions): field names in
// lowerCamelCase, enums as numbers, 64-bit integers as decimal strings, trace and span IDs
// as hex (not base64), bytes as base64. otlp_proto.go writes the same structs as protobuf.
type (
	otlpRequest struct {
		ResourceSpans []*otlpResourceSpans `json:"resourceSpans"`
	}
	otlpResourceSpans struct {
		Resource   otlpResource      `json:"resource"`
		ScopeSpans []*otlpScopeSpans `json:"scopeSpans"`
		SchemaURL  string            `json:"schemaUrl,omitempty"`
	}
	otlpResource struct {
		Attributes []otlpKeyValue `json:"attributes,omitempty"`
	}
	otlpScopeSpans struct {
		Scope     *otlpScope `json:"scope,omitempty"`
		Spans     []otlpSpan `json:"spans"`
		SchemaURL string     `json:"schemaUrl,omitempty"`
	}
	otlpScope struct {
		Name       string         `json:"name,omitempty"`
		Version    string         `json:"version,omitempty"`
		Attributes []otlpKeyValue `json:"attributes,omitempty"`
	}
	otlpSpan struct {
		TraceID                string         `json:"traceId"`
		SpanID                 string         `json:"spanId"`
		TraceState             string         `json:"traceState,omitempty"`
		ParentSpanID           string         `json:"parentSpanId,omitempty"`
		Flags                  uint32         `json:"flags"`
		Name                   string         `json:"name"`
		Kind                   int            `json:"kind"`
		StartTimeUnixNano      string         `json:"startTimeUnixNano"`
		EndTimeUnixNano        string         `json:"endTimeUnixNano"`
		Attributes             []otlpKeyValue `json:"attributes,omitempty"`
		DroppedAttributesCount uint32         `json:"droppedAttributesCount,omitempty"`
		Events                 []otlpEvent    `json:"events,omitempty"`
		DroppedEventsCount     uint32         `json:"droppedEventsCount,omitempty"`
		Links                  []otlpLink     `json:"links,omitempty"`
		DroppedLinksCount      uint32         `json:"droppedLinksCount,omitempty"`
		Status                 otlpStatus     `json:"status"`
	}
	otlpEvent struct {
		TimeUnixNano           string         `json:"timeUnixNano"`
		Name                   string         `json:"name"`
		Attributes             []otlpKeyValue `json:"attributes,omitempty"`
		DroppedAttributesCount uint32         `json:"droppedAttributesCount,omitempty"`
	}
	otlpLink struct {
		TraceID                string         `json:"traceId"`
		SpanID                 string         `json:"spanId"`
		TraceState             string         `json:"traceState,omitempty"`
		Attributes             []otlpKeyValue `json:"attributes,omitempty"`
		DroppedAttributesCount uint32         `json:"droppedAttributesCount,omitempty"`
		Flags                  uint32         `json:"flags"`
	}
	otlpStatus struct {
		Message string `json:"message,omitempty"`
		Code    int    `json:"code,omitempty"`
	}
	otlpKeyValue struct {
		Key   string       `json:"key"`
		Value otlpAnyValue `json:"value"`
	}
	// otlpAnyValue holds one of its fields; all nil is an empty value.
	otlpAnyValue struct {
		StringValue *string         `json:"stringValue,omitempty"`
		BoolValue   *bool           `json:"boolValue,omitempty"`
		IntValue    *string         `json:"intValue,omitempty"` // an int64 in decimal
		DoubleValue *otlpDouble     `json:"doubleValue,omitempty"`
		ArrayValue  *otlpArrayValue `json:"arrayValue,omitempty"`
		KvlistValue *otlpKvlist     `json:"kvlistValue,omitempty"`
		BytesValue  []byte          `json:"bytesValue,omitempty"`
	}
	otlpArrayValue struct {
		Values []otlpAnyValue `json:"values"`
	}
	otlpKvlist struct {
		Values []otlpKeyValue `json:"values"`
	}
)

// otlpDouble is a float64 that also encodes NaN and the infinities, as the protobuf JSON
// mapping writes them ("NaN", "Infinity", "-Infinity"); encoding/json refuses them.
type otlpDouble float64

func (d otlpDouble) MarshalJSON() ([]byte, error) {
	f := float64(d)
	switch {
	case math.IsNaN(f):
		return []byte(`"NaN"`), nil
	case math.IsInf(f, 1):
		return []byte(`"Infinity"`), nil
	case math.IsInf(f, -1):
		return []byte(`"-Infinity"`), nil
	}
	return json.Marshal(f)
}

// Span flags: the low 8 bits are the W3C trace flags; these two say whether the parent is
// remote, and that we know.
const (
	spanFlagsHasIsRemote = 0x100
	spanFlagsIsRemote    = 0x200
)

// exportRequest groups spans into an export request by resource and by instrumentation
// scope, in the order they first appear.
func exportRequest(spans []sdktrace.ReadOnlySpan) *otlpRequest {
	type scopeKey struct {
		res   attribute.Distinct
		scope instrumentation.Scope
	}
	var req otlpRequest
	byResource := map[attribute.Distinct]*otlpResourceSpans{}
	byScope := map[scopeKey]*otlpScopeSpans{}
	for _, s := range spans {
		if s == nil {
			continue
		}
		res := s.Resource()
		rk := res.Equivalent()
		rs := byResource[rk]
		if rs == nil {
			rs = &otlpResourceSpans{Resource: otlpResource{Attributes: keyValues(res.Attributes())}, SchemaURL: res.SchemaURL()}
			byResource[rk] = rs
			req.ResourceSpans = append(req.ResourceSpans, rs)
		}
		scope := s.InstrumentationScope()
		sk := scopeKey{rk, scope}
		ss := byScope[sk]
		if ss == nil {
			ss = &otlpScopeSpans{SchemaURL: scope.SchemaURL}
			if scope != (instrumentation.Scope{}) {
				ss.Scope = &otlpScope{Name: scope.Name, Version: scope.Version, Attributes: keyValues(scope.Attributes.ToSlice())}
			}
			byScope[sk] = ss
			rs.ScopeSpans = append(rs.ScopeSpans, ss)
		}
		ss.Spans = append(ss.Spans, span(s))
	}
	return &req
}

func span(s sdktrace.ReadOnlySpan) otlpSpan {
	sc, parent := s.SpanContext(), s.Parent()
	out := otlpSpan{
		TraceID:                traceID(sc.TraceID()),
		SpanID:                 spanID(sc.SpanID()),
		TraceState:             sc.TraceState().String(),
		Flags:                  spanFlags(sc.TraceFlags(), parent),
		Name:                   s.Name(),
		Kind:                   spanKind(s.SpanKind()),
		StartTimeUnixNano:      unixNano(s.StartTime()),
		EndTimeUnixNano:        unixNano(s.EndTime()),
		Attributes:             keyValues(s.Attributes()),
		DroppedAttributesCount: count(s.DroppedAttributes()),
		DroppedEventsCount:     count(s.DroppedEvents()),
		DroppedLinksCount:      count(s.DroppedLinks()),
		Status:                 status(s.Status()),
	}
	if parent.SpanID().IsValid() {
		out.ParentSpanID = spanID(parent.SpanID())
	}
	for _, e := range s.Events() {
		out.Events = append(out.Events, otlpEvent{TimeUnixNano: unixNano(e.Time), Name: e.Name,
			Attributes: keyValues(e.Attributes), DroppedAttributesCount: count(e.DroppedAttributeCount)})
	}
	for _, l := range s.Links() {
		out.Links = append(out.Links, otlpLink{TraceID: traceID(l.SpanContext.TraceID()), SpanID: spanID(l.SpanContext.SpanID()),
			TraceState: l.SpanContext.TraceState().String(), Attributes: keyValues(l.Attributes),
			DroppedAttributesCount: count(l.DroppedAttributeCount), Flags: spanFlags(l.SpanContext.TraceFlags(), l.SpanContext)})
	}
	return out
}

func traceID(id trace.TraceID) string { return hex.EncodeToString(id[:]) }
func spanID(id trace.SpanID) string   { return hex.EncodeToString(id[:]) }

func spanFlags(tf trace.TraceFlags, parent trace.SpanContext) uint32 {
	flags := uint32(tf) | spanFlagsHasIsRemote
	if parent.IsRemote() {
		flags |= spanFlagsIsRemote
	}
	return flags
}

// spanKind maps the API's kinds to OTLP's SpanKind, whose numbers happen to be the same;
// the switch keeps an unknown kind unspecified.
func spanKind(k trace.SpanKind) int {
	switch k {
	case trace.SpanKindInternal, trace.SpanKindServer, trace.SpanKindClient, trace.SpanKindProducer, trace.SpanKindConsumer:
		return int(k)
	}
	return 0
}

// status maps the API's codes (Unset, Error, Ok) to OTLP's StatusCode (UNSET 0, OK 1,
// ERROR 2): the numbers differ.
func status(s sdktrace.Status) otlpStatus {
	switch s.Code {
	case codes.Ok:
		return otlpStatus{Code: 1}
	case codes.Error:
		return otlpStatus{Code: 2, Message: s.Description}
	}
	return otlpStatus{}
}

func unixNano(t time.Time) string {
	if t.IsZero() {
		return "0"
	}
	return strconv.FormatUint(uint64(max(0, t.UnixNano())), 10)
}

func count(n int) uint32 { return uint32(min(max(n, 0), math.MaxUint32)) }

func keyValues(kvs []attribute.KeyValue) []otlpKeyValue {
	if len(kvs) == 0 {
		return nil
	}
	out := make([]otlpKeyValue, len(kvs))
	for i, kv := range kvs {
		out[i] = otlpKeyValue{Key: string(kv.Key), Value: anyValue(kv.Value)}
	}
	return out
}

func anyValue(v attribute.Value) otlpAnyValue {
	switch v.Type() {
	case attribute.BOOL:
		b := v.AsBool()
		return otlpAnyValue{BoolValue: &b}
	case attribute.INT64:
		return intValue(v.AsInt64())
	case attribute.FLOAT64:
		d := otlpDouble(v.AsFloat64())
		return otlpAnyValue{DoubleValue: &d}
	case attribute.STRING:
		s := v.AsString()
		return otlpAnyValue{StringValue: &s}
	case attribute.BYTESLICE:
		return otlpAnyValue{BytesValue: v.AsByteSlice()}
	case attribute.BOOLSLICE:
		return array(v.AsBoolSlice(), func(b bool) otlpAnyValue { return otlpAnyValue{BoolValue: &b} })
	case attribute.INT64SLICE:
		return array(v.AsInt64Slice(), intValue)
	case attribute.FLOAT64SLICE:
		return array(v.AsFloat64Slice(), func(f float64) otlpAnyValue { d := otlpDouble(f); return otlpAnyValue{DoubleValue: &d} })
	case attribute.STRINGSLICE:
		return array(v.AsStringSlice(), func(s string) otlpAnyValue { return otlpAnyValue{StringValue: &s} })
	case attribute.SLICE:
		return array(v.AsSlice(), anyValue)
	case attribute.MAP:
		return otlpAnyValue{KvlistValue: &otlpKvlist{Values: keyValues(v.AsMap())}}
	case attribute.EMPTY:
		return otlpAnyValue{}
	}
	invalid := "INVALID"
	return otlpAnyValue{StringValue: &invalid}
}

func intValue(n int64) otlpAnyValue {
	s := strconv.FormatInt(n, 10)
	return otlpAnyValue{IntValue: &s}
}

func array[T any](vs []T, conv func(T) otlpAnyValue) otlpAnyValue {
	out := make([]otlpAnyValue, len(vs))
	for i, v := range vs {
		out[i] = conv(v)
	}
	return otlpAnyValue{ArrayValue: &otlpArrayValue{Values: out}}
}
