package model

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// Calls that share a circuit stop trying a server once one of them has given up on it: the
// next fails at once, saying why; calls without the circuit, or after the caller gave up
// waiting, go on trying as before.
func TestACircuitMakesCallsFailFastOnceOneGaveUpOnTheServer(t *testing.T) {
	var tries atomic.Int32
	down := &Fake{Respond: func(Request) (FakeReply, error) {
		tries.Add(1)
		return FakeReply{}, &Error{Kind: ErrUnreachable, Msg: "cannot reach Ollama at http://127.0.0.1:1"}
	}}
	m := WithRetry(down, RetryPolicy{Retries: 2, Backoff: time.Millisecond})
	c := &Circuit{}
	ctx := WithCircuit(context.Background(), c)

	if _, err := m.Chat(ctx, Request{Model: "m"}, nil); !errors.Is(err, ErrUnreachable) || tries.Load() != 3 {
		t.Fatalf("the first call: %v after %d tries, want unreachable after 3", err, tries.Load())
	}
	if c.Err() == nil {
		t.Fatal("the circuit is closed after a call gave up")
	}
	_, err := m.Chat(ctx, Request{Model: "m"}, nil)
	if !errors.Is(err, ErrUnreachable) || tries.Load() != 3 || !strings.HasPrefix(err.Error(), "not tried, the model server was unreachable: cannot reach Ollama") {
		t.Fatalf("the second call: %v after %d tries, want it to fail at once saying why", err, tries.Load())
	}
	if _, err := m.Chat(context.Background(), Request{Model: "m"}, nil); !errors.Is(err, ErrUnreachable) || tries.Load() != 6 {
		t.Fatalf("a call without the circuit: %v after %d tries, want 3 more", err, tries.Load())
	}

	cancelled, cancel := context.WithCancel(WithCircuit(context.Background(), &Circuit{}))
	cancel()
	fresh := circuitOf(cancelled)
	if _, err := m.Chat(cancelled, Request{Model: "m"}, nil); err == nil || fresh.Err() != nil {
		t.Fatalf("a call its caller stopped waiting for opened the circuit: %v, %v", err, fresh.Err())
	}
}
