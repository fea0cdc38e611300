//! Stored events and their search.
//!
//! Every event carries a `search` column: its fields as lowercased `name=value` lines
//! (taxonomy and source fields alike) followed by its free text. A query is a list of
//! terms, all of which must match within the time range:
//! - `name=value` matches a field exactly (case-insensitively);
//! - `name=prefix*` matches a field's beginning;
//! - any other word (or `"quoted phrase"`) matches anywhere in the event.
//!
//! Terms become `LIKE` patterns over that column, which both engines run the same way;
//! the time index bounds the scan.

use serde_json::Value as Json;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::db::Store;
use crate::error::StoreError;

/// The most events one search returns.
pub const MAX_LIMIT: i64 = 1000;

/// A search over stored events.
#[derive(Debug, Clone, Default)]
pub struct EventQuery {
    /// The terms (see the module documentation); empty matches everything.
    pub text: String,
    /// Earliest event time, ms since the epoch.
    pub from: Option<i64>,
    /// Latest event time (exclusive), ms since the epoch.
    pub to: Option<i64>,
    /// How many to return at most (newest first).
    pub limit: i64,
}

/// An event as read back from the store.
#[derive(Debug, Clone, serde::Serialize)]
pub struct StoredEvent {
    /// Identifier.
    pub id: String,
    /// Event time, ms since the epoch.
    pub time: i64,
    /// Receive time, ms since the epoch.
    pub recv_time: i64,
    /// The format that normalized it.
    pub format: String,
    /// Where it arrived.
    pub source: String,
    /// `event_src.host`, if known.
    pub host: Option<String>,
    /// The normalized event.
    pub event: Json,
}

/// The search column for an event: its `name=value` pairs, one per line, then `text`.
pub fn search_text<'a>(pairs: impl IntoIterator<Item = (&'a str, String)>, text: &str) -> String {
    let mut out = String::from("\n");
    for (name, value) in pairs {
        out.push_str(name);
        out.push('=');
        out.push_str(&value.replace('\n', " "));
        out.push('\n');
    }
    out.push_str(text);
    out.to_lowercase()
}

impl Store {
    /// The events matching `query`, newest first.
    pub async fn search_events(&self, query: &EventQuery) -> Result<Vec<StoredEvent>, StoreError> {
        let select = "SELECT id, time, recv_time, format, source, host, body FROM events";
        let (sql, binds) = where_clause(select, query);
        let sql = format!(
            "{sql} ORDER BY time DESC, id DESC LIMIT ${}",
            binds.len() + 1
        );
        let mut q = sqlx::query(&sql);
        for bind in binds {
            q = bind.bind(q);
        }
        q = q.bind(query.limit.clamp(1, MAX_LIMIT));
        q.fetch_all(&self.pool)
            .await?
            .iter()
            .map(stored_event)
            .collect()
    }

    /// How many events match `query` (its limit aside).
    pub async fn count_matching(&self, query: &EventQuery) -> Result<i64, StoreError> {
        let (sql, binds) = where_clause("SELECT COUNT(*) FROM events", query);
        let mut q = sqlx::query(&sql);
        for bind in binds {
            q = bind.bind(q);
        }
        Ok(q.fetch_one(&self.pool).await?.try_get(0)?)
    }

    /// The events with these ids, oldest first.
    pub async fn events_by_id(&self, ids: &[String]) -> Result<Vec<StoredEvent>, StoreError> {
        let mut out = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(500) {
            let marks: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
            let sql = format!(
                "SELECT id, time, recv_time, format, source, host, body FROM events \
                 WHERE id IN ({})",
                marks.join(",")
            );
            let mut q = sqlx::query(&sql);
            for id in chunk {
                q = q.bind(id.as_str());
            }
            for row in q.fetch_all(&self.pool).await? {
                out.push(stored_event(&row)?);
            }
        }
        out.sort_by(|a, b| (a.time, &a.id).cmp(&(b.time, &b.id)));
        Ok(out)
    }

    /// How many events are stored.
    pub async fn count_events(&self) -> Result<i64, StoreError> {
        let row = sqlx::query("SELECT COUNT(*) FROM events")
            .fetch_one(&self.pool)
            .await?;
        Ok(row.try_get(0)?)
    }
}

/// A value bound to a search statement.
enum Bind {
    Int(i64),
    Text(String),
}

impl Bind {
    fn bind<'q>(
        self,
        q: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    ) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
        match self {
            Bind::Int(v) => q.bind(v),
            Bind::Text(v) => q.bind(v),
        }
    }
}

/// `select` with the conditions of `query`, and the values to bind, in order.
fn where_clause(select: &str, query: &EventQuery) -> (String, Vec<Bind>) {
    let mut sql = format!("{select} WHERE 1 = 1");
    let mut binds = Vec::new();
    if let Some(from) = query.from {
        binds.push(Bind::Int(from));
        sql.push_str(&format!(" AND time >= ${}", binds.len()));
    }
    if let Some(to) = query.to {
        binds.push(Bind::Int(to));
        sql.push_str(&format!(" AND time < ${}", binds.len()));
    }
    for pattern in patterns(&query.text) {
        binds.push(Bind::Text(pattern));
        sql.push_str(&format!(" AND search LIKE ${} ESCAPE '\\'", binds.len()));
    }
    (sql, binds)
}

fn stored_event(row: &AnyRow) -> Result<StoredEvent, StoreError> {
    let body: String = row.try_get(6)?;
    Ok(StoredEvent {
        id: row.try_get(0)?,
        time: row.try_get(1)?,
        recv_time: row.try_get(2)?,
        format: row.try_get(3)?,
        source: row.try_get(4)?,
        host: row.try_get(5)?,
        event: serde_json::from_str(&body)?,
    })
}

/// The `LIKE` patterns of a query's terms.
fn patterns(text: &str) -> Vec<String> {
    terms(text)
        .into_iter()
        .map(|term| {
            let term = term.to_lowercase();
            match term.split_once('=') {
                Some((name, value)) if !name.is_empty() && !name.contains(' ') => {
                    match value.strip_suffix('*') {
                        Some(prefix) => format!("%\n{}={}%", escape(name), escape(prefix)),
                        None => format!("%\n{}={}\n%", escape(name), escape(value)),
                    }
                }
                _ => format!("%{}%", escape(&term)),
            }
        })
        .collect()
}

/// Splits a query into terms: whitespace-separated words, or `"quoted phrases"`.
fn terms(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    for c in text.chars() {
        match c {
            '"' => quoted = !quoted,
            c if c.is_whitespace() && !quoted => {
                if !current.is_empty() {
                    out.push(std::mem::take(&mut current));
                }
            }
            c => current.push(c),
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terms_become_patterns() {
        assert_eq!(
            patterns(r#"dst.host=API.telegram.org src.ip=10.* "bot api" 100%"#),
            vec![
                "%\ndst.host=api.telegram.org\n%",
                "%\nsrc.ip=10.%",
                "%bot api%",
                "%100\\%%",
            ]
        );
    }

    #[test]
    fn search_text_is_lowercased_lines() {
        let text = search_text([("dst.host", "API.Telegram.org".to_owned())], "Raw Line");
        assert_eq!(text, "\ndst.host=api.telegram.org\nraw line");
    }
}
