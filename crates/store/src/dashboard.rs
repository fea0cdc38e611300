//! The figures the console's dashboard draws.

use serde::Serialize;
use sqlx::Row;

use crate::db::Store;
use crate::error::StoreError;

const DAY_MS: i64 = 86_400_000;

/// Incidents opened on one day.
#[derive(Debug, Clone, Serialize)]
pub struct DayCount {
    /// The day's start, ms since the epoch (UTC).
    pub day: i64,
    /// Incidents whose first evidence falls in it.
    pub count: i64,
}

/// A name and how many incidents it has.
#[derive(Debug, Clone, Serialize)]
pub struct Count {
    /// A host or a rule title.
    pub name: String,
    /// Incidents.
    pub count: i64,
}

impl Store {
    /// Incidents per day from `since` (ms since the epoch) on, days without any omitted.
    pub async fn incidents_per_day(&self, since: i64) -> Result<Vec<DayCount>, StoreError> {
        let rows = sqlx::query(
            "SELECT first_seen / 86400000 AS day, COUNT(*) FROM incidents \
             WHERE first_seen >= $1 GROUP BY day ORDER BY day",
        )
        .bind(since)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(DayCount {
                    day: r.try_get::<i64, _>(0)? * DAY_MS,
                    count: r.try_get(1)?,
                })
            })
            .collect()
    }

    /// The rules with the most incidents.
    pub async fn top_rules(&self, n: i64) -> Result<Vec<Count>, StoreError> {
        let rows = sqlx::query(
            "SELECT rule_title, COUNT(*) AS n FROM incidents GROUP BY rule_title \
             ORDER BY n DESC, rule_title LIMIT $1",
        )
        .bind(n)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Count {
                    name: r.try_get(0)?,
                    count: r.try_get(1)?,
                })
            })
            .collect()
    }

    /// The hosts named by the most incidents (among the latest 10,000).
    pub async fn top_hosts(&self, n: usize) -> Result<Vec<Count>, StoreError> {
        let rows = sqlx::query("SELECT hosts FROM incidents ORDER BY last_seen DESC LIMIT 10000")
            .fetch_all(&self.pool)
            .await?;
        let mut counts: std::collections::HashMap<String, i64> = Default::default();
        for row in rows {
            let hosts: String = row.try_get(0)?;
            for host in serde_json::from_str::<Vec<String>>(&hosts)? {
                *counts.entry(host).or_default() += 1;
            }
        }
        let mut out: Vec<Count> = counts
            .into_iter()
            .map(|(name, count)| Count { name, count })
            .collect();
        out.sort_by(|a, b| b.count.cmp(&a.count).then(a.name.cmp(&b.name)));
        out.truncate(n);
        Ok(out)
    }
}
