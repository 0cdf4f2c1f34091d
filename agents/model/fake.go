package model

import (
	"context"
	"errors"
	"sync"
)

// Fake is a deterministic scripted Model for unit tests of code that uses models. Each Chat
// takes the next reply from Replies (or asks Respond when Replies is empty), streams its
// content and thinking as the given deltas, and records the request.
type Fake struct {
	mu       sync.Mutex
	Replies  []FakeReply
	Respond  func(Request) (FakeReply, error)
	Requests []Request
}

// FakeReply is one scripted reply.
type FakeReply struct {
	Deltas    []Delta // streamed in order; the message content is their concatenation
	ToolCalls []ToolCall
	Usage     Usage
	// DoneReason is why the reply ended, as Ollama says it (stop, length); "" is stop.
	DoneReason string
	Err        error // returned after the deltas (with Incomplete set)
}

var _ Model = (*Fake)(nil)

// ErrFakeExhausted is returned when a Fake has no scripted reply left.
var ErrFakeExhausted = errors.New("fake model: no scripted reply left")

// Chat plays the next scripted reply.
func (f *Fake) Chat(ctx context.Context, req Request, onDelta func(Delta)) (Response, error) {
	f.mu.Lock()
	f.Requests = append(f.Requests, req)
	var reply FakeReply
	var err error
	switch {
	case len(f.Replies) > 0:
		reply, f.Replies = f.Replies[0], f.Replies[1:]
	case f.Respond != nil:
		f.mu.Unlock()
		reply, err = f.Respond(req)
		f.mu.Lock()
	default:
		err = ErrFakeExhausted
	}
	f.mu.Unlock()
	if err != nil {
		return Response{Incomplete: true}, err
	}
	var resp Response
	resp.Message.Role = "assistant"
	for _, d := range reply.Deltas {
		if ctx.Err() != nil {
			resp.Incomplete = true
			return resp, ctx.Err()
		}
		resp.Message.Content += d.Content
		resp.Message.Thinking += d.Thinking
		if onDelta != nil {
			onDelta(d)
		}
	}
	resp.Message.ToolCalls = reply.ToolCalls
	resp.Usage = reply.Usage
	resp.DoneReason = reply.DoneReason
	if resp.DoneReason == "" {
		resp.DoneReason = "stop"
	}
	if reply.Err != nil {
		resp.Incomplete = true
		return resp, reply.Err
	}
	return resp, nil
}

// Calls returns the requests received so far.
func (f *Fake) Calls() []Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Request(nil), f.Requests...)
}
