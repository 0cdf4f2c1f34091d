-- tandem's schema on PostgreSQL: the same tables as the SQLite store (times in unix
-- milliseconds, so a copy between them is exact). Ids sort bytewise (COLLATE "C") as SQLite
-- sorts them, which listings and prefix lookups rely on.
CREATE TABLE runs (
    id             TEXT COLLATE "C" PRIMARY KEY,
    flow_name      TEXT NOT NULL,
    flow_path      TEXT NOT NULL,
    status         TEXT NOT NULL,
    parent_run_id  TEXT COLLATE "C",
    parent_step_id TEXT,
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL,
    ended_at       BIGINT,
    last_seq       BIGINT NOT NULL DEFAULT 0,
    lease_owner    TEXT,
    lease_until    BIGINT,
    lease_epoch    BIGINT NOT NULL DEFAULT 0 -- a fencing token: grows every time the lease is taken
);

CREATE INDEX runs_by_created ON runs (created_at DESC, id DESC);
CREATE INDEX runs_by_parent_created ON runs (parent_run_id, created_at DESC, id DESC);
CREATE INDEX runs_by_status_created ON runs (status, created_at DESC, id DESC);

CREATE TABLE events (
    seq     BIGINT PRIMARY KEY, -- from event_seq: increasing across all runs, in commit order
    run_id  TEXT COLLATE "C" NOT NULL REFERENCES runs (id),
    type    TEXT NOT NULL,
    step_id TEXT NOT NULL DEFAULT '',
    attempt INTEGER NOT NULL DEFAULT 0,
    at      BIGINT NOT NULL,
    data    BYTEA
);

CREATE INDEX events_by_run ON events (run_id, seq);

-- One row: the last seq handed out. A writer takes its seqs by updating it, and the row lock
-- it holds until commit makes seqs commit in order, so a follower reading "seq > last seen"
-- never skips an event that commits late (a sequence would allow that).
CREATE TABLE event_seq (
    one  BOOLEAN PRIMARY KEY DEFAULT true CHECK (one),
    last BIGINT NOT NULL
);
INSERT INTO event_seq (one, last) VALUES (true, 0);

-- Agent memory: one conversation per session name.
CREATE TABLE sessions (
    name       TEXT PRIMARY KEY,
    agent      TEXT NOT NULL,
    messages   TEXT NOT NULL, -- JSON array of model messages
    updated_at BIGINT NOT NULL
);
