-- Listings page through runs newest first, top-level runs (parent_run_id IS NULL) or one
-- run's children: this index serves both the filter and the order, so a page reads only its
-- rows instead of sorting every run. It replaces runs_by_parent, whose prefix it is.
CREATE INDEX runs_by_parent_created ON runs (parent_run_id, created_at DESC, id DESC);
DROP INDEX runs_by_parent;
