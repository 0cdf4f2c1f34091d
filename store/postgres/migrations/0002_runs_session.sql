-- The memory session a chat or ask turn continued, so listings group turns by conversation,
-- not only by agent. '' for every other run. Turns recorded before this column say their
-- session in their run_started event's inputs (an agent's one-step flow, .AGENT.ask.yaml).
ALTER TABLE runs ADD COLUMN session TEXT NOT NULL DEFAULT '';

UPDATE runs r SET session = coalesce(convert_from(e.data, 'UTF8')::jsonb -> 'inputs' ->> 'session', '')
FROM events e
WHERE e.run_id = r.id AND e.type = 'run_started' AND r.flow_path LIKE '%.ask.yaml' AND r.parent_run_id IS NULL;
