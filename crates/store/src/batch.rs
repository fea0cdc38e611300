//! Committing what the pipeline made of a run of journal records: the events, the
//! incidents their alerts open or extend, and the journal position reached, all in
//! one transaction, so that a crash either keeps all of it or replays all of it.

use sqlx::{Any, Row, Transaction};

use crate::db::{Backend, Store};
use crate::error::StoreError;
use crate::ids::{new_id, now_ms};

/// Rows per multi-row `INSERT` (8 parameters each stays far below both engines' limits).
const EVENTS_PER_STATEMENT: usize = 500;

/// A normalized event as stored.
#[derive(Debug, Clone)]
pub struct EventRecord {
    /// Identifier, derived from the journal position so that a replay writes the same one.
    pub id: String,
    /// Event time (or receive time when the record has none), ms since the epoch.
    pub time: i64,
    /// Receive time, ms since the epoch.
    pub recv_time: i64,
    /// The format that normalized it.
    pub format: String,
    /// Where it arrived (`syslog-udp 10.0.0.5`, `http`, a file path).
    pub source: String,
    /// `event_src.host`, if known.
    pub host: Option<String>,
    /// The lowercased search text (see [`crate::search_text`]).
    pub search: String,
    /// The event's JSON.
    pub body: String,
}

/// An alert, ready to be grouped into an incident.
#[derive(Debug, Clone)]
pub struct AlertRecord {
    /// The rule's id.
    pub rule_id: String,
    /// The rule's title.
    pub rule_title: String,
    /// The reference product's rule it mirrors.
    pub reference_rule: Option<String>,
    /// The rule's level.
    pub severity: String,
    /// ATT&CK technique ids.
    pub techniques: Vec<String>,
    /// What the incident groups by: the correlation group, or the host.
    pub group_key: String,
    /// Hosts the evidence names.
    pub hosts: Vec<String>,
    /// When it fired (event time), ms since the epoch.
    pub time: i64,
    /// The evidence: event ids and their times.
    pub events: Vec<(String, i64)>,
    /// An analytic's explanation (name/value pairs in order); empty for rules.
    pub details: Vec<(String, String)>,
}

/// One transaction's worth of pipeline output.
#[derive(Debug, Default)]
pub struct Batch {
    /// Events to store.
    pub events: Vec<EventRecord>,
    /// Alerts to group into incidents.
    pub alerts: Vec<AlertRecord>,
    /// The checkpoint to record: its name and the journal position reached.
    pub checkpoint: Option<(String, i64)>,
    /// Analytics state to save with the checkpoint: its name and its JSON.
    pub analytics_state: Option<(String, String)>,
    /// How long after an incident's last alert a new alert with the same rule and key
    /// still joins it, in milliseconds.
    pub incident_window_ms: i64,
}

/// What a committed batch changed.
#[derive(Debug, Default)]
pub struct BatchOutcome {
    /// Events written (replayed ones already present are not counted).
    pub events_stored: u64,
    /// Incidents opened.
    pub incidents_opened: u64,
    /// Alerts added to incidents that were already open.
    pub incidents_extended: u64,
}

impl Store {
    /// Commits `batch` in one transaction.
    pub async fn commit(&self, batch: &Batch) -> Result<BatchOutcome, StoreError> {
        let mut outcome = BatchOutcome::default();
        let mut tx = self.pool.begin().await?;
        for chunk in batch.events.chunks(EVENTS_PER_STATEMENT) {
            outcome.events_stored += insert_events(&mut tx, self.backend(), chunk).await?;
        }
        for alert in &batch.alerts {
            if group_alert(&mut tx, alert, batch.incident_window_ms).await? {
                outcome.incidents_opened += 1;
            } else {
                outcome.incidents_extended += 1;
            }
        }
        if let Some((name, state)) = &batch.analytics_state {
            sqlx::query(
                "INSERT INTO analytics_state (name, state, updated) VALUES ($1, $2, $3) \
                 ON CONFLICT (name) DO UPDATE SET state = excluded.state, updated = excluded.updated",
            )
            .bind(name.as_str())
            .bind(state.as_str())
            .bind(now_ms())
            .execute(&mut *tx)
            .await?;
        }
        if let Some((name, position)) = &batch.checkpoint {
            sqlx::query(
                "INSERT INTO checkpoints (name, position) VALUES ($1, $2) \
                 ON CONFLICT (name) DO UPDATE SET position = excluded.position",
            )
            .bind(name.as_str())
            .bind(*position)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(outcome)
    }

    /// The analytics state saved under `name`, if any.
    pub async fn analytics_state(&self, name: &str) -> Result<Option<String>, StoreError> {
        let row = sqlx::query("SELECT state FROM analytics_state WHERE name = $1")
            .bind(name)
            .fetch_optional(&self.pool)
            .await?;
        Ok(match row {
            Some(row) => Some(row.try_get(0)?),
            None => None,
        })
    }

    /// The position recorded under `name`, if any.
    pub async fn checkpoint(&self, name: &str) -> Result<Option<i64>, StoreError> {
        let row = sqlx::query("SELECT position FROM checkpoints WHERE name = $1")
            .bind(name)
            .fetch_optional(&self.pool)
            .await?;
        Ok(match row {
            Some(row) => Some(row.try_get(0)?),
            None => None,
        })
    }

    /// Deletes events older than `before` (ms since the epoch) that no incident cites;
    /// returns how many went.
    pub async fn delete_events_before(&self, before: i64) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "DELETE FROM events WHERE time < $1 \
             AND id NOT IN (SELECT event_id FROM incident_events)",
        )
        .bind(before)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }
}

async fn insert_events(
    tx: &mut Transaction<'_, Any>,
    backend: Backend,
    events: &[EventRecord],
) -> Result<u64, StoreError> {
    let mut sql = String::from(
        "INSERT INTO events (id, time, recv_time, format, source, host, search, body) VALUES ",
    );
    for i in 0..events.len() {
        if i > 0 {
            sql.push(',');
        }
        sql.push('(');
        for column in 0..8 {
            if column > 0 {
                sql.push(',');
            }
            // SQLite binds anonymous `?` by position; numbered `$N` would make the
            // driver look every parameter up by name, quadratic in a multi-row insert.
            match backend {
                Backend::Sqlite => sql.push('?'),
                Backend::Postgres => sql.push_str(&format!("${}", i * 8 + column + 1)),
            }
        }
        sql.push(')');
    }
    sql.push_str(" ON CONFLICT (id) DO NOTHING");
    let mut query = sqlx::query(&sql);
    for event in events {
        query = query
            .bind(event.id.as_str())
            .bind(event.time)
            .bind(event.recv_time)
            .bind(event.format.as_str())
            .bind(event.source.as_str())
            .bind(event.host.clone())
            .bind(event.search.as_str())
            .bind(event.body.as_str());
    }
    Ok(query.execute(&mut **tx).await?.rows_affected())
}

/// Adds `alert` to the open incident of its rule and key seen within the window, or
/// opens one; returns whether it opened one.
async fn group_alert(
    tx: &mut Transaction<'_, Any>,
    alert: &AlertRecord,
    window_ms: i64,
) -> Result<bool, StoreError> {
    let now = now_ms();
    let first = alert
        .events
        .iter()
        .map(|(_, t)| *t)
        .min()
        .unwrap_or(alert.time);
    let open = sqlx::query(
        "SELECT id, hosts, first_seen, last_seen FROM incidents \
         WHERE rule_id = $1 AND group_key = $2 AND status IN ('new', 'in_progress') \
         AND last_seen >= $3 ORDER BY last_seen DESC LIMIT 1",
    )
    .bind(alert.rule_id.as_str())
    .bind(alert.group_key.as_str())
    .bind(alert.time.saturating_sub(window_ms))
    .fetch_optional(&mut **tx)
    .await?;
    let (id, opened) = match open {
        Some(row) => {
            let id: String = row.try_get(0)?;
            let hosts: String = row.try_get(1)?;
            let first_seen: i64 = row.try_get(2)?;
            let last_seen: i64 = row.try_get(3)?;
            let mut hosts: Vec<String> = serde_json::from_str(&hosts)?;
            for host in &alert.hosts {
                if !hosts.contains(host) {
                    hosts.push(host.clone());
                }
            }
            sqlx::query(
                "UPDATE incidents SET hosts = $1, first_seen = $2, last_seen = $3, \
                 alert_count = alert_count + 1, updated = $4 WHERE id = $5",
            )
            .bind(serde_json::to_string(&hosts)?)
            .bind(first_seen.min(first))
            .bind(last_seen.max(alert.time))
            .bind(now)
            .bind(id.as_str())
            .execute(&mut **tx)
            .await?;
            (id, false)
        }
        None => {
            let id = new_id();
            sqlx::query(
                "INSERT INTO incidents (id, rule_id, rule_title, reference_rule, severity, \
                 group_key, status, assignee, techniques, hosts, first_seen, last_seen, \
                 alert_count, event_count, created, updated) \
                 VALUES ($1, $2, $3, $4, $5, $6, 'new', NULL, $7, $8, $9, $10, 1, 0, $11, $12)",
            )
            .bind(id.as_str())
            .bind(alert.rule_id.as_str())
            .bind(alert.rule_title.as_str())
            .bind(alert.reference_rule.clone())
            .bind(alert.severity.as_str())
            .bind(alert.group_key.as_str())
            .bind(serde_json::to_string(&alert.techniques)?)
            .bind(serde_json::to_string(&alert.hosts)?)
            .bind(first)
            .bind(alert.time)
            .bind(now)
            .bind(now)
            .execute(&mut **tx)
            .await?;
            (id, true)
        }
    };
    for (event_id, time) in &alert.events {
        sqlx::query(
            "INSERT INTO incident_events (incident_id, event_id, time) VALUES ($1, $2, $3) \
             ON CONFLICT (incident_id, event_id) DO NOTHING",
        )
        .bind(id.as_str())
        .bind(event_id.as_str())
        .bind(*time)
        .execute(&mut **tx)
        .await?;
    }
    if !alert.details.is_empty()
        && let Some((event_id, time)) = alert.events.first()
    {
        let details: serde_json::Map<String, serde_json::Value> = alert
            .details
            .iter()
            .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
            .collect();
        sqlx::query(
            "INSERT INTO incident_findings (incident_id, rule_id, event_id, time, details) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (incident_id, rule_id, event_id) DO NOTHING",
        )
        .bind(id.as_str())
        .bind(alert.rule_id.as_str())
        .bind(event_id.as_str())
        .bind(*time)
        .bind(serde_json::to_string(&details)?)
        .execute(&mut **tx)
        .await?;
    }
    sqlx::query(
        "UPDATE incidents SET event_count = \
         (SELECT COUNT(*) FROM incident_events WHERE incident_id = $1) WHERE id = $2",
    )
    .bind(id.as_str())
    .bind(id.as_str())
    .execute(&mut **tx)
    .await?;
    Ok(opened)
}
