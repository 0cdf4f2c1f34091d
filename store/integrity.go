package store

import (
	"context"
	"fmt"
)

// CheckIntegrity runs SQLite's integrity check over the whole database and returns the
// problems it reports; none means the file is sound.
func (d *DB) CheckIntegrity(ctx context.Context) ([]string, error) {
	rows, err := d.db.QueryContext(ctx, `PRAGMA integrity_check`)
	if err != nil {
		return nil, fmt.Errorf("check integrity: %w", err)
	}
	defer rows.Close()
	var problems []string
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			return nil, fmt.Errorf("check integrity: %w", err)
		}
		if line != "ok" {
			problems = append(problems, line)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("check integrity: %w", err)
	}
	return problems, nil
}
