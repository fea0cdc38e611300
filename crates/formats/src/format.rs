//! The [`Format`] trait and what it reads into.

use std::io::{self, BufRead};

use dozor_event::{Event, Timestamp};

/// A log format: how to recognise it and how to turn its bytes into events.
pub trait Format: Sync {
    /// The stable name used by `--format` and in statistics (`bind`, `syslog`, ...).
    fn name(&self) -> &'static str;

    /// One line saying what the format covers.
    fn description(&self) -> &'static str;

    /// How sure the format is, from 0 (not this format) to 100, that an input whose
    /// first bytes are `head` is written in it. `head` may end in the middle of a record.
    fn detect(&self, head: &[u8]) -> u8;

    /// Reads the whole input, handing every event and every rejected record to `sink`.
    /// An `Err` is an I/O failure of the input itself; bad records are never errors.
    fn read(
        &self,
        input: &mut dyn BufRead,
        ctx: &ReadContext,
        sink: &mut dyn Sink,
    ) -> io::Result<()>;

    /// Whether an input starting with `head` holds one record per line and nothing
    /// carries over from one line to the next, so that it can be cut at line ends and
    /// the parts read apart, on several threads, with [`Format::read_part`]: the parts'
    /// events, in order, are the events of the whole.
    fn splits_at_lines(&self, _head: &[u8]) -> bool {
        false
    }

    /// Reads `part`, whole lines of an input that [`Format::splits_at_lines`] allowed
    /// to be cut. Reject locations count lines from the start of the part.
    fn read_part(&self, part: &[u8], ctx: &ReadContext, sink: &mut dyn Sink) -> io::Result<()> {
        let mut input = part;
        self.read(&mut input, ctx, sink)
    }
}

/// What a format knows about the input it reads.
#[derive(Debug, Clone)]
pub struct ReadContext {
    /// The input's display name (a path, or `-`).
    pub source: String,
    /// When the records were received: now for live input, the file's modification
    /// time for files. Also the reference for timestamps that lack a year.
    pub received: Timestamp,
    /// The longest record kept, in bytes.
    pub max_record: usize,
    /// Whether a format may leave the part of its mapping that only fills taxonomy
    /// fields to [`Event::complete`] (Sysmon's per-event-type fields): for a reader
    /// that looks only at the source's own fields of most events, and completes the
    /// events it keeps.
    pub defer_mapping: bool,
}

/// Where a format delivers its output.
pub trait Sink {
    /// A normalized event.
    fn event(&mut self, event: Event);
    /// A record that could not be normalized.
    fn reject(&mut self, reject: Reject);
}

/// A sink that keeps what it is given: the events and the rejects, in order.
#[derive(Debug, Default)]
pub struct Collected {
    /// The events.
    pub events: Vec<Event>,
    /// The rejected records.
    pub rejects: Vec<Reject>,
}

impl Sink for Collected {
    fn event(&mut self, event: Event) {
        self.events.push(event);
    }
    fn reject(&mut self, reject: Reject) {
        self.rejects.push(reject);
    }
}

/// A record that could not be normalized, kept for inspection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reject {
    /// The format that rejected it.
    pub format: &'static str,
    /// The input it came from.
    pub source: String,
    /// Where in the input: the line number for text formats, the record number otherwise.
    pub location: u64,
    /// Why it was rejected.
    pub reason: String,
    /// The record's bytes (at most [`Reject::KEPT_BYTES`] of them).
    pub record: Vec<u8>,
    /// The record's full length in bytes.
    pub len: u64,
}

impl Reject {
    /// How many bytes of a rejected record are kept.
    pub const KEPT_BYTES: usize = 64 * 1024;

    /// A reject of `record` for `reason`.
    pub fn new(
        format: &'static str,
        ctx: &ReadContext,
        location: u64,
        reason: impl Into<String>,
        record: &[u8],
    ) -> Self {
        Self {
            format,
            source: ctx.source.clone(),
            location,
            reason: reason.into(),
            record: record[..record.len().min(Self::KEPT_BYTES)].to_vec(),
            len: record.len() as u64,
        }
    }
}

/// Why one record could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ParseError(pub String);

impl From<&str> for ParseError {
    fn from(reason: &str) -> Self {
        ParseError(reason.to_owned())
    }
}

impl From<String> for ParseError {
    fn from(reason: String) -> Self {
        ParseError(reason)
    }
}

/// Reads `text` with `format` into a [`Collected`], as the formats' unit tests do.
#[cfg(test)]
pub(crate) fn read_text(format: &dyn Format, text: &str) -> Collected {
    let ctx = ReadContext {
        source: "test".into(),
        received: Timestamp::UNIX_EPOCH,
        max_record: 1 << 20,
        defer_mapping: false,
    };
    let mut collected = Collected::default();
    format
        .read(&mut text.as_bytes(), &ctx, &mut collected)
        .expect("in-memory input never fails to read");
    collected
}
