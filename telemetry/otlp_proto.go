package telemetry

import (
	"encoding/binary"
	"errors"
	"math"
	"strconv"
)

// The protobuf encoding of an export request (opentelemetry-proto's trace.proto,
// common.proto, resource.proto and trace_service.proto), written by hand from the same
// structs as the JSON: the field numbers below are the .proto files'. Zero values are left
// out, as proto3 does.

// pb appends protobuf fields to a buffer.
type pb []byte

const (
	wireVarint  = 0
	wireFixed64 = 1
	wireBytes   = 2
	wireFixed32 = 5
)

func (b *pb) tag(field, wire int) { *b = binary.AppendUvarint(*b, uint64(field)<<3|uint64(wire)) }

func (b *pb) varint(field int, v uint64) {
	if v != 0 {
		b.tag(field, wireVarint)
		*b = binary.AppendUvarint(*b, v)
	}
}

func (b *pb) fixed64(field int, v uint64) {
	if v != 0 {
		b.tag(field, wireFixed64)
		*b = binary.LittleEndian.AppendUint64(*b, v)
	}
}

func (b *pb) fixed32(field int, v uint32) {
	if v != 0 {
		b.tag(field, wireFixed32)
		*b = binary.LittleEndian.AppendUint32(*b, v)
	}
}

func (b *pb) bytes(field int, v []byte) {
	if len(v) != 0 {
		b.tag(field, wireBytes)
		*b = binary.AppendUvarint(*b, uint64(len(v)))
		*b = append(*b, v...)
	}
}

func (b *pb) string(field int, v string) { b.bytes(field, []byte(v)) }

// message appends a nested message written by fn; present says whether an empty one is
// still written (a set oneof member or a repeated element must be).
func (b *pb) message(field int, present bool, fn func(*pb)) {
	var m pb
	fn(&m)
	if len(m) == 0 && !present {
		return
	}
	b.tag(field, wireBytes)
	*b = binary.AppendUvarint(*b, uint64(len(m)))
	*b = append(*b, m...)
}

func (r *otlpRequest) marshalProto() []byte {
	var b pb
	for _, rs := range r.ResourceSpans {
		b.message(1, true, func(b *pb) {
			b.message(1, false, func(b *pb) { keyValuesProto(b, 1, rs.Resource.Attributes) })
			for _, ss := range rs.ScopeSpans {
				b.message(2, true, func(b *pb) {
					if s := ss.Scope; s != nil {
						b.message(1, true, func(b *pb) {
							b.string(1, s.Name)
							b.string(2, s.Version)
							keyValuesProto(b, 3, s.Attributes)
						})
					}
					for i := range ss.Spans {
						b.message(2, true, func(b *pb) { spanProto(b, &ss.Spans[i]) })
					}
					b.string(3, ss.SchemaURL)
				})
			}
			b.string(3, rs.SchemaURL)
		})
	}
	return b
}

func spanProto(b *pb, s *otlpSpan) {
	b.bytes(1, hexID(s.TraceID))
	b.bytes(2, hexID(s.SpanID))
	b.string(3, s.TraceState)
	b.bytes(4, hexID(s.ParentSpanID))
	b.string(5, s.Name)
	b.varint(6, uint64(s.Kind))
	b.fixed64(7, decimal(s.StartTimeUnixNano))
	b.fixed64(8, decimal(s.EndTimeUnixNano))
	keyValuesProto(b, 9, s.Attributes)
	b.varint(10, uint64(s.DroppedAttributesCount))
	for _, e := range s.Events {
		b.message(11, true, func(b *pb) {
			b.fixed64(1, decimal(e.TimeUnixNano))
			b.string(2, e.Name)
			keyValuesProto(b, 3, e.Attributes)
			b.varint(4, uint64(e.DroppedAttributesCount))
		})
	}
	b.varint(12, uint64(s.DroppedEventsCount))
	for _, l := range s.Links {
		b.message(13, true, func(b *pb) {
			b.bytes(1, hexID(l.TraceID))
			b.bytes(2, hexID(l.SpanID))
			b.string(3, l.TraceState)
			keyValuesProto(b, 4, l.Attributes)
			b.varint(5, uint64(l.DroppedAttributesCount))
			b.fixed32(6, l.Flags)
		})
	}
	b.varint(14, uint64(s.DroppedLinksCount))
	b.message(15, true, func(b *pb) {
		b.string(2, s.Status.Message)
		b.varint(3, uint64(s.Status.Code))
	})
	b.fixed32(16, s.Flags)
}

func keyValuesProto(b *pb, field int, kvs []otlpKeyValue) {
	for _, kv := range kvs {
		b.message(field, true, func(b *pb) {
			b.string(1, kv.Key)
			b.message(2, true, func(b *pb) { anyValueProto(b, kv.Value) })
		})
	}
}

// anyValueProto writes the one member of an AnyValue that is set; a set member is written
// even when it is its zero value (false, 0, ""), as a oneof must be.
func anyValueProto(b *pb, v otlpAnyValue) {
	switch {
	case v.StringValue != nil:
		b.tag(1, wireBytes)
		*b = binary.AppendUvarint(*b, uint64(len(*v.StringValue)))
		*b = append(*b, *v.StringValue...)
	case v.BoolValue != nil:
		b.tag(2, wireVarint)
		if *v.BoolValue {
			*b = append(*b, 1)
		} else {
			*b = append(*b, 0)
		}
	case v.IntValue != nil:
		n, _ := strconv.ParseInt(*v.IntValue, 10, 64)
		b.tag(3, wireVarint)
		*b = binary.AppendUvarint(*b, uint64(n))
	case v.DoubleValue != nil:
		b.tag(4, wireFixed64)
		*b = binary.LittleEndian.AppendUint64(*b, math.Float64bits(float64(*v.DoubleValue)))
	case v.ArrayValue != nil:
		b.message(5, true, func(b *pb) {
			for _, e := range v.ArrayValue.Values {
				b.message(1, true, func(b *pb) { anyValueProto(b, e) })
			}
		})
	case v.KvlistValue != nil:
		b.message(6, true, func(b *pb) { keyValuesProto(b, 1, v.KvlistValue.Values) })
	case v.BytesValue != nil:
		b.tag(7, wireBytes)
		*b = binary.AppendUvarint(*b, uint64(len(v.BytesValue)))
		*b = append(*b, v.BytesValue...)
	}
}

func hexID(s string) []byte {
	out := make([]byte, len(s)/2)
	for i := range out {
		out[i] = unhex(s[2*i])<<4 | unhex(s[2*i+1])
	}
	return out
}

func unhex(c byte) byte {
	if c >= 'a' {
		return c - 'a' + 10
	}
	return c - '0'
}

func decimal(s string) uint64 {
	n, _ := strconv.ParseUint(s, 10, 64)
	return n
}

// partialSuccessProto reads an ExportTraceServiceResponse's partial_success (field 1:
// rejected_spans = 1, error_message = 2), skipping every other field.
func partialSuccessProto(b []byte) (rejected int64, msg string, err error) {
	errBad := errors.New("not a protobuf ExportTraceServiceResponse")
	fields := func(b []byte, fn func(field int, wire int, v uint64, data []byte)) error {
		for len(b) > 0 {
			key, n := binary.Uvarint(b)
			if n <= 0 {
				return errBad
			}
			b = b[n:]
			field, wire := int(key>>3), int(key&7)
			switch wire {
			case wireVarint:
				v, n := binary.Uvarint(b)
				if n <= 0 {
					return errBad
				}
				b = b[n:]
				fn(field, wire, v, nil)
			case wireFixed64, wireFixed32:
				size := 8
				if wire == wireFixed32 {
					size = 4
				}
				if len(b) < size {
					return errBad
				}
				b = b[size:]
			case wireBytes:
				l, n := binary.Uvarint(b)
				if n <= 0 || uint64(len(b)-n) < l {
					return errBad
				}
				fn(field, wire, 0, b[n:n+int(l)])
				b = b[n+int(l):]
			default:
				return errBad
			}
		}
		return nil
	}
	var inner error
	err = fields(b, func(field, wire int, _ uint64, data []byte) {
		if field != 1 || wire != wireBytes {
			return
		}
		inner = fields(data, func(field, wire int, v uint64, data []byte) {
			switch {
			case field == 1 && wire == wireVarint:
				rejected = int64(v)
			case field == 2 && wire == wireBytes:
				msg = string(data)
			}
		})
	})
	if err == nil {
		err = inner
	}
	return rejected, msg, err
}
