package telemetry

import "testing"

// FuzzPartialSuccess feeds a collector's reply, which tandem does not control, to the
// protobuf reader: it must return, with an answer or an error, and never panic.
func FuzzPartialSuccess(f *testing.F) {
	f.Add([]byte{0x0a, 0x04, 0x08, 0x03, 0x12, 0x00}) // partial_success{rejected_spans: 3, error_message: ""}
	f.Add([]byte{0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f}) // a length past the end
	f.Add([]byte{0x0d, 0x01})                         // a fixed32 cut short
	f.Fuzz(func(t *testing.T, b []byte) {
		// A panic fails the target; a reply that is not protobuf must come back as an error.
		if _, _, err := partialSuccessProto(b); err == nil && len(b) == 1 {
			t.Fatalf("%x: one byte cannot be a whole field, yet no error", b)
		}
	})
}
