//! Access logs in the NCSA common and combined layouts, as Tomcat's `AccessLogValve`
//! writes them for TeamCity (`localhost_access_log.*.txt`) and as most web servers and
//! proxies do. Extra fields after the combined ones are kept under `raw.extra`; Squid's
//! `combined` layout ends in its `result:hierarchy` codes, which make the event a
//! proxy's (as from its native log). A proxied request's destination (absolute URL,
//! `CONNECT host:port`) goes to `dst.*`.

use std::io::{self, BufRead};
use std::net::IpAddr;

use dozor_event::{Event, taxonomy as t};
use jiff::civil::Date;

use crate::format::{Format, ParseError, ReadContext, Sink};
use crate::http::set_destination;
use crate::lines::{line_score, read_lines};
use crate::squid::{set_outcome, set_request};
use crate::text::{clock, digits, month_number, utc};

/// Common/combined access logs.
pub(crate) struct AccessLog;

impl Format for AccessLog {
    fn name(&self) -> &'static str {
        "access-log"
    }

    fn description(&self) -> &'static str {
        "HTTP access logs, NCSA common/combined (Tomcat AccessLogValve as TeamCity writes it)"
    }

    fn detect(&self, head: &[u8]) -> u8 {
        line_score(head, |line| parse(line, &mut Event::new()).is_ok())
    }

    /// Access-log lines stand alone.
    fn splits_at_lines(&self, _head: &[u8]) -> bool {
        true
    }

    fn read(
        &self,
        input: &mut dyn BufRead,
        ctx: &ReadContext,
        sink: &mut dyn Sink,
    ) -> io::Result<()> {
        read_lines(self.name(), input, ctx, sink, parse)
    }
}

/// `host ident user [dd/Mon/yyyy:hh:mm:ss +zzzz] "METHOD target HTTP/x" status bytes ["referer" "agent"] [extra]`
fn parse(line: &str, event: &mut Event) -> Result<(), ParseError> {
    let (host, rest) = line.split_once(' ').ok_or("truncated access log line")?;
    let (_ident, rest) = rest.split_once(' ').ok_or("truncated access log line")?;
    let (user, rest) = rest.split_once(" [").ok_or("no [time]")?;
    let (time, rest) = rest.split_once("] \"").ok_or("no request")?;
    let (request, rest) = split_quoted(rest).ok_or("unterminated request")?;
    let mut rest = rest.trim_start().splitn(3, ' ');
    let status: i64 = rest
        .next()
        .and_then(|s| s.parse().ok())
        .ok_or("bad status code")?;
    let bytes = rest.next().ok_or("no response size")?;
    let tail = rest.next().unwrap_or("");

    event.set(t::TIME, clf_time(time).ok_or("bad time")?);
    match host.parse::<IpAddr>() {
        Ok(ip) => event.set(t::SRC_IP, ip),
        Err(_) => event.set(t::SRC_HOST, host),
    }
    if user != "-" {
        event.set(t::SUBJECT_ACCOUNT_NAME, user);
    }
    let mut parts = request.splitn(3, ' ');
    let method = parts.next().unwrap_or_default();
    match (parts.next(), parts.next()) {
        (Some(target), version) => {
            set_request(event, method, target);
            set_destination(event, method, target);
            if let Some(version) = version {
                event.set(t::HTTP_VERSION, version);
            }
        }
        // A request line that is not "METHOD target" (a scanner's garbage) is kept as is.
        _ => event.set_raw("request", request),
    }
    // Squid logs 0 for a request that got no response.
    if status != 0 {
        event.set(t::HTTP_STATUS, status);
    }
    if let Ok(n) = bytes.parse::<i64>() {
        event.set(t::HTTP_BYTES, n);
    }
    let (referrer, agent, extra) = quoted_tail(tail.trim_start())?;
    for (field, value) in [(t::HTTP_REFERRER, referrer), (t::HTTP_USER_AGENT, agent)] {
        if let Some(value) = value.filter(|v| *v != "-") {
            event.set(field, value);
        }
    }
    match extra.split_once(':').filter(|_| is_squid_codes(extra)) {
        Some((code, hierarchy)) => set_outcome(event, code, hierarchy, status),
        None => {
            event.set(t::EVENT_SRC_CATEGORY, "Web server");
            event.set(t::ACTION, "execute");
            event.set(t::OBJECT, "request");
            event.set(t::STATUS, if status < 400 { "success" } else { "failure" });
            event.set(t::MSGID, "access");
            event.set(t::IMPORTANCE, "info");
            if !extra.is_empty() {
                event.set_raw("extra", extra);
            }
        }
    }
    Ok(())
}

/// The combined layout's `"referer" "agent"` and what follows them. Tomcat and Apache
/// escape quotes inside these fields; Squid does not, so a field whose closing quote
/// is not followed by a blank (or the end) runs on to the next `" "` (the referrer)
/// or to the last quote of the line (the agent).
fn quoted_tail(tail: &str) -> Result<(Option<&str>, Option<&str>, &str), ParseError> {
    let Some(quoted) = tail.strip_prefix('"') else {
        return Ok((None, None, tail));
    };
    let (referrer, after) = match split_quoted(quoted) {
        Some((value, after)) if after.is_empty() || after.starts_with(' ') => (value, after),
        _ => match quoted.find("\" \"") {
            Some(at) => (&quoted[..at], &quoted[at + 1..]),
            None => return Err("unterminated quoted field".into()),
        },
    };
    let after = after.trim_start();
    let Some(quoted) = after.strip_prefix('"') else {
        return Ok((Some(referrer), None, after));
    };
    let (agent, extra) = match split_quoted(quoted) {
        Some((value, extra)) if extra.is_empty() || extra.starts_with(' ') => (value, extra),
        _ => match quoted.rfind('"') {
            Some(at) => (&quoted[..at], &quoted[at + 1..]),
            None => return Err("unterminated quoted field".into()),
        },
    };
    Ok((Some(referrer), Some(agent), extra.trim()))
}

/// Whether `extra` is Squid's `%Ss:%Sh`, such as `TCP_TUNNEL:HIER_DIRECT`.
fn is_squid_codes(extra: &str) -> bool {
    extra.split_once(':').is_some_and(|(code, hierarchy)| {
        hierarchy.starts_with("HIER_")
            && [code, hierarchy]
                .iter()
                .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_uppercase() || b == b'_'))
    })
}

/// The text up to the closing `"` (honouring `\"`), and what follows it.
fn split_quoted(s: &str) -> Option<(&str, &str)> {
    let bytes = s.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'"' => return Some((&s[..i], &s[i + 1..])),
            _ => i += 1,
        }
    }
    None
}

/// `27/Sep/2023:20:12:20 +0000`
fn clf_time(s: &str) -> Option<dozor_event::Timestamp> {
    let b = s.as_bytes();
    let day = digits(b, 2)?;
    let month = month_number(b.get(3..6)?)?;
    let year = digits(b.get(7..)?, 4)?;
    if b.get(2) != Some(&b'/') || b.get(6) != Some(&b'/') || b.get(11) != Some(&b':') {
        return None;
    }
    let (time, n) = clock(&b[12..])?;
    let date = Date::new(i16::try_from(year).ok()?, month, i8::try_from(day).ok()?).ok()?;
    let local = utc(date, time)?;
    let zone = s.get(12 + n..)?.trim();
    let sign = match zone.as_bytes().first() {
        Some(b'+') => 1,
        Some(b'-') => -1,
        _ => return Some(local),
    };
    let hh = digits(&zone.as_bytes()[1..], 2)?;
    let mm = digits(&zone.as_bytes()[3..], 2)?;
    let offset = jiff::SignedDuration::from_secs(i64::from(sign * (hh * 3600 + mm * 60)));
    local.checked_sub(offset).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use dozor_event::Value;

    #[test]
    fn combined_line() -> Result<(), ParseError> {
        let mut ev = Event::new();
        parse(
            r#"10.0.0.9 - admin [04/Mar/2024:10:15:02 +0300] "POST /app/rest/debug/processes?exePath=cmd.exe&params=%2Fc%20whoami HTTP/1.1" 200 57 "-" "python-requests/2.31.0" 12"#,
            &mut ev,
        )?;
        assert_eq!(
            ev.time().map(|t| t.to_string()).as_deref(),
            Some("2024-03-04T07:15:02Z")
        );
        assert_eq!(
            ev.get_str(t::HTTP_USER_AGENT),
            Some("python-requests/2.31.0")
        );
        assert_eq!(ev.get(t::HTTP_STATUS), Some(&Value::Int(200)));
        assert_eq!(ev.get_str(t::SUBJECT_ACCOUNT_NAME), Some("admin"));
        assert_eq!(ev.raw("extra"), Some(&Value::from("12")));
        assert!(ev.check_kinds().is_ok());
        Ok(())
    }

    #[test]
    fn squid_combined_line() -> Result<(), ParseError> {
        let mut ev = Event::new();
        parse(
            r#"127.0.0.1 - - [28/Nov/2026:04:45:31 +0000] "GET http://pastebin.com/raw/abc123 HTTP/1.1" 403 3429 "-" "curl "quoted" agent" TCP_DENIED:HIER_NONE"#,
            &mut ev,
        )?;
        assert_eq!(
            ev.get_str(t::HTTP_USER_AGENT),
            Some(r#"curl "quoted" agent"#)
        );
        assert_eq!(ev.get_str(t::EVENT_SRC_TITLE), Some("squid"));
        assert_eq!(ev.raw("result_code"), Some(&Value::from("TCP_DENIED")));
        assert_eq!(ev.get_str(t::DST_HOST), Some("pastebin.com"));
        assert_eq!(ev.get_str(t::STATUS), Some("failure"));
        assert_eq!(ev.raw("extra"), None);
        let mut ev = Event::new();
        parse(
            r#"127.0.0.1 - - [28/Nov/2026:04:45:21 +0000] "CONNECT api.telegram.org:443 HTTP/1.1" 200 7167 "a "b" c" "python-requests/2.31.0" TCP_TUNNEL:HIER_DIRECT"#,
            &mut ev,
        )?;
        assert_eq!(ev.get_str(t::HTTP_REFERRER), Some(r#"a "b" c"#));
        assert_eq!(
            ev.get_str(t::HTTP_USER_AGENT),
            Some("python-requests/2.31.0")
        );
        assert_eq!(ev.get(t::DST_PORT), Some(&Value::from(443u16)));
        assert!(ev.check_kinds().is_ok());
        Ok(())
    }

    #[test]
    fn bad_lines() {
        for line in [
            "10.0.0.9 - - [04/Mar/2024:10:15:02 +0000] \"GET / HTTP/1.1\"",
            "10.0.0.9 - - [04/Xxx/2024:10:15:02 +0000] \"GET / HTTP/1.1\" 200 1",
            "10.0.0.9 - - [04/Mar/2024:10:15:02 +0000] \"GET / HTTP/1.1",
        ] {
            assert!(parse(line, &mut Event::new()).is_err(), "{line} accepted");
        }
    }
}
