//! The normalized event of Dozor.
//!
//! Every record that Dozor reads, whatever its source, becomes one [`Event`]: a flat map
//! of dotted field names (the taxonomy of the reference SIEM: `subject`, `action`,
//! `object`, `src.ip`, `subject.process.name`, ...) to typed [`Value`]s, plus the
//! source's own fields under their original names (`Image`, `QueryName`, `EventID`, ...)
//! so that rules written for the raw source match them unchanged.
//!
//! The field names and their meaning are declared once, in [`taxonomy`]; a normalizer
//! can only set a field that is declared there, and [`Event::check_kinds`] verifies
//! that each value has the declared type.
//!
//! This crate does no I/O and knows nothing about formats.

mod event;
mod json;
mod name_filter;
pub mod taxonomy;
mod time;
mod value;

pub use event::{Deferred, Event};
pub use json::{RAW_KEY, escape_mask};
pub use name_filter::NameFilter;
pub use taxonomy::{Field, FieldSpec, Kind};
pub use time::format_time;
pub use value::Value;

/// A point in time, UTC, with nanosecond precision.
pub use jiff::Timestamp;
