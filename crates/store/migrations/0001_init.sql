-- Portable DDL: the same text runs on SQLite and PostgreSQL. Times are milliseconds
-- since the Unix epoch; lists are JSON arrays in TEXT columns.
CREATE TABLE events (
    id TEXT PRIMARY KEY,
    time BIGINT NOT NULL,
    recv_time BIGINT NOT NULL,
    format TEXT NOT NULL,
    source TEXT NOT NULL,
    host TEXT,
    search TEXT NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX events_time ON events (time);
CREATE TABLE incidents (
    id TEXT PRIMARY KEY,
    rule_id TEXT NOT NULL,
    rule_title TEXT NOT NULL,
    reference_rule TEXT,
    severity TEXT NOT NULL,
    group_key TEXT NOT NULL,
    status TEXT NOT NULL,
    assignee TEXT,
    techniques TEXT NOT NULL,
    hosts TEXT NOT NULL,
    first_seen BIGINT NOT NULL,
    last_seen BIGINT NOT NULL,
    alert_count BIGINT NOT NULL,
    event_count BIGINT NOT NULL,
    created BIGINT NOT NULL,
    updated BIGINT NOT NULL
);
CREATE INDEX incidents_open ON incidents (rule_id, group_key, status);
CREATE INDEX incidents_last_seen ON incidents (last_seen);
CREATE TABLE incident_events (
    incident_id TEXT NOT NULL,
    event_id TEXT NOT NULL,
    time BIGINT NOT NULL,
    PRIMARY KEY (incident_id, event_id)
);
CREATE TABLE incident_notes (
    id TEXT PRIMARY KEY,
    incident_id TEXT NOT NULL,
    author TEXT NOT NULL,
    time BIGINT NOT NULL,
    kind TEXT NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX incident_notes_incident ON incident_notes (incident_id, time);
CREATE TABLE users (
    username TEXT PRIMARY KEY,
    password_hash TEXT NOT NULL,
    created BIGINT NOT NULL
);
CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    username TEXT NOT NULL,
    csrf TEXT NOT NULL,
    created BIGINT NOT NULL,
    expires BIGINT NOT NULL
);
CREATE TABLE lists (
    name TEXT PRIMARY KEY,
    entries TEXT NOT NULL,
    updated BIGINT NOT NULL,
    updated_by TEXT NOT NULL
);
CREATE TABLE checkpoints (
    name TEXT PRIMARY KEY,
    position BIGINT NOT NULL
)
