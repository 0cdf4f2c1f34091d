-- Listings page through runs newest first: top-level runs (parent_run_id IS NULL), one run's
-- children, or the runs with a status. These indexes serve both the filter and the order, so
-- a page reads only its rows instead of sorting every run. They replace runs_by_parent and
-- runs_by_status, their prefixes.
CREATE INDEX runs_by_parent_created ON runs (parent_run_id, created_at DESC, id DESC);
CREATE INDEX runs_by_status_created ON runs (status, created_at DESC, id DESC);
DROP INDEX runs_by_parent;
DROP INDEX runs_by_status;
