-- The event log is the truth; runs is an index over it for listings and leases.
CREATE TABLE runs (
    id             TEXT PRIMARY KEY,
    flow_name      TEXT NOT NULL,
    flow_path      TEXT NOT NULL,
    status         TEXT NOT NULL,
    parent_run_id  TEXT,
    parent_step_id TEXT,
    created_at     INTEGER NOT NULL, -- unix milliseconds
    updated_at     INTEGER NOT NULL,
    ended_at       INTEGER,
    last_seq       INTEGER NOT NULL DEFAULT 0,
    lease_owner    TEXT,
    lease_until    INTEGER
) STRICT;

CREATE INDEX runs_by_created ON runs (created_at DESC);
CREATE INDEX runs_by_status ON runs (status);
CREATE INDEX runs_by_parent ON runs (parent_run_id);

CREATE TABLE events (
    seq     INTEGER PRIMARY KEY, -- increasing across all runs; never reused (no deletes)
    run_id  TEXT NOT NULL REFERENCES runs (id),
    type    TEXT NOT NULL,
    step_id TEXT NOT NULL DEFAULT '',
    attempt INTEGER NOT NULL DEFAULT 0,
    at      INTEGER NOT NULL, -- unix milliseconds
    data    BLOB
) STRICT;

CREATE INDEX events_by_run ON events (run_id, seq);
