package model

import (
	"context"
	"errors"
	"sync"
)

// Circuit remembers that a model server could not be reached, for a group of calls that
// should not each wait through their own retries once one has given up (the cases of one
// eval). A call made through WithRetry under a context carrying an open circuit fails at
// once with ErrUnreachable; the first call that gives up on an unreachable server opens it.
// A Circuit is safe for concurrent use; the zero value is closed.
type Circuit struct {
	mu  sync.Mutex
	err error // why it opened
}

// Err returns the error that opened the circuit, or nil while it is closed.
func (c *Circuit) Err() error {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

func (c *Circuit) open(err error) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err == nil {
		c.err = err
	}
}

// failFast is the error of a call not made because the circuit is open.
func (c *Circuit) failFast() error {
	err := c.Err()
	if err == nil {
		return nil
	}
	return &Error{Kind: ErrUnreachable, Err: err, Msg: "not tried, the model server was unreachable: " + err.Error()}
}

type circuitKey struct{}

// WithCircuit returns a context whose model calls share c.
func WithCircuit(ctx context.Context, c *Circuit) context.Context {
	return context.WithValue(ctx, circuitKey{}, c)
}

func circuitOf(ctx context.Context) *Circuit {
	c, _ := ctx.Value(circuitKey{}).(*Circuit)
	return c
}

// tripOn opens c when a call gave up on a server it could not reach (not when the caller
// stopped waiting).
func (c *Circuit) tripOn(ctx context.Context, err error) {
	if err != nil && errors.Is(err, ErrUnreachable) && ctx.Err() == nil {
		c.open(err)
	}
}
