//! Cutting byte streams into records.
//!
//! [`LineReader`] yields newline-terminated records with a length cap: a record longer
//! than the cap is skipped up to its newline and reported as [`Line::TooLong`], so one
//! huge or binary line never costs unbounded memory or the records after it.
//! [`OctetCounted`] reads RFC 6587 octet-counted frames (`LEN SP MSG`), as syslog over
//! TCP sends them.

use std::io::{self, BufRead};

/// The default cap on one record: 1 MiB.
pub const DEFAULT_MAX_RECORD: usize = 1024 * 1024;

/// One line of input, or the report of one that was too long to keep.
#[derive(Debug, PartialEq, Eq)]
pub enum Line<'a> {
    /// A line without its terminator (`\n` or `\r\n`).
    Record {
        /// 1-based line number.
        number: u64,
        /// The bytes.
        bytes: &'a [u8],
    },
    /// A line longer than the cap; only its first bytes were kept.
    TooLong {
        /// 1-based line number.
        number: u64,
        /// The full length of the line in bytes.
        len: u64,
        /// The first bytes of the line (at most the cap).
        head: &'a [u8],
    },
}

/// The reader's buffered bytes, reading more if there are none (empty at the end of
/// the input), with reads that a signal interrupted tried again.
pub(crate) fn fill_buf<R: BufRead>(reader: &mut R) -> io::Result<&[u8]> {
    loop {
        match reader.fill_buf() {
            // The end of the input: no second read, which on a terminal would wait.
            Ok([]) => return Ok(&[]),
            Ok(_) => break,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    // Bytes are buffered, so this returns them without reading (returning the first
    // call's slice from inside the loop is refused by the borrow checker).
    reader.fill_buf()
}

/// Reads lines from a [`BufRead`] with a cap on their length.
pub struct LineReader<R> {
    reader: R,
    max: usize,
    buf: Vec<u8>,
    number: u64,
}

impl<R: BufRead> LineReader<R> {
    /// A reader that keeps lines of at most `max` bytes.
    pub fn new(reader: R, max: usize) -> Self {
        Self {
            reader,
            max: max.max(1),
            buf: Vec::with_capacity(4096),
            number: 0,
        }
    }

    /// The next line, or `None` at the end of input.
    pub fn next_line(&mut self) -> io::Result<Option<Line<'_>>> {
        self.buf.clear();
        let mut len: u64 = 0;
        let mut saw_any = false;
        loop {
            let chunk = fill_buf(&mut self.reader)?;
            if chunk.is_empty() {
                break;
            }
            saw_any = true;
            let (take, done) = match memchr::memchr(b'\n', chunk) {
                Some(at) => (at, true),
                None => (chunk.len(), false),
            };
            let room = self.max.saturating_sub(self.buf.len());
            self.buf.extend_from_slice(&chunk[..take.min(room)]);
            len += take as u64;
            let consumed = if done { take + 1 } else { take };
            self.reader.consume(consumed);
            if done {
                break;
            }
        }
        if !saw_any {
            return Ok(None);
        }
        self.number += 1;
        if len > self.max as u64 {
            return Ok(Some(Line::TooLong {
                number: self.number,
                len,
                head: &self.buf,
            }));
        }
        if self.buf.last() == Some(&b'\r') {
            self.buf.pop();
        }
        Ok(Some(Line::Record {
            number: self.number,
            bytes: &self.buf,
        }))
    }
}

/// Reads RFC 6587 octet-counted frames: `MSG-LEN SP SYSLOG-MSG`.
pub struct OctetCounted<R> {
    reader: R,
    max: usize,
    buf: Vec<u8>,
}

impl<R: BufRead> OctetCounted<R> {
    /// A reader that accepts frames of at most `max` bytes.
    pub fn new(reader: R, max: usize) -> Self {
        Self {
            reader,
            max,
            buf: Vec::new(),
        }
    }

    /// The next frame, or `None` at a clean end of input. A malformed length prefix
    /// or a frame over the cap is an `InvalidData` error: the stream cannot be
    /// resynchronised after it.
    pub fn next_frame(&mut self) -> io::Result<Option<&[u8]>> {
        let mut len: usize = 0;
        let mut digits = 0;
        loop {
            let mut byte = [0u8; 1];
            match self.reader.read(&mut byte)? {
                0 if digits == 0 => return Ok(None),
                0 => return Err(invalid("stream ended inside a frame length")),
                _ => {}
            }
            match byte[0] {
                b'0'..=b'9' if digits < 10 => {
                    len = len * 10 + usize::from(byte[0] - b'0');
                    digits += 1;
                }
                b' ' if digits > 0 => break,
                b'\n' | b'\r' if digits == 0 => continue,
                other => {
                    return Err(invalid(&format!(
                        "expected a frame length, found byte 0x{other:02x}"
                    )));
                }
            }
        }
        if len > self.max {
            return Err(invalid(&format!(
                "frame of {len} bytes exceeds the limit of {} bytes",
                self.max
            )));
        }
        self.buf.resize(len, 0);
        self.reader.read_exact(&mut self.buf)?;
        Ok(Some(&self.buf))
    }
}

fn invalid(message: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn lines(input: &[u8], max: usize) -> Vec<String> {
        let mut reader = LineReader::new(input, max);
        let mut out = Vec::new();
        while let Some(line) = reader.next_line().expect("in-memory read") {
            out.push(match line {
                Line::Record { number, bytes } => {
                    format!("{number}:{}", String::from_utf8_lossy(bytes))
                }
                Line::TooLong { number, len, head } => {
                    format!("{number}:too long {len} {}", String::from_utf8_lossy(head))
                }
            });
        }
        out
    }

    #[test]
    fn lines_are_split_and_crlf_trimmed() {
        assert_eq!(lines(b"a\r\nb\n\nc", 100), ["1:a", "2:b", "3:", "4:c"]);
        assert!(lines(b"", 100).is_empty());
    }

    /// A source that answers reads from a script: like a terminal, it can report the
    /// end of the input and then have more.
    struct Scripted(Vec<io::Result<&'static [u8]>>);

    impl io::Read for Scripted {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.0.is_empty() {
                return Ok(0);
            }
            let bytes = self.0.remove(0)?;
            buf[..bytes.len()].copy_from_slice(bytes);
            Ok(bytes.len())
        }
    }

    #[test]
    fn interrupted_reads_are_retried_and_the_first_end_of_input_is_the_end() {
        let source = Scripted(vec![
            Err(io::ErrorKind::Interrupted.into()),
            Ok(b"a\n"),
            Ok(b""),
            Ok(b"after the end\n"),
        ]);
        let mut reader = LineReader::new(io::BufReader::new(source), 100);
        let mut seen = Vec::new();
        while let Some(line) = reader.next_line().expect("scripted read") {
            if let Line::Record { bytes, .. } = line {
                seen.push(String::from_utf8_lossy(bytes).into_owned());
            }
        }
        assert_eq!(seen, ["a"]);
    }

    #[test]
    fn an_overlong_line_is_reported_and_the_next_kept() {
        let mut input = vec![b'x'; 10_000];
        input.extend_from_slice(b"\nnext\n");
        assert_eq!(lines(&input, 4), ["1:too long 10000 xxxx", "2:next"]);
    }

    #[test]
    fn octet_counted_frames() -> io::Result<()> {
        let input: &[u8] = b"5 hello11 hello world\n3 abc";
        let mut reader = OctetCounted::new(input, 100);
        assert_eq!(reader.next_frame()?, Some(&b"hello"[..]));
        assert_eq!(reader.next_frame()?, Some(&b"hello world"[..]));
        assert_eq!(reader.next_frame()?, Some(&b"abc"[..]));
        assert_eq!(reader.next_frame()?, None);
        Ok(())
    }

    #[test]
    fn octet_counted_rejects_garbage_and_oversize() {
        let mut reader = OctetCounted::new(&b"x5 hello"[..], 100);
        assert!(reader.next_frame().is_err());
        let mut reader = OctetCounted::new(&b"500 hello"[..], 100);
        assert!(reader.next_frame().is_err());
        let mut reader = OctetCounted::new(&b"10 short"[..], 100);
        assert!(reader.next_frame().is_err());
    }

    proptest! {
        #[test]
        fn line_reader_never_loses_bytes(input in proptest::collection::vec(any::<u8>(), 0..2000), max in 1usize..64) {
            let mut reader = LineReader::new(&input[..], max);
            let mut total = 0u64;
            let mut count = 0u64;
            while let Some(line) = reader.next_line().expect("in-memory read") {
                count += 1;
                total += match line {
                    Line::Record { bytes, .. } => bytes.len() as u64,
                    Line::TooLong { len, .. } => len,
                };
            }
            let newlines = input.iter().filter(|b| **b == b'\n').count() as u64;
            let crs = input.windows(2).filter(|w| w == b"\r\n").count() as u64;
            let tail = u64::from(!input.is_empty() && input.last() != Some(&b'\n'));
            prop_assert_eq!(count, newlines + tail);
            prop_assert!(total + newlines + crs + 1 >= input.len() as u64);
        }

        #[test]
        fn octet_counted_never_panics(input in proptest::collection::vec(any::<u8>(), 0..500)) {
            let mut reader = OctetCounted::new(&input[..], 64);
            while let Ok(Some(_)) = reader.next_frame() {}
        }
    }
}
