//! Ingest: the listeners that accept records and append them to the journal.
//!
//! - [`syslog`]: UDP, TCP (newline or RFC 6587 octet-counted framing) and TLS;
//! - [`http`]: `POST /api/v1/ingest` (NDJSON or text lines) and the
//!   Elasticsearch-compatible `POST /_bulk`;
//! - [`tail`]: files followed as they grow, across rotation.
//!
//! TCP, TLS, HTTP and file sources wait for the journal's sync before they read more
//! (or answer), so a full journal slows the sender down; UDP cannot be slowed and
//! counts what it drops.

pub mod framing;
pub mod http;
pub mod syslog;
pub mod tail;

/// Milliseconds since the Unix epoch, now.
pub(crate) fn now_ms() -> i64 {
    dozor_event::Timestamp::now().as_millisecond()
}
