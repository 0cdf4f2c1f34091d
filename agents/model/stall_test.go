package model

import (
	"context"
	"errors"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

// quietModel streams its deltas and then goes quiet until the call is cancelled, like a
// server that accepted the request and stopped answering.
type quietModel struct{ deltas []Delta }

func (q quietModel) Chat(ctx context.Context, _ Request, onDelta func(Delta)) (Response, error) {
	var resp Response
	for _, d := range q.deltas {
		resp.Message.Content += d.Content
		onDelta(d)
	}
	<-ctx.Done()
	resp.Incomplete = true
	return resp, ctx.Err()
}

func TestAModelCallThatGoesQuietEndsRetryable(t *testing.T) {
	timeouts := StallTimeouts{Header: time.Minute, Idle: 10 * time.Second}
	tests := []struct {
		name   string
		own    StallTimeouts // the step's own, carried by the call's context
		deltas []Delta
		after  time.Duration
		says   string
	}{
		{"no first reply", StallTimeouts{}, nil, time.Minute, "no reply from the model server within 1m0s (TANDEM_MODEL_HEADER_TIMEOUT)"},
		{"silent mid-reply", StallTimeouts{}, []Delta{{Content: "half"}}, 10 * time.Second, "sent nothing for 10s mid-reply (TANDEM_MODEL_IDLE_TIMEOUT)"},
		{"no first reply within the step's own header timeout", StallTimeouts{Header: 3 * time.Minute}, nil, 3 * time.Minute,
			"within 3m0s (the step's model_timeouts.header)"},
		{"silent mid-reply past the step's own idle timeout", StallTimeouts{Idle: 2 * time.Second}, []Delta{{Content: "half"}}, 2 * time.Second,
			"sent nothing for 2s mid-reply (the step's model_timeouts.idle)"},
		{"a step that sets only idle keeps the header timeout", StallTimeouts{Idle: 2 * time.Second}, nil, time.Minute,
			"within 1m0s (TANDEM_MODEL_HEADER_TIMEOUT)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				start := time.Now()
				ctx := ContextWithStallTimeouts(context.Background(), tt.own)
				resp, err := WithStallTimeouts(quietModel{tt.deltas}, timeouts).Chat(ctx, Request{}, func(Delta) {})
				if !errors.Is(err, ErrStalled) || !Retryable(err) || !resp.Incomplete {
					t.Fatalf("err = %v (retryable %v), incomplete %v; want a retryable ErrStalled", err, Retryable(err), resp.Incomplete)
				}
				if took := time.Since(start); took != tt.after {
					t.Fatalf("gave up after %s, want %s", took, tt.after)
				}
				if got := err.Error(); !strings.Contains(got, tt.says) {
					t.Fatalf("error %q does not say %q", got, tt.says)
				}
			})
		})
	}
}

func TestAGuardedCallThatAnswersIsUntouched(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &Fake{Replies: []FakeReply{{Deltas: []Delta{{Content: "hi"}}}}}
		resp, err := WithStallTimeouts(f, StallTimeouts{Header: time.Second, Idle: time.Second}).Chat(context.Background(), Request{}, nil)
		if err != nil || resp.Message.Content != "hi" {
			t.Fatalf("resp %+v, err %v", resp, err)
		}
	})
}
