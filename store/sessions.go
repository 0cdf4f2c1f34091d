package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"tandem/agents"
	"tandem/agents/model"
)

var _ agents.Memory = (*DB)(nil)

// LoadSession returns a session's conversation, empty when the session is new.
func (d *DB) LoadSession(ctx context.Context, name string) ([]model.Message, error) {
	var raw []byte
	err := d.db.QueryRowContext(ctx, `SELECT messages FROM sessions WHERE name = ?`, name).Scan(&raw)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("load session %s: %w", name, err)
	}
	var msgs []model.Message
	if err := json.Unmarshal(raw, &msgs); err != nil {
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
	return d.write(ctx, func(tx *writeTx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO sessions (name, agent, messages, updated_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (name) DO UPDATE SET agent = excluded.agent, messages = excluded.messages, updated_at = excluded.updated_at`,
			name, agent, raw, time.Now().UnixMilli())
		if err != nil {
			return fmt.Errorf("save session %s: %w", name, err)
		}
		return nil
	})
}

// SessionInfo describes a stored session.
type SessionInfo struct {
	Name      string    `json:"name"`
	Agent     string    `json:"agent"`
	Messages  int       `json:"messages"`
	UpdatedAt time.Time `json:"updated"`
}

// Sessions lists sessions, most recent first.
func (d *DB) Sessions(ctx context.Context) ([]SessionInfo, error) {
	rows, err := d.db.QueryContext(ctx, `SELECT name, agent, json_array_length(messages), updated_at FROM sessions ORDER BY updated_at DESC`)
	if err != nil {
		return nil, fmt.Errorf("list sessions: %w", err)
	}
	defer rows.Close()
	var out []SessionInfo
	for rows.Next() {
		var s SessionInfo
		var at int64
		if err := rows.Scan(&s.Name, &s.Agent, &s.Messages, &at); err != nil {
			return nil, fmt.Errorf("list sessions: %w", err)
		}
		s.UpdatedAt = time.UnixMilli(at)
		out = append(out, s)
	}
	return out, rows.Err()
}
