//! The store's error type.

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database refused or failed a statement.
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    /// A JSON column held something unreadable.
    #[error("stored JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// The database URL names an unsupported engine.
    #[error("unsupported database URL {0:?} (use sqlite://PATH or postgres://...)")]
    UnsupportedUrl(String),
    /// A value given by the caller is not acceptable.
    #[error("{0}")]
    Invalid(String),
}
