-- Analytics: their saved state (baselines, series) and the explanations of their
-- findings, kept with the incidents the findings open or extend.
CREATE TABLE analytics_state (
    name TEXT PRIMARY KEY,
    state TEXT NOT NULL,
    updated BIGINT NOT NULL
);
CREATE TABLE incident_findings (
    incident_id TEXT NOT NULL,
    rule_id TEXT NOT NULL,
    event_id TEXT NOT NULL,
    time BIGINT NOT NULL,
    details TEXT NOT NULL,
    PRIMARY KEY (incident_id, rule_id, event_id)
);
