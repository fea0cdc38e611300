//! Incidents: alerts of one rule and key grouped within a window, with their triage
//! state and notes.

use serde::Serialize;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::db::Store;
use crate::error::StoreError;
use crate::ids::{new_id, now_ms};

/// The statuses an incident can have, in workflow order.
pub const STATUSES: &[&str] = &["new", "in_progress", "resolved", "false_positive"];

const COLUMNS: &str = "id, rule_id, rule_title, reference_rule, severity, group_key, status, \
     assignee, techniques, hosts, first_seen, last_seen, alert_count, event_count, created, updated";

/// An incident.
#[derive(Debug, Clone, Serialize)]
pub struct Incident {
    /// Identifier.
    pub id: String,
    /// The rule whose alerts it groups.
    pub rule_id: String,
    /// The rule's title.
    pub rule_title: String,
    /// The reference product's rule the rule mirrors.
    pub reference_rule: Option<String>,
    /// Severity: the rule's level.
    pub severity: String,
    /// What the alerts were grouped by.
    pub group_key: String,
    /// `new`, `in_progress`, `resolved` or `false_positive`.
    pub status: String,
    /// Who works on it.
    pub assignee: Option<String>,
    /// ATT&CK technique ids.
    pub techniques: Vec<String>,
    /// Hosts named by the evidence.
    pub hosts: Vec<String>,
    /// Time of the earliest evidence event, ms since the epoch.
    pub first_seen: i64,
    /// Time of the latest alert, ms since the epoch.
    pub last_seen: i64,
    /// Alerts grouped.
    pub alert_count: i64,
    /// Distinct evidence events.
    pub event_count: i64,
    /// When it was opened, ms since the epoch.
    pub created: i64,
    /// When it last changed, ms since the epoch.
    pub updated: i64,
}

/// A note on an incident: a comment, or a change of status or assignee.
#[derive(Debug, Clone, Serialize)]
pub struct Note {
    /// Identifier.
    pub id: String,
    /// Who wrote or made it.
    pub author: String,
    /// When, ms since the epoch.
    pub time: i64,
    /// `comment`, `status` or `assignee`.
    pub kind: String,
    /// The comment, or the new value.
    pub body: String,
}

/// An analytic's explanation of one of an incident's alerts.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    /// The analytic's rule id.
    pub rule_id: String,
    /// The event it judged.
    pub event_id: String,
    /// When, ms since the epoch.
    pub time: i64,
    /// The explanation: name/value pairs in the analytic's order.
    pub details: Vec<(String, String)>,
}

/// Which incidents to list.
#[derive(Debug, Clone, Default)]
pub struct IncidentFilter {
    /// Only this status.
    pub status: Option<String>,
    /// Only this severity.
    pub severity: Option<String>,
    /// Only this rule id.
    pub rule_id: Option<String>,
    /// Only incidents naming this host.
    pub host: Option<String>,
    /// At most this many (newest activity first).
    pub limit: i64,
}

/// A change to an incident.
#[derive(Debug, Clone, Default)]
pub struct IncidentPatch {
    /// New status (one of [`STATUSES`]).
    pub status: Option<String>,
    /// New assignee (empty clears it).
    pub assignee: Option<String>,
    /// A comment to add.
    pub comment: Option<String>,
}

impl Store {
    /// Incidents matching `filter`, most recently active first.
    pub async fn incidents(&self, filter: &IncidentFilter) -> Result<Vec<Incident>, StoreError> {
        let mut sql = format!("SELECT {COLUMNS} FROM incidents WHERE 1 = 1");
        let mut binds: Vec<String> = Vec::new();
        for (column, value) in [
            ("status", &filter.status),
            ("severity", &filter.severity),
            ("rule_id", &filter.rule_id),
        ] {
            if let Some(value) = value.as_deref().filter(|v| !v.is_empty()) {
                binds.push(value.to_owned());
                sql.push_str(&format!(" AND {column} = ${}", binds.len()));
            }
        }
        if let Some(host) = filter.host.as_deref().filter(|v| !v.is_empty()) {
            binds.push(format!("%{}%", serde_json::to_string(host)?));
            sql.push_str(&format!(" AND hosts LIKE ${}", binds.len()));
        }
        sql.push_str(&format!(
            " ORDER BY last_seen DESC, id DESC LIMIT ${}",
            binds.len() + 1
        ));
        let mut q = sqlx::query(&sql);
        for bind in binds {
            q = q.bind(bind);
        }
        q = q.bind(filter.limit.clamp(1, 1000));
        q.fetch_all(&self.pool)
            .await?
            .iter()
            .map(incident)
            .collect()
    }

    /// How many incidents have `status`.
    pub async fn count_incidents_with_status(&self, status: &str) -> Result<i64, StoreError> {
        let row = sqlx::query("SELECT COUNT(*) FROM incidents WHERE status = $1")
            .bind(status)
            .fetch_one(&self.pool)
            .await?;
        Ok(row.try_get(0)?)
    }

    /// The incident `id`, if it exists.
    pub async fn incident(&self, id: &str) -> Result<Option<Incident>, StoreError> {
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM incidents WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(incident).transpose()
    }

    /// The ids of an incident's evidence events, oldest first.
    pub async fn incident_event_ids(&self, id: &str) -> Result<Vec<String>, StoreError> {
        let rows = sqlx::query(
            "SELECT event_id FROM incident_events WHERE incident_id = $1 ORDER BY time, event_id",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|r| Ok(r.try_get(0)?)).collect()
    }

    /// The analytics' explanations of an incident's alerts, oldest first.
    pub async fn incident_findings(&self, id: &str) -> Result<Vec<Finding>, StoreError> {
        let rows = sqlx::query(
            "SELECT rule_id, event_id, time, details FROM incident_findings \
             WHERE incident_id = $1 ORDER BY time, event_id",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let details: String = r.try_get(3)?;
                let details: serde_json::Map<String, serde_json::Value> =
                    serde_json::from_str(&details)?;
                Ok(Finding {
                    rule_id: r.try_get(0)?,
                    event_id: r.try_get(1)?,
                    time: r.try_get(2)?,
                    details: details
                        .into_iter()
                        .map(|(k, v)| (k, v.as_str().map_or_else(|| v.to_string(), str::to_owned)))
                        .collect(),
                })
            })
            .collect()
    }

    /// An incident's notes, oldest first.
    pub async fn incident_notes(&self, id: &str) -> Result<Vec<Note>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, author, time, kind, body FROM incident_notes \
             WHERE incident_id = $1 ORDER BY time, id",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Note {
                    id: r.try_get(0)?,
                    author: r.try_get(1)?,
                    time: r.try_get(2)?,
                    kind: r.try_get(3)?,
                    body: r.try_get(4)?,
                })
            })
            .collect()
    }

    /// Applies `patch` to incident `id` as `author`, recording each change as a note;
    /// returns the updated incident, or `None` when there is no such incident.
    pub async fn update_incident(
        &self,
        id: &str,
        patch: &IncidentPatch,
        author: &str,
    ) -> Result<Option<Incident>, StoreError> {
        if let Some(status) = &patch.status
            && !STATUSES.contains(&status.as_str())
        {
            return Err(StoreError::Invalid(format!(
                "unknown status {status:?}; use one of {}",
                STATUSES.join(", ")
            )));
        }
        if let Some(comment) = &patch.comment
            && comment.trim().is_empty()
        {
            return Err(StoreError::Invalid("empty comment".into()));
        }
        let now = now_ms();
        let mut tx = self.pool.begin().await?;
        let exists = sqlx::query("SELECT id FROM incidents WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
        if exists.is_none() {
            return Ok(None);
        }
        let mut notes: Vec<(&str, String)> = Vec::new();
        if let Some(status) = &patch.status {
            sqlx::query("UPDATE incidents SET status = $1, updated = $2 WHERE id = $3")
                .bind(status.as_str())
                .bind(now)
                .bind(id)
                .execute(&mut *tx)
                .await?;
            notes.push(("status", status.clone()));
        }
        if let Some(assignee) = &patch.assignee {
            let assignee = assignee.trim();
            sqlx::query("UPDATE incidents SET assignee = $1, updated = $2 WHERE id = $3")
                .bind((!assignee.is_empty()).then(|| assignee.to_owned()))
                .bind(now)
                .bind(id)
                .execute(&mut *tx)
                .await?;
            notes.push(("assignee", assignee.to_owned()));
        }
        if let Some(comment) = &patch.comment {
            notes.push(("comment", comment.trim().to_owned()));
        }
        for (kind, body) in notes {
            sqlx::query(
                "INSERT INTO incident_notes (id, incident_id, author, time, kind, body) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(new_id())
            .bind(id)
            .bind(author)
            .bind(now)
            .bind(kind)
            .bind(body)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        self.incident(id).await
    }
}

fn incident(row: &AnyRow) -> Result<Incident, StoreError> {
    let techniques: String = row.try_get(8)?;
    let hosts: String = row.try_get(9)?;
    Ok(Incident {
        id: row.try_get(0)?,
        rule_id: row.try_get(1)?,
        rule_title: row.try_get(2)?,
        reference_rule: row.try_get(3)?,
        severity: row.try_get(4)?,
        group_key: row.try_get(5)?,
        status: row.try_get(6)?,
        assignee: row.try_get(7)?,
        techniques: serde_json::from_str(&techniques)?,
        hosts: serde_json::from_str(&hosts)?,
        first_seen: row.try_get(10)?,
        last_seen: row.try_get(11)?,
        alert_count: row.try_get(12)?,
        event_count: row.try_get(13)?,
        created: row.try_get(14)?,
        updated: row.try_get(15)?,
    })
}
