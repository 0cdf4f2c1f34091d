-- The memory session a chat or ask turn continued, so listings group turns by conversation,
-- not only by agent. '' for every other run. Turns recorded before this column say their
-- session in their run_started event's inputs (an agent's one-step flow, .AGENT.ask.yaml).
ALTER TABLE runs ADD COLUMN session TEXT NOT NULL DEFAULT '';

UPDATE runs SET session = coalesce((
    SELECT json_extract(CAST(e.data AS TEXT), '$.inputs.session') FROM events e
    WHERE e.seq = (SELECT min(start_seq) FROM event_spans s WHERE s.run_id = runs.id)
      AND e.type = 'run_started' AND json_valid(CAST(e.data AS TEXT))), '')
WHERE flow_path LIKE '%.ask.yaml' AND parent_run_id IS NULL;
