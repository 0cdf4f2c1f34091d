package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"

	"tandem/flows"
)

// flowExecutor runs a sub-flow as a child run, linked to the parent's run and step. The child
// id is derived from the parent's (run.step.attempt), so a resumed parent resumes the same
// child instead of starting another.
type flowExecutor struct{ engine *Engine }

func (flowExecutor) Prepare(s *flows.Step, data map[string]any) (string, error) {
	with := make(map[string]string, len(s.With))
	for _, k := range sortedKeys(s.With) {
		v, err := flows.Render(s.With[k], data)
		if err != nil {
			return "", fmt.Errorf("with.%s: %w", k, err)
		}
		with[k] = v
	}
	b, err := json.Marshal(with)
	return string(b), err
}

func (x flowExecutor) Execute(ctx context.Context, sr *StepRun) (Result, error) {
	path := sr.Step.Flow
	if !filepath.IsAbs(path) {
		path = filepath.Join(sr.Flow.Dir, path)
	}
	var with map[string]string
	if err := json.Unmarshal([]byte(sr.Input), &with); err != nil {
		return Result{}, Permanent(fmt.Errorf("sub-flow inputs must be a JSON object of strings: %w", err))
	}
	child, err := x.engine.RunChild(ctx, ChildRun{ParentRunID: sr.RunID, ParentStepID: sr.StepID,
		Attempt: sr.Attempt, Path: path, Inputs: with})
	if err != nil {
		return Result{}, err
	}
	return Result{Output: child.Output, Tokens: child.Tokens}, nil
}

// ChildRun describes a run started on behalf of a step (a sub-flow step, or an agent's flow
// tool).
type ChildRun struct {
	ParentRunID  string
	ParentStepID string
	Attempt      int
	Path         string            // flow file
	Inputs       map[string]string // as strings, typed by the flow's declared inputs
	Typed        map[string]any    // already-typed inputs (tool calls); used when Inputs is nil
	// Suffix tells apart several child runs of one attempt (an agent calling a flow tool
	// twice); it is part of the derived id, so a resumed step finds the same children.
	Suffix string
	// Source, when set, is the flow's text (a generated flow); Path then only names it.
	Source []byte
}

// ChildResult is a finished child run.
type ChildResult struct {
	RunID  string
	Output string // JSON of the run's output
	Tokens *Tokens
}

// RunChild starts (or resumes) a linked child run and executes it to the end.
func (e *Engine) RunChild(ctx context.Context, c ChildRun) (ChildResult, error) {
	var f *flows.Flow
	var err error
	if c.Source != nil {
		f, err = flows.Parse(c.Path, c.Source)
	} else {
		f, err = flows.Load(c.Path)
	}
	if err != nil {
		return ChildResult{}, Permanent(fmt.Errorf("load sub-flow %s: %w", c.Path, err))
	}
	var inputs map[string]any
	if c.Inputs != nil || c.Typed == nil {
		inputs, err = flows.ResolveInputs(f, c.Inputs)
	} else {
		inputs, err = flows.CoerceInputs(f, c.Typed)
	}
	if err != nil {
		return ChildResult{}, Permanent(fmt.Errorf("inputs of sub-flow %s: %w", f.Name, err))
	}
	id := childRunID(c.ParentRunID, c.ParentStepID, max(c.Attempt, 1))
	if c.Suffix != "" {
		id += "." + c.Suffix
	}
	info, err := e.store.Run(ctx, id)
	if err == nil && info.ID != id {
		err = ErrRunNotFound // a prefix of another child's id (an agent's tool calls)
	}
	switch {
	case errors.Is(err, ErrRunNotFound):
		if err := e.checkNesting(ctx, c.ParentRunID, f.Name); err != nil {
			return ChildResult{}, err
		}
		if _, err := e.Start(ctx, f, inputs, StartOptions{ParentRunID: c.ParentRunID, ParentStepID: c.ParentStepID, RunID: id}); err != nil {
			return ChildResult{}, err
		}
	case err != nil:
		return ChildResult{}, err
	case info.ParentRunID != c.ParentRunID || info.ParentStepID != c.ParentStepID || info.FlowName != f.Name:
		// Resuming means finding the same child; anything else is another step's run.
		return ChildResult{}, Permanent(fmt.Errorf("sub-flow run %s exists but belongs to step %s of run %s (flow %s), not to step %s (flow %s)",
			id, info.ParentStepID, info.ParentRunID, info.FlowName, c.ParentStepID, f.Name))
	}
	st, err := e.Execute(ctx, id)
	if err != nil {
		return ChildResult{RunID: id}, fmt.Errorf("sub-flow run %s: %w", id, err)
	}
	res := ChildResult{RunID: id, Output: string(mustJSON(st.Output))}
	if st.Tokens.Prompt+st.Tokens.Output > 0 {
		t := st.Tokens
		res.Tokens = &t
	}
	switch st.Status {
	case RunStatusSucceeded:
		return res, nil
	case RunStatusWaiting:
		return res, fmt.Errorf("sub-flow run %s is waiting; waits inside sub-flows are not supported yet", id)
	default:
		return res, fmt.Errorf("sub-flow run %s %s: %s", id, st.Status, st.Error)
	}
}
