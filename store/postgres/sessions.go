package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"tandem/agents"
	"tandem/agents/model"
	"tandem/store"
)

var _ agents.Memory = (*DB)(nil)

// LoadSession returns a session's conversation, empty when the session is new.
func (d *DB) LoadSession(ctx context.Context, name string) ([]model.Message, error) {
	var raw string
	err := d.pool.QueryRow(ctx, `SELECT messages FROM sessions WHERE name = $1`, name).Scan(&raw)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("load session %s: %w", name, err)
	}
	var msgs []model.Message
	if err := json.Unmarshal([]byte(raw), &msgs); err != nil {
		return nil, fmt.Errorf("load session %s: %w", name, err)
	}
	return msgs, nil
}

// SaveSession replaces a session's conversation.
func (d *DB) SaveSession(ctx context.Context, name, agent string, msgs []model.Message) error {
	raw, err := json.Marshal(msgs)
	if err != nil {
		return err
	}
	_, err = d.pool.Exec(ctx, `INSERT INTO sessions (name, agent, messages, updated_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (name) DO UPDATE SET agent = excluded.agent, messages = excluded.messages, updated_at = excluded.updated_at`,
		name, agent, string(raw), time.Now().UnixMilli())
	if err != nil {
		return fmt.Errorf("save session %s: %w", name, err)
	}
	return nil
}

// Sessions lists sessions, most recent first.
func (d *DB) Sessions(ctx context.Context) ([]store.SessionInfo, error) {
	rows, err := d.pool.Query(ctx, `SELECT name, agent, jsonb_array_length(messages::jsonb), updated_at FROM sessions ORDER BY updated_at DESC`)
	if err != nil {
		return nil, fmt.Errorf("list sessions: %w", err)
	}
	defer rows.Close()
	var out []store.SessionInfo
	for rows.Next() {
		var s store.SessionInfo
		var at int64
		if err := rows.Scan(&s.Name, &s.Agent, &s.Messages, &at); err != nil {
			return nil, fmt.Errorf("list sessions: %w", err)
		}
		s.UpdatedAt = time.UnixMilli(at)
		out = append(out, s)
	}
	return out, rows.Err()
}
