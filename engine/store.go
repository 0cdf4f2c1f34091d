package engine

import (
	"context"
	"errors"
	"time"
)

// ErrRunNotFound is returned by stores when no run has the given id.
var ErrRunNotFound = errors.New("run not found")

// ErrAmbiguousRun is returned when a run id prefix matches more than one run.
var ErrAmbiguousRun = errors.New("run id prefix is ambiguous")

// RunInfo is a run's row in a store's index: what listings need without folding the log.
type RunInfo struct {
	ID           string    `json:"id"`
	FlowName     string    `json:"flow"`
	FlowPath     string    `json:"flow_path"`
	Status       RunStatus `json:"status"`
	ParentRunID  string    `json:"parent_run_id,omitempty"`
	ParentStepID string    `json:"parent_step_id,omitempty"`
	CreatedAt    time.Time `json:"started"`
	UpdatedAt    time.Time `json:"updated"`
	EndedAt      time.Time `json:"ended,omitempty"`
	LastSeq      int64     `json:"last_seq"`
	LeaseOwner   string    `json:"lease_owner,omitempty"`
	LeaseUntil   time.Time `json:"lease_until,omitempty"`
	// Session is the memory session a chat or ask turn continued (StartOptions.Session), so
	// listings can tell two conversations with one agent apart; "" for other runs.
	Session string `json:"session,omitempty"`
}

// RunQuery filters run listings. Zero values mean no filter.
type RunQuery struct {
	Status   []RunStatus
	ParentID string // only children of this run
	TopLevel bool   // only runs without a parent
	Limit    int
	// After continues a listing after the last run of the previous page: only runs older than
	// it (created earlier, or at the same millisecond with a smaller id).
	After RunCursor
}

// RunCursor marks a position in a listing, newest first: the run a page ended with.
type RunCursor struct {
	CreatedAt time.Time
	ID        string
}

// Cursor returns the position just after r in a listing.
func (r RunInfo) Cursor() RunCursor { return RunCursor{CreatedAt: r.CreatedAt, ID: r.ID} }

// IsZero reports whether the cursor is unset (the listing starts at the newest run).
func (c RunCursor) IsZero() bool { return c.ID == "" }

// ErrFenced is returned by AppendFenced and RenewLease when the lease they name is no longer
// the run's: another process took the run over, so this one must stop without writing.
var ErrFenced = errors.New("lost the run's lease to another process")

// ErrStoreFull is returned (wrapped) by a store whose medium has no room left for a write.
// The write is not made, so what was committed before stays as it was: the run can go on once
// there is room again.
var ErrStoreFull = errors.New("the disk holding the database is full")

// EventLog appends and reads run events. Append is atomic: all events commit or none, and
// they get increasing Seq values (written back into the slice).
type EventLog interface {
	// Append writes requests any process may make (signals, cancel and debug requests).
	Append(ctx context.Context, events []Event) error
	// AppendFenced is Append by the process advancing a run: in the same transaction it checks
	// that l is still the run's lease (same owner, same epoch), and otherwise writes nothing and
	// returns ErrFenced. Every event must belong to l.RunID.
	AppendFenced(ctx context.Context, l Lease, events []Event) error
	Events(ctx context.Context, runID string, afterSeq int64) ([]Event, error)
}

// RunIndex lists runs. CreateRun inserts the run's row and its first event in one transaction.
type RunIndex interface {
	CreateRun(ctx context.Context, info RunInfo, first Event) error
	Run(ctx context.Context, idOrPrefix string) (RunInfo, error)
	Runs(ctx context.Context, q RunQuery) ([]RunInfo, error)
}

// Lease is the right to advance one run, as one holder took it. Epoch grows every time the
// lease is taken (not when it is renewed), so it is a fencing token: once anyone else has
// taken the run, an older holder's renewals and fenced appends are refused, even after the
// new holder released it again.
type Lease struct {
	RunID string
	Owner string
	Epoch int64
}

// Leaser gives one process at a time the right to advance a run. A lease expires at `until`
// unless renewed, so a crashed owner's runs can be taken over.
type Leaser interface {
	// AcquireLease takes the lease when it is free or expired at now (a live lease is refused,
	// whoever holds it), under a new epoch, and makes it last until `until`.
	AcquireLease(ctx context.Context, runID, owner string, now, until time.Time) (Lease, bool, error)
	// RenewLease extends l to `until` if it is still the run's lease (even expired, as long as
	// nobody took it since); otherwise it reports false.
	RenewLease(ctx context.Context, l Lease, until time.Time) (bool, error)
	// ReleaseLease frees l if it is still the run's lease.
	ReleaseLease(ctx context.Context, l Lease) error
	// TakeLease moves the lease from `from` (a dead owner) to owner under a new epoch, if from
	// still holds it.
	TakeLease(ctx context.Context, runID, from, owner string, until time.Time) (Lease, bool, error)
}

// Store is everything the engine needs from persistence.
type Store interface {
	EventLog
	RunIndex
	Leaser
}

// Tail is implemented by stores that can list events across all runs after a sequence number,
// which lets other processes (the UI) follow every run cheaply.
type Tail interface {
	EventsSince(ctx context.Context, afterSeq int64, limit int) ([]Event, error)
}
