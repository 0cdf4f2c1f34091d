package model

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"
)

// ErrStalled is the kind of error a call gets when the server stops answering: no first
// reply within the header timeout, or no delta within the idle timeout. It unwraps to
// ErrStreamCut, so Retryable reports it retryable.
var ErrStalled = errors.New("model server stopped answering")

// StallTimeouts bound how long a model call may go without an answer. Zero fields take the
// defaults.
type StallTimeouts struct {
	Header time.Duration // until the first delta: loading a model can take a while
	Idle   time.Duration // between deltas
}

// Default stall timeouts.
const (
	DefaultHeaderTimeout = 5 * time.Minute
	DefaultIdleTimeout   = 2 * time.Minute
)

// StallTimeoutsFromEnvironment reads TANDEM_MODEL_HEADER_TIMEOUT and
// TANDEM_MODEL_IDLE_TIMEOUT (durations such as 90s); unset means the defaults.
func StallTimeoutsFromEnvironment() (StallTimeouts, error) {
	var t StallTimeouts
	for _, v := range []struct {
		name string
		into *time.Duration
	}{{"TANDEM_MODEL_HEADER_TIMEOUT", &t.Header}, {"TANDEM_MODEL_IDLE_TIMEOUT", &t.Idle}} {
		s := os.Getenv(v.name)
		if s == "" {
			continue
		}
		d, err := time.ParseDuration(s)
		if err != nil || d <= 0 {
			return StallTimeouts{}, fmt.Errorf("%s=%s: want a positive duration such as 90s", v.name, s)
		}
		*v.into = d
	}
	return t, nil
}

// WithStallTimeouts wraps m so that a call whose server accepts the request and then goes
// quiet ends with ErrStalled instead of hanging.
func WithStallTimeouts(m Model, t StallTimeouts) Model {
	if t.Header <= 0 {
		t.Header = DefaultHeaderTimeout
	}
	if t.Idle <= 0 {
		t.Idle = DefaultIdleTimeout
	}
	return stallGuard{m: m, t: t}
}

type stallKey struct{}

// ContextWithStallTimeouts returns ctx carrying timeouts for the guarded calls made with it
// (one step's own): their non-zero fields replace what WithStallTimeouts was given.
func ContextWithStallTimeouts(ctx context.Context, t StallTimeouts) context.Context {
	if t.Header <= 0 && t.Idle <= 0 {
		return ctx
	}
	return context.WithValue(ctx, stallKey{}, t)
}

type stallGuard struct {
	m Model
	t StallTimeouts
}

// stall is the cause a guarded call is cancelled with.
type stall struct{ msg string }

func (s *stall) Error() string { return s.msg }

func (g stallGuard) Chat(ctx context.Context, req Request, onDelta func(Delta)) (Response, error) {
	cctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	t, headerFrom, idleFrom := g.t, "TANDEM_MODEL_HEADER_TIMEOUT", "TANDEM_MODEL_IDLE_TIMEOUT"
	if own, ok := ctx.Value(stallKey{}).(StallTimeouts); ok {
		if own.Header > 0 {
			t.Header, headerFrom = own.Header, "the step's model_timeouts.header"
		}
		if own.Idle > 0 {
			t.Idle, idleFrom = own.Idle, "the step's model_timeouts.idle"
		}
	}
	header := &stall{fmt.Sprintf("no reply from the model server within %s (%s)", t.Header, headerFrom)}
	idle := &stall{fmt.Sprintf("the model server sent nothing for %s mid-reply (%s)", t.Idle, idleFrom)}
	timer := time.AfterFunc(t.Header, func() { cancel(header) })
	resp, err := g.m.Chat(cctx, req, func(d Delta) {
		timer.Stop()
		timer = time.AfterFunc(t.Idle, func() { cancel(idle) })
		if onDelta != nil {
			onDelta(d)
		}
	})
	timer.Stop()
	var s *stall
	if err != nil && ctx.Err() == nil && errors.As(context.Cause(cctx), &s) {
		resp.Incomplete = true
		return resp, &Error{Kind: ErrStalled, Msg: s.msg + "; the call can be retried", Err: ErrStreamCut}
	}
	return resp, err
}
