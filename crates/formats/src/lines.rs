//! Driving a line-oriented format: cut lines, screen out what is not text, stamp the
//! common fields, and route parse failures to rejects.

use std::io::{self, BufRead};

use dozor_collect::{Line, LineReader};
use dozor_event::{Event, taxonomy};

use crate::format::{ParseError, ReadContext, Reject, Sink};

/// Reads `input` line by line and hands each text line to `parse`.
///
/// Blank lines are skipped. A line that is too long, is not UTF-8 or holds control
/// characters (binary data) is rejected before `parse` sees it. Every event gets
/// `body`, `recv_time` and `format`.
pub(crate) fn read_lines(
    format: &'static str,
    input: &mut dyn BufRead,
    ctx: &ReadContext,
    sink: &mut dyn Sink,
    mut parse: impl FnMut(&str, &mut Event) -> Result<(), ParseError>,
) -> io::Result<()> {
    read_lines_with_headers(format, input, ctx, sink, |line, event| {
        parse(line, event).map(|()| true)
    })
}

/// [`read_lines`] for formats whose files also hold lines that are not records (Zeek's
/// `#` header lines): `parse` answers `Ok(false)` for those, and no event is made.
pub(crate) fn read_lines_with_headers(
    format: &'static str,
    input: &mut dyn BufRead,
    ctx: &ReadContext,
    sink: &mut dyn Sink,
    mut parse: impl FnMut(&str, &mut Event) -> Result<bool, ParseError>,
) -> io::Result<()> {
    let mut reader = LineReader::new(input, ctx.max_record);
    while let Some(line) = reader.next_line()? {
        let (number, bytes) = match line {
            Line::Record { number, bytes } => (number, bytes),
            Line::TooLong { number, len, head } => {
                let mut reject = Reject::new(
                    format,
                    ctx,
                    number,
                    format!(
                        "record of {len} bytes exceeds the limit of {} bytes",
                        ctx.max_record
                    ),
                    head,
                );
                reject.len = len;
                sink.reject(reject);
                continue;
            }
        };
        if is_blank(bytes) {
            continue;
        }
        match text_of(bytes) {
            Ok(text) => {
                let mut event = Event::new();
                match parse(text, &mut event) {
                    Ok(true) => {
                        stamp(&mut event, format, text, ctx);
                        sink.event(event);
                    }
                    Ok(false) => {}
                    Err(e) => sink.reject(Reject::new(format, ctx, number, e.0, bytes)),
                }
            }
            Err(reason) => sink.reject(Reject::new(format, ctx, number, reason, bytes)),
        }
    }
    Ok(())
}

/// Sets the fields every event carries: `body`, `recv_time`, `format`.
pub(crate) fn stamp(event: &mut Event, format: &'static str, body: &str, ctx: &ReadContext) {
    event.set(taxonomy::BODY, body);
    event.set(taxonomy::RECV_TIME, ctx.received);
    event.set(taxonomy::FORMAT, format);
}

/// Whether the line holds only whitespace.
fn is_blank(bytes: &[u8]) -> bool {
    // ASCII's Unicode whitespace: space, tab, line feed, vertical tab, form feed, return.
    match bytes
        .iter()
        .position(|b| !matches!(b, b' ' | b'\t'..=b'\r'))
    {
        None => true,
        // Only a non-ASCII byte can start other Unicode whitespace.
        Some(at) if bytes[at] >= 0x80 => {
            std::str::from_utf8(bytes).is_ok_and(|t| t.trim().is_empty())
        }
        Some(_) => false,
    }
}

/// The line as text, or why it is not text. UTF-8 is checked with `simdutf8`, which
/// tests 32 bytes at a time where the standard library's check goes a byte at a time
/// from a non-ASCII character until the next aligned block of ASCII (Windows records
/// carry `®` in their first fields): on the 5,000 Sysmon process creations of the
/// benchmark (16 MB), 9.0M instructions with std's check against 2.6M (callgrind).
pub(crate) fn text_of(bytes: &[u8]) -> Result<&str, String> {
    let text = simdutf8::compat::from_utf8(bytes)
        .map_err(|e| format!("invalid UTF-8 at byte {}", e.valid_up_to()))?;
    if has_control_byte(bytes)
        && let Some(at) = bytes.iter().position(|&b| is_control(b))
    {
        return Err(format!(
            "binary data: control byte 0x{:02x} at byte {at}",
            bytes[at]
        ));
    }
    Ok(text)
}

/// A control byte other than tab and the group separator (0x1d, which auditd's
/// `ENRICHED` layout puts before its interpreted fields): the mark of binary data in a
/// text line.
fn is_control(b: u8) -> bool {
    b < 0x20 && b != b'\t' && b != 0x1d
}

/// Whether `bytes` holds a control byte, checked a block at a time (the compiler
/// vectorises the branch-free inner loop; lines are mostly long and clean).
fn has_control_byte(bytes: &[u8]) -> bool {
    bytes
        .chunks(64)
        .any(|block| block.iter().fold(false, |seen, &b| seen | is_control(b)))
}

/// The first non-blank lines of `head`, as text, skipping a partial last line.
pub(crate) fn head_lines(head: &[u8], max: usize) -> Vec<&str> {
    let complete = match memchr::memrchr(b'\n', head) {
        Some(at) if at + 1 < head.len() => &head[..at],
        _ => head,
    };
    complete
        .split(|&b| b == b'\n')
        .filter_map(|l| std::str::from_utf8(l).ok())
        .map(|l| l.trim_end_matches('\r'))
        .filter(|l| !l.trim().is_empty())
        .take(max)
        .collect()
}

/// Detection score of a line format: the share (0..=100) of the first lines of `head`
/// that `accepts` says yes to.
pub(crate) fn line_score(head: &[u8], accepts: impl Fn(&str) -> bool) -> u8 {
    let lines = head_lines(head, 20);
    if lines.is_empty() {
        return 0;
    }
    let yes = lines.iter().filter(|l| accepts(l)).count();
    u8::try_from(yes * 100 / lines.len()).unwrap_or(100)
}

/// Like [`read_lines`], for formats whose records may continue over several lines
/// (a Java stack trace under a log line, the records of one audit event): a line for
/// which `starts_record` is false is appended to the record before it. Lines before
/// the first record start, and lines that are not text, are rejected on their own.
pub(crate) fn read_multiline(
    format: &'static str,
    input: &mut dyn BufRead,
    ctx: &ReadContext,
    sink: &mut dyn Sink,
    mut starts_record: impl FnMut(&str) -> bool,
    mut parse: impl FnMut(&str, &mut Event) -> Result<(), ParseError>,
) -> io::Result<()> {
    let mut reader = LineReader::new(input, ctx.max_record);
    let mut record = String::new();
    let mut record_line = 0;
    let mut flush = |record: &mut String, number: u64, sink: &mut dyn Sink| {
        if record.is_empty() {
            return;
        }
        let mut event = Event::new();
        match parse(record, &mut event) {
            Ok(()) => {
                stamp(&mut event, format, record, ctx);
                sink.event(event);
            }
            Err(e) => sink.reject(Reject::new(format, ctx, number, e.0, record.as_bytes())),
        }
        record.clear();
    };
    while let Some(line) = reader.next_line()? {
        let (number, bytes) = match line {
            Line::Record { number, bytes } => (number, bytes),
            Line::TooLong { number, len, head } => {
                let mut reject =
                    Reject::new(format, ctx, number, "line exceeds the record limit", head);
                reject.len = len;
                sink.reject(reject);
                continue;
            }
        };
        if is_blank(bytes) {
            continue;
        }
        let text = match text_of(bytes) {
            Ok(text) => text,
            Err(reason) => {
                sink.reject(Reject::new(format, ctx, number, reason, bytes));
                continue;
            }
        };
        if starts_record(text) {
            flush(&mut record, record_line, sink);
            record.push_str(text);
            record_line = number;
        } else if record.is_empty() {
            let reason = "continuation line without a record before it";
            sink.reject(Reject::new(format, ctx, number, reason, bytes));
        } else if record.len() + text.len() < ctx.max_record {
            record.push('\n');
            record.push_str(text);
        }
    }
    flush(&mut record, record_line, sink);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blank_lines_include_unicode_whitespace() {
        assert!(is_blank(b""));
        assert!(is_blank(b" \t\r\x0b\x0c"));
        assert!(is_blank(" \u{a0}\u{2003}".as_bytes()));
        assert!(!is_blank(b"  x"));
        assert!(!is_blank(" \u{e9}".as_bytes()));
    }

    #[test]
    fn control_bytes_are_found_in_any_block() {
        let mut line = vec![b'a'; 200];
        assert_eq!(text_of(&line).map(str::len), Ok(200));
        line[130] = b'\t';
        assert!(text_of(&line).is_ok());
        for at in [0, 63, 64, 199] {
            let mut bad = line.clone();
            bad[at] = 0x01;
            assert_eq!(
                text_of(&bad),
                Err(format!("binary data: control byte 0x01 at byte {at}"))
            );
        }
        assert_eq!(
            text_of(b"ab\xffcd"),
            Err("invalid UTF-8 at byte 2".to_owned())
        );
    }
}
