-- The store writes the spans itself (store/spans.go), in the transaction that inserts the
-- events: it knows the run the log ends with while no other process has appended since its
-- own last event, and reads it otherwise. The trigger ran its program for every event, which
-- cost a step as much CPU as the insert. A tandem from before this migration refuses to open
-- the database once it is applied; one that had it open before must not keep writing to it.
DROP TRIGGER IF EXISTS events_start_span;
