package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"tandem/engine"
)

// SeedFlowName is the flow the runs SeedRuns writes belong to.
const SeedFlowName = "seeded"

const seedSource = "name: seeded\nsteps:\n  - id: hello\n    run: [\"echo\", \"hello\"]\n"

// SeedRuns fills the database with n finished top-level runs of a one-step flow, each with
// the four events a real run of it has (run started, step started, step succeeded, run
// succeeded), and one child run under every tenth, created a second apart and ending just
// before from. It writes the rows directly, a thousand runs a transaction, so benchmarks can
// measure a database holding 100,000 runs without spending minutes building it. Seeded run
// ids start with "seed" and sort by creation.
func (d *DB) SeedRuns(ctx context.Context, n int, from time.Time) error {
	const batch = 1000
	flowPath := "/seed/" + SeedFlowName + ".yaml"
	started := mustMarshal(engine.RunStartedData{FlowName: SeedFlowName, FlowPath: flowPath, Source: seedSource,
		Inputs: map[string]any{}})
	ok := mustMarshal(engine.RunResultData{Output: map[string]any{"hello": "hello"}})
	for lo := 0; lo < n; lo += batch {
		err := d.write(ctx, func(tx *writeTx) error {
			runs, err := tx.PrepareContext(ctx, `INSERT INTO runs (id, flow_name, flow_path, status, parent_run_id, parent_step_id,
				created_at, updated_at, ended_at, last_seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0)`)
			if err != nil {
				return err
			}
			defer runs.Close()
			evs := tx.w.insertEvent
			for i := lo; i < min(lo+batch, n); i++ {
				at := from.Add(time.Duration(i-n) * time.Second)
				id := fmt.Sprintf("seed%07d", i)
				if err := seedRun(ctx, tx, runs, evs, id, "", at, started, ok); err != nil {
					return err
				}
				if i%10 == 0 {
					child := id + ".hello.1"
					if err := seedRun(ctx, tx, runs, evs, child, id, at, started, ok); err != nil {
						return err
					}
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("seed runs: %w", err)
		}
	}
	return nil
}

// seedRun writes one finished run's index row and events.
func seedRun(ctx context.Context, tx *writeTx, runs, evs *sql.Stmt, id, parent string, at time.Time, started, ok []byte) error {
	end := at.Add(3 * time.Millisecond)
	var parentStep any
	if parent != "" {
		parentStep = "hello"
	}
	if _, err := runs.ExecContext(ctx, id, SeedFlowName, "/seed/"+SeedFlowName+".yaml", string(engine.RunStatusSucceeded),
		nullable(parent), parentStep, ms(at), ms(end), ms(end)); err != nil {
		return err
	}
	step := mustMarshal(engine.StepStartedData{Key: id + "/hello/1", Input: "echo hello", Kind: "run"})
	done := mustMarshal(engine.StepResultData{Output: "hello", ExitCode: new(int), DurationMS: 2})
	var written []engine.Event
	for _, e := range []struct {
		typ     engine.EventType
		step    string
		attempt int
		data    []byte
	}{
		{engine.RunStarted, "", 0, started},
		{engine.StepStarted, "hello", 1, step},
		{engine.StepSucceeded, "hello", 1, done},
		{engine.RunSucceeded, "", 0, ok},
	} {
		res, err := evs.ExecContext(ctx, id, string(e.typ), e.step, e.attempt, ms(end), e.data)
		if err != nil {
			return err
		}
		seq, err := res.LastInsertId()
		if err != nil {
			return err
		}
		written = append(written, engine.Event{Seq: seq, RunID: id})
	}
	if err := keepSpans(ctx, tx, written); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, `UPDATE runs SET last_seq = ? WHERE id = ?`, written[len(written)-1].Seq, id)
	return err
}

// mustMarshal encodes the seed's payloads: structs of strings and numbers, which always encode.
func mustMarshal(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}
