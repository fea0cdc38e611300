//! Lists edited in the console: they override the bundled lists of the same name.

use serde::Serialize;
use sqlx::Row;

use crate::db::Store;
use crate::error::StoreError;
use crate::ids::now_ms;

/// A list as edited in the console.
#[derive(Debug, Clone, Serialize)]
pub struct ListOverride {
    /// The list's name, as rules reference it.
    pub name: String,
    /// Its entries, in list syntax (strings, wildcards, `re:`, `cidr:`).
    pub entries: Vec<String>,
    /// When it was saved, ms since the epoch.
    pub updated: i64,
    /// Who saved it.
    pub updated_by: String,
}

impl Store {
    /// Every edited list, by name.
    pub async fn list_overrides(&self) -> Result<Vec<ListOverride>, StoreError> {
        let rows =
            sqlx::query("SELECT name, entries, updated, updated_by FROM lists ORDER BY name")
                .fetch_all(&self.pool)
                .await?;
        rows.iter()
            .map(|r| {
                let entries: String = r.try_get(1)?;
                Ok(ListOverride {
                    name: r.try_get(0)?,
                    entries: serde_json::from_str(&entries)?,
                    updated: r.try_get(2)?,
                    updated_by: r.try_get(3)?,
                })
            })
            .collect()
    }

    /// Saves the entries of list `name`.
    pub async fn save_list(
        &self,
        name: &str,
        entries: &[String],
        by: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO lists (name, entries, updated, updated_by) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (name) DO UPDATE SET entries = excluded.entries, \
             updated = excluded.updated, updated_by = excluded.updated_by",
        )
        .bind(name)
        .bind(serde_json::to_string(entries)?)
        .bind(now_ms())
        .bind(by)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}
