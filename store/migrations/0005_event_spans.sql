-- One b-tree per event: a run's events are found through spans instead of an index entry per
-- event. A span starts at an event whose run differs from the event before it in the log and
-- runs up to the next span's start, so a run advancing alone writes one span, not one index
-- row per event. Runs whose events interleave write a span at each switch.
CREATE TABLE event_spans (
    start_seq INTEGER PRIMARY KEY, -- the span's first event
    run_id    TEXT NOT NULL
) STRICT;

CREATE INDEX event_spans_by_run ON event_spans (run_id, start_seq);

INSERT INTO event_spans (start_seq, run_id)
SELECT seq, run_id FROM (SELECT seq, run_id, lag(run_id) OVER (ORDER BY seq) AS prev FROM events)
WHERE prev IS NULL OR prev <> run_id;

DROP INDEX events_by_run;

-- The spans are kept inside SQLite, so no writer can forget them and a step's transaction makes
-- no round trip for them: an event whose run is not the run of the log's last span starts one.
CREATE TRIGGER events_start_span AFTER INSERT ON events
WHEN NEW.run_id IS NOT (SELECT run_id FROM event_spans ORDER BY start_seq DESC LIMIT 1)
BEGIN
    INSERT INTO event_spans (start_seq, run_id) VALUES (NEW.seq, NEW.run_id);
END;
