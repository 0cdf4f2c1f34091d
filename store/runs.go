package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"tandem/engine"
)

// CreateRun inserts a run's index row and its first event in one transaction.
func (d *DB) CreateRun(ctx context.Context, info engine.RunInfo, first engine.Event) error {
	return d.write(ctx, func(tx *writeTx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO runs (id, flow_name, flow_path, status, parent_run_id, parent_step_id, created_at, updated_at, session)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, info.ID, info.FlowName, info.FlowPath, string(info.Status),
			nullable(info.ParentRunID), nullable(info.ParentStepID), ms(info.CreatedAt), ms(info.CreatedAt), info.Session)
		if err != nil {
			return fmt.Errorf("create run %s: %w", info.ID, err)
		}
		evs := []engine.Event{first}
		evs[0].RunID = info.ID
		if err := insertEvents(ctx, tx, evs); err != nil {
			return fmt.Errorf("create run %s: %w", info.ID, err)
		}
		_, err = tx.ExecContext(ctx, `UPDATE runs SET last_seq = ? WHERE id = ?`, evs[0].Seq, info.ID)
		return err
	})
}

const runColumns = `id, flow_name, flow_path, status, parent_run_id, parent_step_id, created_at, updated_at, ended_at, last_seq, lease_owner, lease_until, session`

// runColumnsBeforeSession read a database opened read-only before migration 6 gave runs
// their session.
const runColumnsBeforeSession = `id, flow_name, flow_path, status, parent_run_id, parent_step_id, created_at, updated_at, ended_at, last_seq, lease_owner, lease_until, '' AS session`

// columns are the run columns this database has.
func (d *DB) columns() string {
	if d.noSession {
		return runColumnsBeforeSession
	}
	return runColumns
}

// Run returns a run by id, or by a unique prefix of its id.
func (d *DB) Run(ctx context.Context, idOrPrefix string) (engine.RunInfo, error) {
	cols := d.columns()
	rows, err := d.db.QueryContext(ctx, `SELECT `+cols+` FROM runs WHERE id = ?
		UNION ALL SELECT `+cols+` FROM (SELECT `+cols+` FROM runs WHERE id > ? AND id < ? ORDER BY id LIMIT 2)
		LIMIT 3`, idOrPrefix, idOrPrefix, idOrPrefix+"\U0010FFFF")
	if err != nil {
		return engine.RunInfo{}, fmt.Errorf("find run %s: %w", idOrPrefix, err)
	}
	runs, err := scanRuns(rows)
	if err != nil {
		return engine.RunInfo{}, err
	}
	switch {
	case len(runs) > 0 && runs[0].ID == idOrPrefix:
		return runs[0], nil
	case len(runs) == 1 && idOrPrefix != "":
		return runs[0], nil
	case len(runs) > 1 && idOrPrefix != "":
		return engine.RunInfo{}, fmt.Errorf("find run %s: %w (%s, %s, ...)", idOrPrefix, engine.ErrAmbiguousRun, runs[0].ID, runs[1].ID)
	}
	return engine.RunInfo{}, fmt.Errorf("find run %q: %w", idOrPrefix, engine.ErrRunNotFound)
}

// Runs lists runs, newest first, a page at a time (Limit, After).
func (d *DB) Runs(ctx context.Context, q engine.RunQuery) ([]engine.RunInfo, error) {
	query, args := runsQuery(d.columns(), q)
	rows, err := d.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("list runs: %w", err)
	}
	return scanRuns(rows)
}

// runsQuery is the SQL of a listing. A top-level or children listing is a range of
// runs_by_parent_created read in order, and a status listing one of runs_by_status_created
// (sorted only when it names several statuses), so a page costs its rows, not every run.
func runsQuery(cols string, q engine.RunQuery) (string, []any) {
	var where []string
	var args []any
	if len(q.Status) > 0 {
		marks := make([]string, len(q.Status))
		for i, s := range q.Status {
			marks[i] = "?"
			args = append(args, string(s))
		}
		where = append(where, "status IN ("+strings.Join(marks, ",")+")")
	}
	if q.ParentID != "" {
		where = append(where, "parent_run_id = ?")
		args = append(args, q.ParentID)
	}
	switch {
	case q.TopLevel && len(q.Status) > 0:
		// The unary + keeps the planner on runs_by_status_created: a status filter narrows
		// more than "top-level" does, and reading the parent index would walk every run.
		where = append(where, "+parent_run_id IS NULL")
	case q.TopLevel:
		where = append(where, "parent_run_id IS NULL")
	}
	if !q.After.IsZero() {
		where = append(where, "(created_at, id) < (?, ?)")
		args = append(args, ms(q.After.CreatedAt), q.After.ID)
	}
	query := `SELECT ` + cols + ` FROM runs`
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	query += " ORDER BY created_at DESC, id DESC"
	if q.Limit > 0 {
		query += " LIMIT ?"
		args = append(args, q.Limit)
	}
	return query, args
}

func scanRuns(rows *sql.Rows) ([]engine.RunInfo, error) {
	defer rows.Close()
	var out []engine.RunInfo
	for rows.Next() {
		var r engine.RunInfo
		var status string
		var parent, parentStep, leaseOwner sql.NullString
		var created, updated, ended, leaseUntil sql.NullInt64
		if err := rows.Scan(&r.ID, &r.FlowName, &r.FlowPath, &status, &parent, &parentStep, &created, &updated, &ended, &r.LastSeq, &leaseOwner, &leaseUntil, &r.Session); err != nil {
			return nil, fmt.Errorf("scan run: %w", err)
		}
		r.Status = engine.RunStatus(status)
		r.ParentRunID, r.ParentStepID = parent.String, parentStep.String
		r.CreatedAt, r.UpdatedAt, r.EndedAt = fromMS(created), fromMS(updated), fromMS(ended)
		r.LeaseOwner, r.LeaseUntil = leaseOwner.String, fromMS(leaseUntil)
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list runs: %w", err)
	}
	return out, nil
}

// AcquireLease takes a free or expired lease of a run under a new epoch.
func (d *DB) AcquireLease(ctx context.Context, runID, owner string, now, until time.Time) (engine.Lease, bool, error) {
	return d.takeLease(ctx, runID, owner, until, `lease_owner IS NULL OR lease_until < ?`, ms(now))
}

// TakeLease moves a lease from a dead owner to owner under a new epoch, if from still holds it.
func (d *DB) TakeLease(ctx context.Context, runID, from, owner string, until time.Time) (engine.Lease, bool, error) {
	return d.takeLease(ctx, runID, owner, until, `lease_owner = ?`, from)
}

// takeLease sets a new owner and epoch where cond (one parameter, arg) holds.
func (d *DB) takeLease(ctx context.Context, runID, owner string, until time.Time, cond string, arg any) (engine.Lease, bool, error) {
	l := engine.Lease{RunID: runID, Owner: owner}
	var ok bool
	err := d.write(ctx, func(tx *writeTx) error {
		err := tx.QueryRowContext(ctx, `UPDATE runs SET lease_owner = ?, lease_until = ?, lease_epoch = lease_epoch + 1
			WHERE id = ? AND (`+cond+`) RETURNING lease_epoch`, owner, ms(until), runID, arg).Scan(&l.Epoch)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("lease run %s: %w", runID, err)
		}
		ok = true
		return nil
	})
	if err != nil || !ok {
		return engine.Lease{}, false, err
	}
	return l, true, nil
}

// RenewLease extends l if nobody took the run's lease since.
func (d *DB) RenewLease(ctx context.Context, l engine.Lease, until time.Time) (bool, error) {
	var ok bool
	err := d.write(ctx, func(tx *writeTx) error {
		res, err := tx.ExecContext(ctx, `UPDATE runs SET lease_until = ? WHERE id = ? AND lease_owner = ? AND lease_epoch = ?`,
			ms(until), l.RunID, l.Owner, l.Epoch)
		if err != nil {
			return fmt.Errorf("renew lease of run %s: %w", l.RunID, err)
		}
		n, err := res.RowsAffected()
		ok = n == 1
		return err
	})
	return ok, err
}

// ReleaseLease gives l up if it is still the run's lease.
func (d *DB) ReleaseLease(ctx context.Context, l engine.Lease) error {
	return d.write(ctx, func(tx *writeTx) error {
		_, err := tx.ExecContext(ctx, `UPDATE runs SET lease_owner = NULL, lease_until = NULL
			WHERE id = ? AND lease_owner = ? AND lease_epoch = ?`, l.RunID, l.Owner, l.Epoch)
		if err != nil {
			return fmt.Errorf("release lease of run %s: %w", l.RunID, err)
		}
		return nil
	})
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}
