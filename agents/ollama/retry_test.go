package ollama_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"tandem/agents/model"
	"tandem/agents/ollama"
)

// closedPort is a 127.0.0.1 address nothing listens on: a real connection refused.
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

func TestACallToAClosedPortRetriesWithBackoffThenSaysHowLongItTried(t *testing.T) {
	o, err := ollama.New(closedPort(t))
	if err != nil {
		t.Fatal(err)
	}
	o.Attempts = 1
	m := model.WithRetry(o, model.RetryPolicy{Retries: 3, Backoff: 10 * time.Millisecond, MaxBackoff: 25 * time.Millisecond})
	var notices []string
	_, err = m.Chat(context.Background(), model.Request{Model: "m", Messages: []model.Message{{Role: "user", Content: "hi"}}}, func(d model.Delta) {
		if d.Content != "" || d.Thinking != "" {
			t.Errorf("a closed port produced reply text %+v", d)
		}
		if d.Retry != nil {
			notices = append(notices, d.Retry.String())
		}
	})
	want := []string{
		"ollama unreachable, retrying in 10ms (1/3)",
		"ollama unreachable, retrying in 20ms (2/3)",
		"ollama unreachable, retrying in 25ms (3/3)",
	}
	if strings.Join(notices, "\n") != strings.Join(want, "\n") {
		t.Errorf("notices:\n%s\nwant:\n%s", strings.Join(notices, "\n"), strings.Join(want, "\n"))
	}
	if !errors.Is(err, model.ErrUnreachable) || !model.Retryable(err) || !strings.Contains(err.Error(), "gave up after 3 retries over 55ms") ||
		!strings.Contains(err.Error(), "ollama serve") {
		t.Fatalf("err = %v, want an unreachable server, the fix and how long it tried", err)
	}
}

func TestNoRetriesFailsAtOnceAndACancelledWaitStops(t *testing.T) {
	o, err := ollama.New(closedPort(t))
	if err != nil {
		t.Fatal(err)
	}
	o.Attempts = 1
	req := model.Request{Model: "m", Messages: []model.Message{{Role: "user", Content: "hi"}}}
	retried := false
	_, err = model.WithRetry(o, model.RetryPolicy{}).Chat(context.Background(), req, func(d model.Delta) { retried = retried || d.Retry != nil })
	if retried || !errors.Is(err, model.ErrUnreachable) || strings.Contains(err.Error(), "gave up") {
		t.Errorf("no retries: retried %v, err %v", retried, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	_, err = model.WithRetry(o, model.RetryPolicy{Retries: 5, Backoff: time.Hour}).Chat(ctx, req, func(d model.Delta) {
		if d.Retry != nil {
			cancel() // the person gives up during the first wait
		}
	})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("a cancelled wait: err %v, want context.Canceled", err)
	}
}

// A reply that started streaming is never asked for again, whatever ends it.
func TestAReplyThatStartedIsNotRetried(t *testing.T) {
	calls := 0
	fake := model.WithRetry(modelFunc(func(_ context.Context, _ model.Request, onDelta func(model.Delta)) (model.Response, error) {
		calls++
		onDelta(model.Delta{Content: "half"})
		return model.Response{Incomplete: true}, &model.Error{Kind: model.ErrUnreachable, Msg: "connection reset"}
	}), model.RetryPolicy{Retries: 3, Backoff: time.Millisecond})
	if _, err := fake.Chat(context.Background(), model.Request{}, func(model.Delta) {}); err == nil || calls != 1 {
		t.Fatalf("calls = %d, err %v; want one call and its error", calls, err)
	}
}

type modelFunc func(context.Context, model.Request, func(model.Delta)) (model.Response, error)

func (f modelFunc) Chat(ctx context.Context, r model.Request, d func(model.Delta)) (model.Response, error) {
	return f(ctx, r, d)
}

func TestTheRetryPolicyComesFromTheEnvironment(t *testing.T) {
	t.Setenv("TANDEM_MODEL_RETRIES", "5")
	t.Setenv("TANDEM_MODEL_RETRY_BACKOFF", "250ms")
	p, err := model.RetryPolicyFromEnvironment()
	if err != nil || p.Retries != 5 || p.Backoff != 250*time.Millisecond || p.MaxBackoff != model.DefaultRetryPolicy.MaxBackoff {
		t.Fatalf("policy %+v, %v", p, err)
	}
	for k, v := range map[string]string{"TANDEM_MODEL_RETRIES": "-1", "TANDEM_MODEL_RETRY_BACKOFF": "soon"} {
		t.Run(k+"="+v, func(t *testing.T) {
			t.Setenv(k, v)
			if _, err := model.RetryPolicyFromEnvironment(); err == nil || !strings.Contains(err.Error(), k) {
				t.Fatalf("err = %v, want one naming %s", err, k)
			}
		})
	}
}
