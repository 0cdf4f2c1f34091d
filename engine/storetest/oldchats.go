package storetest

import (
	"context"
	"testing"
	"time"

	"tandem/engine"
)

// CreateChatTurnsOfOldSchema writes the runs a migration that adds runs.session must fill
// in: two chat turns of one agent in sessions "notes" and "todo", a flow whose input happens
// to be named session (not a chat), and an agent tool's run under t1 (a child, not a turn).
func CreateChatTurnsOfOldSchema(ctx context.Context, t *testing.T, s engine.Store) time.Time {
	t.Helper()
	at := time.UnixMilli(1_700_000_000_000)
	for _, r := range []struct{ id, parent, path, session string }{
		{"t1", "", "/w/.helper.yaml.ask.yaml", "notes"},
		{"t2", "", "/w/.helper.yaml.ask.yaml", "todo"},
		{"f", "", "/w/flow.yaml", "x"},
		{"t1.a.1", "t1", "/w/.sub.yaml.ask.yaml", "y"},
	} {
		data := `{"flow_name":"helper","inputs":{"prompt":"hi","session":"` + r.session + `","model":""}}`
		err := s.CreateRun(ctx, engine.RunInfo{ID: r.id, FlowName: "helper", FlowPath: r.path, Status: engine.RunStatusRunning,
			ParentRunID: r.parent, CreatedAt: at}, engine.Event{RunID: r.id, Type: engine.RunStarted, Time: at, Data: []byte(data), Status: engine.RunStatusRunning})
		if err != nil {
			t.Fatal(err)
		}
	}
	return at
}

// OldChatTurnSessions is the session each run CreateChatTurnsOfOldSchema wrote must have
// once migrated.
var OldChatTurnSessions = map[string]string{"t1": "notes", "t2": "todo", "f": "", "t1.a.1": ""}
