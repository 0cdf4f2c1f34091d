-- A fencing token: lease_epoch grows every time a run's lease is taken (not renewed), so an
-- advancing process that lost its lease, even for a moment, can no longer append.
ALTER TABLE runs ADD COLUMN lease_epoch INTEGER NOT NULL DEFAULT 0;
