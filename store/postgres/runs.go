package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"tandem/engine"
)

// CreateRun inserts a run's index row and its first event in one transaction. It wakes no
// worker: the starting process executes the run, or announces it (AnnounceRun) when detached.
func (d *DB) CreateRun(ctx context.Context, info engine.RunInfo, first engine.Event) error {
	return pgx.BeginFunc(ctx, d.pool, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO runs (id, flow_name, flow_path, status, parent_run_id, parent_step_id, created_at, updated_at, session)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $8)`, info.ID, info.FlowName, info.FlowPath, string(info.Status),
			nullable(info.ParentRunID), nullable(info.ParentStepID), ms(info.CreatedAt), info.Session)
		if err != nil {
			return fmt.Errorf("create run %s: %w", info.ID, err)
		}
		first.RunID, first.Status = info.ID, ""
		evs := []engine.Event{first}
		if err := appendEvents(ctx, tx, evs); err != nil {
			return fmt.Errorf("create run %s: %w", info.ID, err)
		}
		if _, err := tx.Exec(ctx, `UPDATE runs SET last_seq = $1 WHERE id = $2`, evs[0].Seq, info.ID); err != nil {
			return fmt.Errorf("create run %s: %w", info.ID, err)
		}
		return nil
	})
}

const runColumns = `id, flow_name, flow_path, status, parent_run_id, parent_step_id, created_at, updated_at, ended_at, last_seq, lease_owner, lease_until, session`

// Run returns a run by id, or by a unique prefix of its id.
func (d *DB) Run(ctx context.Context, idOrPrefix string) (engine.RunInfo, error) {
	like := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(idOrPrefix) + "%"
	rows, err := d.pool.Query(ctx, `(SELECT `+runColumns+` FROM runs WHERE id = $1)
		UNION ALL (SELECT `+runColumns+` FROM runs WHERE id LIKE $2 AND id <> $1 ORDER BY id LIMIT 2)`, idOrPrefix, like)
	if err != nil {
		return engine.RunInfo{}, fmt.Errorf("find run %s: %w", idOrPrefix, err)
	}
	runs, err := scanRuns(rows)
	if err != nil {
		return engine.RunInfo{}, fmt.Errorf("find run %s: %w", idOrPrefix, err)
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
	query, args := runsQuery(q)
	rows, err := d.pool.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("list runs: %w", err)
	}
	runs, err := scanRuns(rows)
	if err != nil {
		return nil, fmt.Errorf("list runs: %w", err)
	}
	return runs, nil
}

// runsQuery is the SQL of a listing; each filter has an index that also serves the order.
func runsQuery(q engine.RunQuery) (string, []any) {
	var where []string
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	if len(q.Status) > 0 {
		statuses := make([]string, len(q.Status))
		for i, s := range q.Status {
			statuses[i] = string(s)
		}
		where = append(where, "status = ANY("+arg(statuses)+")")
	}
	if q.ParentID != "" {
		where = append(where, "parent_run_id = "+arg(q.ParentID))
	}
	if q.TopLevel {
		where = append(where, "parent_run_id IS NULL")
	}
	if !q.After.IsZero() {
		where = append(where, "(created_at, id) < ("+arg(ms(q.After.CreatedAt))+", "+arg(q.After.ID)+")")
	}
	query := `SELECT ` + runColumns + ` FROM runs`
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	query += " ORDER BY created_at DESC, id DESC"
	if q.Limit > 0 {
		query += " LIMIT " + arg(q.Limit)
	}
	return query, args
}

func scanRuns(rows pgx.Rows) ([]engine.RunInfo, error) {
	defer rows.Close()
	var out []engine.RunInfo
	for rows.Next() {
		var r engine.RunInfo
		var status string
		var parent, parentStep, leaseOwner *string
		var created, updated, ended, leaseUntil *int64
		if err := rows.Scan(&r.ID, &r.FlowName, &r.FlowPath, &status, &parent, &parentStep, &created, &updated, &ended, &r.LastSeq, &leaseOwner, &leaseUntil, &r.Session); err != nil {
			return nil, fmt.Errorf("scan run: %w", err)
		}
		r.Status = engine.RunStatus(status)
		r.ParentRunID, r.ParentStepID, r.LeaseOwner = deref(parent), deref(parentStep), deref(leaseOwner)
		r.CreatedAt, r.UpdatedAt, r.EndedAt, r.LeaseUntil = fromMS(created), fromMS(updated), fromMS(ended), fromMS(leaseUntil)
		out = append(out, r)
	}
	return out, rows.Err()
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// AcquireLease takes a free or expired lease of a run under a new epoch. Under READ
// COMMITTED a concurrent taker waits for the row and re-checks the condition on the new
// version, so two never both win.
func (d *DB) AcquireLease(ctx context.Context, runID, owner string, now, until time.Time) (engine.Lease, bool, error) {
	return d.takeLease(ctx, runID, owner, until, `lease_owner IS NULL OR lease_until < $4`, ms(now))
}

// TakeLease moves a lease from a dead owner to owner under a new epoch, if from still holds it.
func (d *DB) TakeLease(ctx context.Context, runID, from, owner string, until time.Time) (engine.Lease, bool, error) {
	return d.takeLease(ctx, runID, owner, until, `lease_owner = $4`, from)
}

func (d *DB) takeLease(ctx context.Context, runID, owner string, until time.Time, cond string, arg any) (engine.Lease, bool, error) {
	l := engine.Lease{RunID: runID, Owner: owner}
	err := d.pool.QueryRow(ctx, `UPDATE runs SET lease_owner = $1, lease_until = $2, lease_epoch = lease_epoch + 1
		WHERE id = $3 AND (`+cond+`) RETURNING lease_epoch`, owner, ms(until), runID, arg).Scan(&l.Epoch)
	if errors.Is(err, pgx.ErrNoRows) {
		return engine.Lease{}, false, nil
	}
	if err != nil {
		return engine.Lease{}, false, fmt.Errorf("lease run %s: %w", runID, err)
	}
	return l, true, nil
}

// RenewLease extends l if nobody took the run's lease since.
func (d *DB) RenewLease(ctx context.Context, l engine.Lease, until time.Time) (bool, error) {
	tag, err := d.pool.Exec(ctx, `UPDATE runs SET lease_until = $1 WHERE id = $2 AND lease_owner = $3 AND lease_epoch = $4`,
		ms(until), l.RunID, l.Owner, l.Epoch)
	if err != nil {
		return false, fmt.Errorf("renew lease of run %s: %w", l.RunID, err)
	}
	return tag.RowsAffected() == 1, nil
}

// ReleaseLease gives l up if it is still the run's lease. A run released while listed
// running or queued (a continue applied by a process that does not advance runs itself)
// is work for a worker, so it wakes the listening ones; the release is their cue, not the
// append before it, which they would find still leased.
func (d *DB) ReleaseLease(ctx context.Context, l engine.Lease) error {
	_, err := d.pool.Exec(ctx, `WITH r AS (UPDATE runs SET lease_owner = NULL, lease_until = NULL
			WHERE id = $1 AND lease_owner = $2 AND lease_epoch = $3 RETURNING id, status, parent_run_id)
		SELECT pg_notify($4, id) FROM r WHERE status IN ($5, $6) AND parent_run_id IS NULL`, l.RunID, l.Owner, l.Epoch, d.channel,
		string(engine.RunStatusRunning), string(engine.RunStatusQueued))
	if err != nil {
		return fmt.Errorf("release lease of run %s: %w", l.RunID, err)
	}
	return nil
}
