-- Agent memory: one conversation per session name, continued by later asks and chats.
CREATE TABLE sessions (
    name       TEXT PRIMARY KEY,
    agent      TEXT NOT NULL,
    messages   BLOB NOT NULL, -- JSON array of model messages
    updated_at INTEGER NOT NULL
) STRICT;
