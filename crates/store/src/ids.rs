//! Identifiers for rows the store creates: time-ordered and unique across nodes.

use std::sync::atomic::{AtomicU16, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

static SEQUENCE: AtomicU16 = AtomicU16::new(0);

/// A new identifier: 11 hex digits of milliseconds, 4 of a per-process sequence (so
/// ids made in one millisecond keep their order), then 6 random ones (so nodes sharing
/// a database do not collide).
pub fn new_id() -> String {
    let mut random = [0u8; 3];
    // The OS random source failing leaves zeros; time and sequence still order ids.
    let _ = getrandom::fill(&mut random);
    let sequence = SEQUENCE.fetch_add(1, Ordering::Relaxed);
    format!(
        "{:011x}{sequence:04x}{:02x}{:02x}{:02x}",
        now_ms(),
        random[0],
        random[1],
        random[2]
    )
}

/// Milliseconds since the Unix epoch, now.
pub(crate) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}
