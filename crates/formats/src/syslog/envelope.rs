//! The syslog envelope: RFC 5424, RFC 3164 (with or without the `<PRI>` of the wire
//! form), rsyslog's traditional and RFC 3339 file formats, and the host-less form
//! that programs writing their own log file use (`Nov 27 19:25:09 dnsmasq[6138]: ...`).

use dozor_event::Timestamp;

use crate::format::ParseError;
use crate::text::{bsd_timestamp, iso_datetime};

/// The parts of one syslog record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Envelope<'a> {
    /// Facility × 8 + severity.
    pub pri: Option<u8>,
    /// The header timestamp.
    pub time: Option<Timestamp>,
    /// HOSTNAME, when the record has one.
    pub host: Option<&'a str>,
    /// APP-NAME, or the TAG of RFC 3164 without its `[pid]`.
    pub app: Option<&'a str>,
    /// PROCID, or the `[pid]` of the TAG.
    pub procid: Option<&'a str>,
    /// MSGID (RFC 5424 only).
    pub msgid: Option<&'a str>,
    /// STRUCTURED-DATA as written (RFC 5424 only).
    pub structured: Option<&'a str>,
    /// The message, without leading blanks or byte-order mark.
    pub message: &'a str,
}

/// Parses the envelope of `line`, inferring the year of a BSD timestamp from `reference`.
pub(crate) fn parse(line: &str, reference: Timestamp) -> Result<Envelope<'_>, ParseError> {
    let (pri, rest) = priority(line)?;
    if let Some(rest) = rest.strip_prefix("1 ") {
        return rfc5424(pri, rest);
    }
    let bytes = rest.as_bytes();
    let (time, used) = if bytes.first().is_some_and(u8::is_ascii_digit) {
        iso_datetime(bytes).ok_or("bad RFC 3339 timestamp")?
    } else {
        bsd_timestamp(bytes, reference).ok_or("bad or missing syslog timestamp")?
    };
    let rest = rest[used..]
        .strip_prefix(' ')
        .ok_or("no space after the timestamp")?
        .trim_start_matches(' ');
    let (first, after_first) = split_token(rest);
    if first.is_empty() {
        return Err("no host or tag after the timestamp".into());
    }
    let (host, tagged) = if looks_like_tag(first) {
        (None, rest)
    } else {
        (Some(first), after_first)
    };
    let (app, procid, message) = tag(tagged);
    Ok(Envelope {
        pri,
        time: Some(time),
        host,
        app,
        procid,
        msgid: None,
        structured: None,
        message: clean_message(message),
    })
}

fn priority(line: &str) -> Result<(Option<u8>, &str), ParseError> {
    let Some(rest) = line.strip_prefix('<') else {
        return Ok((None, line));
    };
    let end = rest
        .find('>')
        .filter(|&e| (1..=3).contains(&e))
        .ok_or("bad <PRI>")?;
    let pri: u8 = rest[..end].parse().map_err(|_| "bad <PRI>")?;
    if pri > 191 {
        return Err("<PRI> out of range".into());
    }
    Ok((Some(pri), &rest[end + 1..]))
}

fn rfc5424(pri: Option<u8>, rest: &str) -> Result<Envelope<'_>, ParseError> {
    let (ts, rest) = split_token(rest);
    let time = match ts {
        "-" => None,
        _ => {
            let (t, used) = iso_datetime(ts.as_bytes()).ok_or("bad RFC 5424 timestamp")?;
            if used != ts.len() {
                return Err("bad RFC 5424 timestamp".into());
            }
            Some(t)
        }
    };
    let (host, rest) = split_token(rest);
    let (app, rest) = split_token(rest);
    let (procid, rest) = split_token(rest);
    let (msgid, rest) = split_token(rest);
    if msgid.is_empty() {
        return Err("truncated RFC 5424 header".into());
    }
    let (structured, message) = structured_data(rest)?;
    Ok(Envelope {
        pri,
        time,
        host: nil(host),
        app: nil(app),
        procid: nil(procid),
        msgid: nil(msgid),
        structured,
        message: clean_message(message),
    })
}

/// Splits STRUCTURED-DATA (`-` or `[id k="v"]...`) from the message after it.
fn structured_data(s: &str) -> Result<(Option<&str>, &str), ParseError> {
    if let Some(rest) = s.strip_prefix('-') {
        return Ok((None, rest));
    }
    if !s.starts_with('[') {
        return Err("bad RFC 5424 structured data".into());
    }
    let bytes = s.as_bytes();
    let (mut i, mut in_quotes, mut depth) = (0, false, 0);
    while i < bytes.len() {
        match bytes[i] {
            b'\\' if in_quotes => i += 1,
            b'"' => in_quotes = !in_quotes,
            b'[' if !in_quotes => depth += 1,
            b']' if !in_quotes => {
                depth -= 1;
                if depth == 0 && bytes.get(i + 1) != Some(&b'[') {
                    return Ok((Some(&s[..=i]), &s[i + 1..]));
                }
            }
            _ => {}
        }
        i += 1;
    }
    Err("unterminated RFC 5424 structured data".into())
}

/// A token that is a TAG rather than a host: `name:` or `name[pid]:`.
fn looks_like_tag(token: &str) -> bool {
    token.ends_with(':') || (token.contains('[') && token.ends_with("]:"))
}

/// Splits an RFC 3164 TAG (`app[pid]:` or `app:`) from the message. A record without a
/// recognisable tag is all message.
fn tag(s: &str) -> (Option<&str>, Option<&str>, &str) {
    let (token, rest) = split_token(s);
    let Some(tag) = token.strip_suffix(':') else {
        return (None, None, s);
    };
    if tag.is_empty() {
        return (None, None, s);
    }
    match tag.split_once('[') {
        Some((app, pid)) => (
            Some(app),
            pid.strip_suffix(']').filter(|p| !p.is_empty()),
            rest,
        ),
        None => (Some(tag), None, rest),
    }
}

fn nil(s: &str) -> Option<&str> {
    (s != "-").then_some(s)
}

fn split_token(s: &str) -> (&str, &str) {
    match s.find(' ') {
        Some(at) => (&s[..at], &s[at + 1..]),
        None => (s, ""),
    }
}

fn clean_message(message: &str) -> &str {
    message.trim_start_matches([' ', '\u{feff}'])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reference() -> Timestamp {
        "2026-11-28T00:00:00Z".parse().expect("valid")
    }

    fn ts(s: &str) -> Option<Timestamp> {
        Some(s.parse().expect("valid"))
    }

    #[test]
    fn traditional_file_format() {
        let e = parse(
            "Nov 27 19:25:09 siem-lab named[6137]: starting BIND 9.18",
            reference(),
        )
        .expect("parses");
        assert_eq!(e.time, ts("2026-11-27T19:25:09Z"));
        assert_eq!(
            (e.host, e.app, e.procid, e.message),
            (
                Some("siem-lab"),
                Some("named"),
                Some("6137"),
                "starting BIND 9.18"
            )
        );
    }

    #[test]
    fn wire_rfc3164_with_pri_and_padded_day() {
        let e = parse(
            "<190>Aug  1 00:00:00 teamcity teamcity-activities.log: [2021-07-05 11:44:56,539] x",
            reference(),
        )
        .expect("parses");
        assert_eq!(e.pri, Some(190));
        assert_eq!(e.app, Some("teamcity-activities.log"));
        assert_eq!(e.message, "[2021-07-05 11:44:56,539] x");
    }

    #[test]
    fn rfc3339_file_format() {
        let e = parse(
            "2026-11-27T19:25:09.949741+00:00 siem-lab dnsmasq[6140]: started, version 2.90",
            reference(),
        )
        .expect("parses");
        assert_eq!(e.time, ts("2026-11-27T19:25:09.949741Z"));
        assert_eq!(e.app, Some("dnsmasq"));
    }

    #[test]
    fn rfc5424_with_and_without_structured_data() {
        let e = parse(
            "<29>1 2026-11-27T19:25:09.949741+00:00 siem-lab named 6137 - -  starting BIND",
            reference(),
        )
        .expect("parses");
        assert_eq!(
            (e.host, e.app, e.procid, e.msgid, e.message),
            (
                Some("siem-lab"),
                Some("named"),
                Some("6137"),
                None,
                "starting BIND"
            )
        );
        let e = parse(
            r#"<165>1 2003-10-11T22:14:15.003Z host app - ID47 [a@1 k="v\"]"][b@2 x="y"] msg"#,
            reference(),
        )
        .expect("parses");
        assert_eq!(e.structured, Some(r#"[a@1 k="v\"]"][b@2 x="y"]"#));
        assert_eq!((e.msgid, e.message), (Some("ID47"), "msg"));
    }

    #[test]
    fn hostless_program_file() {
        let e = parse(
            "Nov 27 19:25:09 dnsmasq[6138]: query[A] a.example from 127.0.0.1",
            reference(),
        )
        .expect("parses");
        assert_eq!(
            (e.host, e.app, e.procid),
            (None, Some("dnsmasq"), Some("6138"))
        );
        assert_eq!(e.message, "query[A] a.example from 127.0.0.1");
    }

    #[test]
    fn malformed_envelopes_are_errors() {
        for line in [
            "",
            "hello world",
            "<999>Nov 27 19:25:09 h a: m",
            "<13>Nov 27 19:2",
            "<13>1 2026-11-27T19:25:09Z host app",
            "<13>1 2026-11-27T19:25:09Z host app - - [unterminated",
        ] {
            assert!(parse(line, reference()).is_err(), "{line:?} accepted");
        }
    }
}
