//! Cutting a syslog byte stream into messages: RFC 6587 octet counting
//! (`LEN SP MSG`) when a frame starts with a length and `<`, newline-terminated
//! otherwise; both may be mixed on one connection.

/// One cut from the buffer.
#[derive(Debug, PartialEq, Eq)]
pub enum Frame<'a> {
    /// A whole message (without its terminator).
    Message(&'a [u8]),
    /// A newline-framed message longer than the limit: its first bytes (one more than
    /// the limit, so that the parser rejects it as too long).
    Oversize(&'a [u8]),
}

/// Takes the next frame from `buf`; returns it and how many bytes it used, or `None`
/// when more bytes are needed. At end of stream (`eof`), a trailing partial line is a
/// message.
pub fn next_frame(buf: &[u8], max: usize, eof: bool) -> Option<(Frame<'_>, usize)> {
    if buf.is_empty() {
        return None;
    }
    if let Some((len, header)) = octet_count(buf)
        && len <= max
    {
        let end = header + len;
        return if buf.len() >= end {
            Some((Frame::Message(&buf[header..end]), end))
        } else if eof {
            Some((Frame::Message(&buf[header..]), buf.len()))
        } else {
            None
        };
    }
    match memchr(b'\n', buf) {
        Some(at) if at <= max => {
            let line = &buf[..at];
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            Some((Frame::Message(line), at + 1))
        }
        Some(_) | None if buf.len() > max => {
            let end = memchr(b'\n', buf).map(|at| at + 1);
            match end {
                Some(end) => Some((Frame::Oversize(&buf[..=max]), end)),
                // Not ended yet: keep the start, drop the rest as it comes.
                None => Some((Frame::Oversize(&buf[..=max]), buf.len())),
            }
        }
        _ if eof => Some((Frame::Message(buf), buf.len())),
        _ => None,
    }
}

/// `LEN SP` followed by `<`: the length and the header's size.
fn octet_count(buf: &[u8]) -> Option<(usize, usize)> {
    let digits = buf
        .iter()
        .take(9)
        .take_while(|b| b.is_ascii_digit())
        .count();
    if digits == 0 || digits > 8 || buf.get(digits) != Some(&b' ') {
        return None;
    }
    if buf.len() > digits + 1 && buf[digits + 1] != b'<' {
        return None;
    }
    if buf.len() == digits + 1 {
        // Cannot tell yet: read as a line until more arrives.
        return None;
    }
    let len: usize = std::str::from_utf8(&buf[..digits]).ok()?.parse().ok()?;
    Some((len, digits + 1))
}

fn memchr(needle: u8, haystack: &[u8]) -> Option<usize> {
    haystack.iter().position(|&b| b == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(mut buf: &[u8], max: usize) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        while let Some((frame, used)) = next_frame(buf, max, true) {
            match frame {
                Frame::Message(m) => out.push(m.to_vec()),
                Frame::Oversize(m) => out.push([b"!".as_slice(), &m[..3]].concat()),
            }
            buf = &buf[used..];
        }
        out
    }

    #[test]
    fn newline_and_octet_counting_mix() {
        let stream = b"<13>one\r\n10 <13>two\nxx<13>three\n";
        assert_eq!(
            frames(stream, 100),
            [
                b"<13>one".to_vec(),
                b"<13>two\nxx".to_vec(),
                b"<13>three".to_vec()
            ]
        );
    }

    #[test]
    fn partial_frames_wait_for_more() {
        assert_eq!(next_frame(b"20 <13>short", 100, false), None);
        assert_eq!(next_frame(b"<13>no newline yet", 100, false), None);
        assert_eq!(next_frame(b"12", 100, false), None);
    }

    #[test]
    fn oversize_lines_are_cut_and_skipped() {
        let mut stream = vec![b'a'; 50];
        stream.extend_from_slice(b"\n<13>next\n");
        assert_eq!(
            frames(&stream, 10),
            [b"!aaa".to_vec(), b"<13>next".to_vec()]
        );
    }

    #[test]
    fn digits_without_a_frame_are_text() {
        assert_eq!(frames(b"27 Nov text\n", 100), [b"27 Nov text".to_vec()]);
    }
}
