package model

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"time"
)

// RetryPolicy bounds how long a model call waits for a server it cannot reach (Ollama not
// started yet, or restarting): it tries again Retries times, waiting Backoff, then twice
// as long each time up to MaxBackoff. Only a call that never reached the server is retried;
// a reply that started streaming is never repeated.
type RetryPolicy struct {
	Retries    int
	Backoff    time.Duration
	MaxBackoff time.Duration
}

// DefaultRetryPolicy waits 2s, 4s and 8s: a server that comes up within about 15 seconds
// is met, one that does not fails the step in bounded time.
var DefaultRetryPolicy = RetryPolicy{Retries: 3, Backoff: 2 * time.Second, MaxBackoff: 30 * time.Second}

// RetryPolicyFromEnvironment is DefaultRetryPolicy with TANDEM_MODEL_RETRIES (a count, 0
// turns retrying off) and TANDEM_MODEL_RETRY_BACKOFF (the first wait, such as 2s) applied.
func RetryPolicyFromEnvironment() (RetryPolicy, error) {
	p := DefaultRetryPolicy
	if v := os.Getenv("TANDEM_MODEL_RETRIES"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return RetryPolicy{}, fmt.Errorf("TANDEM_MODEL_RETRIES=%s: want a count such as 3 (0: no retries)", v)
		}
		p.Retries = n
	}
	if v := os.Getenv("TANDEM_MODEL_RETRY_BACKOFF"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return RetryPolicy{}, fmt.Errorf("TANDEM_MODEL_RETRY_BACKOFF=%s: want a positive duration such as 2s", v)
		}
		p.Backoff = d
	}
	return p, nil
}

// wait is how long to wait before retry n (1-based).
func (p RetryPolicy) wait(n int) time.Duration {
	d := p.Backoff
	for i := 1; i < n && (p.MaxBackoff <= 0 || d < p.MaxBackoff); i++ {
		d *= 2
	}
	if p.MaxBackoff > 0 && d > p.MaxBackoff {
		d = p.MaxBackoff
	}
	return d
}

// Retry is a call's notice that it waits to try an unreachable server again: retry N of
// Of, after Wait.
type Retry struct {
	N, Of int
	Wait  time.Duration
	Err   error // why the last try failed
}

// String is the notice as people read it: "ollama unreachable, retrying in 2s (1/3)".
func (r Retry) String() string {
	return fmt.Sprintf("ollama unreachable, retrying in %s (%d/%d)", r.Wait, r.N, r.Of)
}

// WithRetry wraps m so that a call that cannot reach the server is tried again under p.
// Each wait is announced before it starts as a Delta whose Retry is set; when the retries
// run out the call fails with ErrUnreachable, saying how long it tried. Under a context
// with a Circuit (WithCircuit), a call fails at once once another has given up.
func WithRetry(m Model, p RetryPolicy) Model {
	return retrier{m: m, p: p}
}

type retrier struct {
	m Model
	p RetryPolicy
}

func (r retrier) Chat(ctx context.Context, req Request, onDelta func(Delta)) (Response, error) {
	c := circuitOf(ctx) // nil unless the caller groups its calls (WithCircuit)
	if err := c.failFast(); err != nil {
		return Response{}, err
	}
	resp, err := r.chat(ctx, req, onDelta)
	c.tripOn(ctx, err)
	return resp, err
}

func (r retrier) chat(ctx context.Context, req Request, onDelta func(Delta)) (Response, error) {
	var waited time.Duration
	for n := 1; ; n++ {
		started := false
		resp, err := r.m.Chat(ctx, req, func(d Delta) {
			started = true
			if onDelta != nil {
				onDelta(d)
			}
		})
		if err == nil || started || !errors.Is(err, ErrUnreachable) || ctx.Err() != nil {
			return resp, err
		}
		if n > r.p.Retries {
			if r.p.Retries == 0 {
				return resp, err
			}
			return resp, &Error{Kind: ErrUnreachable, Err: err,
				Msg: fmt.Sprintf("%v; gave up after %d retries over %s (TANDEM_MODEL_RETRIES, TANDEM_MODEL_RETRY_BACKOFF)", err, r.p.Retries, waited)}
		}
		notice := Retry{N: n, Of: r.p.Retries, Wait: r.p.wait(n), Err: err}
		if onDelta != nil {
			onDelta(Delta{Retry: &notice})
		}
		t := time.NewTimer(notice.Wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return resp, fmt.Errorf("chat with %s: %w", req.Model, ctx.Err())
		case <-t.C:
		}
		waited += notice.Wait
	}
}
