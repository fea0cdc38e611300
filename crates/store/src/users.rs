//! Users and their sessions. Passwords arrive here already hashed, and session
//! tokens as hashes: the store never sees a secret.

use sqlx::Row;

use crate::db::Store;
use crate::error::StoreError;
use crate::ids::now_ms;

/// A live session.
#[derive(Debug, Clone)]
pub struct Session {
    /// Whose it is.
    pub username: String,
    /// The token console forms must echo back.
    pub csrf: String,
    /// When it ends, ms since the epoch.
    pub expires: i64,
}

impl Store {
    /// How many users there are.
    pub async fn user_count(&self) -> Result<i64, StoreError> {
        let row = sqlx::query("SELECT COUNT(*) FROM users")
            .fetch_one(&self.pool)
            .await?;
        Ok(row.try_get(0)?)
    }

    /// Creates `username` with `password_hash`, or replaces the hash if it exists.
    pub async fn set_user(&self, username: &str, password_hash: &str) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO users (username, password_hash, created) VALUES ($1, $2, $3) \
             ON CONFLICT (username) DO UPDATE SET password_hash = excluded.password_hash",
        )
        .bind(username)
        .bind(password_hash)
        .bind(now_ms())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The password hash of `username`, if the user exists.
    pub async fn password_hash(&self, username: &str) -> Result<Option<String>, StoreError> {
        let row = sqlx::query("SELECT password_hash FROM users WHERE username = $1")
            .bind(username)
            .fetch_optional(&self.pool)
            .await?;
        Ok(match row {
            Some(row) => Some(row.try_get(0)?),
            None => None,
        })
    }

    /// Records a session under the hash of its token.
    pub async fn create_session(
        &self,
        token_hash: &str,
        session: &Session,
    ) -> Result<(), StoreError> {
        let now = now_ms();
        sqlx::query("DELETE FROM sessions WHERE expires < $1")
            .bind(now)
            .execute(&self.pool)
            .await?;
        sqlx::query(
            "INSERT INTO sessions (token_hash, username, csrf, created, expires) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(token_hash)
        .bind(session.username.as_str())
        .bind(session.csrf.as_str())
        .bind(now)
        .bind(session.expires)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The unexpired session whose token hashes to `token_hash`.
    pub async fn session(&self, token_hash: &str) -> Result<Option<Session>, StoreError> {
        let row = sqlx::query(
            "SELECT username, csrf, expires FROM sessions WHERE token_hash = $1 AND expires > $2",
        )
        .bind(token_hash)
        .bind(now_ms())
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| {
            Ok(Session {
                username: row.try_get(0)?,
                csrf: row.try_get(1)?,
                expires: row.try_get(2)?,
            })
        })
        .transpose()
    }

    /// Ends a session.
    pub async fn delete_session(&self, token_hash: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
            .bind(token_hash)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
