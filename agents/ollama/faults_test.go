package ollama

import (
	"tandem/agents/model"

	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// chunk is one NDJSON line of Ollama's /api/chat stream.
func chunk(content string) string {
	return fmt.Sprintf(`{"model":"m","created_at":"2026-01-01T00:00:00Z","message":{"role":"assistant","content":%q},"done":false}`+"\n", content)
}

const doneLine = `{"model":"m","created_at":"2026-01-01T00:00:00Z","message":{"role":"assistant","content":""},"done":true,"done_reason":"stop","prompt_eval_count":7,"eval_count":3,"eval_duration":3000000}` + "\n"

func fakeServer(t *testing.T, h http.HandlerFunc) *Client {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	o, err := New(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	o.Backoff = time.Millisecond
	return o
}

func userAsks(text string) model.Request {
	return model.Request{Model: "m", Messages: []model.Message{{Role: "user", Content: text}}}
}

func TestAStreamedReplyArrivesAsDeltasWithUsage(t *testing.T) {
	o := fakeServer(t, func(w http.ResponseWriter, r *http.Request) {
		for _, c := range []string{"Hel", "lo", "!"} {
			fmt.Fprint(w, chunk(c))
			w.(http.Flusher).Flush()
		}
		fmt.Fprint(w, doneLine)
	})
	var deltas []string
	resp, err := o.Chat(context.Background(), userAsks("hi"), func(d model.Delta) { deltas = append(deltas, d.Content) })
	if err != nil {
		t.Fatal(err)
	}
	if resp.Message.Content != "Hello!" || len(deltas) != 3 || resp.Incomplete {
		t.Fatalf("resp %+v deltas %v", resp, deltas)
	}
	if resp.Usage.PromptTokens != 7 || resp.Usage.OutputTokens != 3 || resp.Usage.TokensPerSecond() != 1000 {
		t.Fatalf("usage %+v", resp.Usage)
	}
}

func TestConnectionRefusedSaysHowToStartOllama(t *testing.T) {
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := l.Addr().String()
	l.Close()
	o, _ := New(addr)
	o.Backoff = time.Millisecond
	t.Setenv("OLLAMA_HOST", addr)
	_, err := o.Chat(context.Background(), userAsks("hi"), nil)
	if !errors.Is(err, model.ErrUnreachable) || !strings.Contains(err.Error(), "is `ollama serve` running? (OLLAMA_HOST="+addr+")") {
		t.Fatalf("err = %v", err)
	}
	// Unset, the message says so rather than showing an empty value.
	t.Setenv("OLLAMA_HOST", "")
	_, err = o.Chat(context.Background(), userAsks("hi"), nil)
	if !strings.Contains(err.Error(), "(OLLAMA_HOST unset, so the default)") {
		t.Fatalf("err = %v", err)
	}
}

func TestA500IsRetriedThenReported(t *testing.T) {
	var calls atomic.Int32
	o := fakeServer(t, func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.WriteHeader(http.StatusInternalServerError)
		fmt.Fprint(w, `{"error":"runner crashed"}`)
	})
	_, err := o.Chat(context.Background(), userAsks("hi"), nil)
	if !errors.Is(err, model.ErrServer) || !strings.Contains(err.Error(), "runner crashed") {
		t.Fatalf("err = %v", err)
	}
	if calls.Load() != 3 {
		t.Fatalf("%d calls, want 3 attempts", calls.Load())
	}
}

func TestA500ThenSuccessRecovers(t *testing.T) {
	var calls atomic.Int32
	o := fakeServer(t, func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprint(w, `{"error":"busy"}`)
			return
		}
		fmt.Fprint(w, chunk("ok")+doneLine)
	})
	resp, err := o.Chat(context.Background(), userAsks("hi"), nil)
	if err != nil || resp.Message.Content != "ok" {
		t.Fatalf("%+v %v", resp, err)
	}
}

func TestAStreamCutAfterNChunksKeepsWhatArrived(t *testing.T) {
	var calls atomic.Int32
	o := fakeServer(t, func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		fmt.Fprint(w, chunk("partial ")+chunk("answer"))
		w.(http.Flusher).Flush()
		// Hijack and drop the connection mid-stream.
		conn, _, _ := w.(http.Hijacker).Hijack()
		conn.Close()
	})
	resp, err := o.Chat(context.Background(), userAsks("hi"), nil)
	if !errors.Is(err, model.ErrStreamCut) || !resp.Incomplete || resp.Message.Content != "partial answer" {
		t.Fatalf("resp %+v err %v", resp, err)
	}
	if calls.Load() != 1 {
		t.Fatalf("a reply that started streaming was retried (%d calls)", calls.Load())
	}
}

func TestAStalledStreamEndsWithTheContext(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	o := fakeServer(t, func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, chunk("slow"))
		w.(http.Flusher).Flush()
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	ctx, cancel := context.WithCancel(context.Background())
	got := make(chan error, 1)
	go func() {
		_, err := o.Chat(ctx, userAsks("hi"), func(model.Delta) { cancel() })
		got <- err
	}()
	if err := <-got; !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

func TestMalformedLinesAreReportedNotSwallowed(t *testing.T) {
	o := fakeServer(t, func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, chunk("ok")+"{not json\n")
	})
	resp, err := o.Chat(context.Background(), userAsks("hi"), nil)
	if !errors.Is(err, model.ErrStreamCut) || resp.Message.Content != "ok" {
		t.Fatalf("resp %+v err %v", resp, err)
	}
}

func TestAMissingModelSaysHowToPullIt(t *testing.T) {
	o := fakeServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprint(w, `{"error":"model 'nope' not found"}`)
	})
	_, err := o.Chat(context.Background(), model.Request{Model: "nope", Messages: []model.Message{{Role: "user", Content: "x"}}}, nil)
	if !errors.Is(err, model.ErrModelNotFound) || !strings.Contains(err.Error(), "run `ollama pull nope`") {
		t.Fatalf("err = %v", err)
	}
}
