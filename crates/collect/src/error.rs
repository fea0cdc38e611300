//! Errors of the collect stage.

use std::path::PathBuf;

/// An input could not be found, listed or opened.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CollectError {
    /// A path given by the user does not exist or cannot be read.
    #[error("cannot read {path}: {source}")]
    Path {
        /// The path.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// Walking a directory failed.
    #[error("cannot list {path}: {message}")]
    Walk {
        /// The directory or entry.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
}
