package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgxlisten"

	"tandem/engine"
)

var (
	_ engine.Waker     = (*DB)(nil)
	_ engine.Announcer = (*DB)(nil)
)

// AnnounceRun wakes the listening workers for a run detached from its starting process.
func (d *DB) AnnounceRun(ctx context.Context, runID string) error {
	if _, err := d.pool.Exec(ctx, `SELECT pg_notify($1, $2)`, d.channel, runID); err != nil {
		return fmt.Errorf("notify workers of run %s: %w", runID, err)
	}
	return nil
}

// notify wakes the workers listening on this database once tx commits (NOTIFY is
// transactional: a rolled-back request wakes nobody). The payload names the run.
func (d *DB) notify(ctx context.Context, tx pgx.Tx, runIDs ...string) error {
	for _, id := range runIDs {
		if _, err := tx.Exec(ctx, `SELECT pg_notify($1, $2)`, d.channel, id); err != nil {
			return fmt.Errorf("notify workers of run %s: %w", id, err)
		}
	}
	return nil
}

// Wakeups returns a channel that receives a value soon after another process appends a
// request (a signal, an approval, a continue) or announces a detached run, and once each time
// the listening connection is re-established, since notifications sent while it was down
// are lost. Values coalesce: one pending wake-up stands for any number. It returns once the
// database is listened to (or after ten seconds without a connection, when wake-ups start
// with the first one), so every request appended after it returns wakes the channel. The
// subscription ends with ctx. Listening takes one connection of its own.
func (d *DB) Wakeups(ctx context.Context) <-chan struct{} {
	ch := make(chan struct{}, 1)
	d.wakeMu.Lock()
	d.wakeSubs[ch] = struct{}{}
	if d.stopWake == nil {
		lctx, stop := context.WithCancel(context.Background())
		d.stopWake, d.wakeDone, d.listening = stop, make(chan struct{}), make(chan struct{})
		go d.listen(lctx, d.wakeDone)
	}
	listening := d.listening
	d.wakeMu.Unlock()
	select {
	case <-listening:
	case <-ctx.Done():
	case <-time.After(10 * time.Second):
	}
	go func() {
		<-ctx.Done()
		d.wakeMu.Lock()
		delete(d.wakeSubs, ch)
		d.wakeMu.Unlock()
	}()
	return ch
}

// listen holds the LISTEN connection until ctx ends, reconnecting after a second when the
// server goes away (workers poll meanwhile).
func (d *DB) listen(ctx context.Context, done chan struct{}) {
	defer close(done)
	l := &pgxlisten.Listener{
		Connect: func(ctx context.Context) (*pgx.Conn, error) {
			return pgx.ConnectConfig(ctx, d.pool.Config().ConnConfig.Copy())
		},
		ReconnectDelay: time.Second,
		LogError:       func(context.Context, error) {},
	}
	l.Handle(d.channel, wakeHandler{d})
	_ = l.Listen(ctx) // returns only when ctx ends
}

type wakeHandler struct{ d *DB }

func (h wakeHandler) HandleNotification(context.Context, *pgconn.Notification, *pgx.Conn) error {
	h.d.wakeAll()
	return nil
}

// HandleBacklog runs each time the channel is listened to. The first time, subscribers are
// about to pass anyway; after a reconnection, whatever was notified meanwhile is found by
// one pass.
func (h wakeHandler) HandleBacklog(context.Context, string, *pgx.Conn) error {
	h.d.wakeMu.Lock()
	first := !h.d.listened
	if first {
		h.d.listened = true
		close(h.d.listening)
	}
	h.d.wakeMu.Unlock()
	if !first {
		h.d.wakeAll()
	}
	return nil
}

func (d *DB) wakeAll() {
	d.wakeMu.Lock()
	defer d.wakeMu.Unlock()
	for ch := range d.wakeSubs {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}
