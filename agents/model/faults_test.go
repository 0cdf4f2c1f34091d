package model

import (
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

func fakeServer(t *testing.T, h http.HandlerFunc) *Ollama {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	o, err := NewOllama(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	o.Backoff = time.Millisecond
	return o
}

func userAsks(text string) Request {
	return Request{Model: "m", Messages: []Message{{Role: "user", Content: text}}}
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
	resp, err := o.Chat(context.Background(), userAsks("hi"), func(d Delta) { deltas = append(deltas, d.Content) })
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
	o, _ := NewOllama(addr)
	o.Backoff = time.Millisecond
	_, err := o.Chat(context.Background(), userAsks("hi"), nil)
	if !errors.Is(err, ErrUnreachable) || !strings.Contains(err.Error(), "is `ollama serve` running?") {
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
	if !errors.Is(err, ErrServer) || !strings.Contains(err.Error(), "runner crashed") {
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
	if !errors.Is(err, ErrStreamCut) || !resp.Incomplete || resp.Message.Content != "partial answer" {
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
		_, err := o.Chat(ctx, userAsks("hi"), func(Delta) { cancel() })
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
	if !errors.Is(err, ErrStreamCut) || resp.Message.Content != "ok" {
		t.Fatalf("resp %+v err %v", resp, err)
	}
}

func TestAMissingModelSaysHowToPullIt(t *testing.T) {
	o := fakeServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprint(w, `{"error":"model 'nope' not found"}`)
	})
	_, err := o.Chat(context.Background(), Request{Model: "nope", Messages: []Message{{Role: "user", Content: "x"}}}, nil)
	if !errors.Is(err, ErrModelNotFound) || !strings.Contains(err.Error(), "run `ollama pull nope`") {
		t.Fatalf("err = %v", err)
	}
}

func TestTheFakePlaysItsScript(t *testing.T) {
	f := &Fake{Replies: []FakeReply{
		{Deltas: []Delta{{Thinking: "hmm"}, {Content: "a"}, {Content: "b"}}},
		{ToolCalls: []ToolCall{{Name: "read_file", Arguments: map[string]any{"path": "x"}}}},
	}}
	var n int
	r1, err := f.Chat(context.Background(), userAsks("1"), func(Delta) { n++ })
	if err != nil || r1.Message.Content != "ab" || r1.Message.Thinking != "hmm" || n != 3 {
		t.Fatalf("r1 %+v %v", r1, err)
	}
	r2, _ := f.Chat(context.Background(), userAsks("2"), nil)
	if len(r2.Message.ToolCalls) != 1 || r2.Message.ToolCalls[0].Arguments["path"] != "x" {
		t.Fatalf("r2 %+v", r2)
	}
	if _, err := f.Chat(context.Background(), userAsks("3"), nil); !errors.Is(err, ErrFakeExhausted) {
		t.Fatalf("exhausted: %v", err)
	}
	if len(f.Calls()) != 3 {
		t.Fatalf("calls %d", len(f.Calls()))
	}
}
