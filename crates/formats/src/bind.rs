//! ISC BIND 9 (`named`) logs: the `queries` category in every `print-time` form
//! (none, default `dd-Mon-yyyy hh:mm:ss.mmm`, `iso8601`, `iso8601-utc`), with or
//! without `print-category`/`print-severity`; `rpz` rewrites; `query-errors`; and any
//! other `named` message as a generic event. The same [`BindMessages`] parser serves
//! BIND's own log files and `named` lines inside syslog.

use std::io::{self, BufRead};
use std::net::IpAddr;

use dozor_event::{Event, taxonomy as t};
use jiff::civil::Date;

use crate::format::{Format, ParseError, ReadContext, Sink};
use crate::lines::{line_score, read_lines};
use crate::message::{MessageContext, MessageParser};
use crate::text::{clock, digits, ip_port, iso_datetime, month_number, utc};

/// BIND's own log files (a `file` channel).
pub(crate) struct Bind;

impl Format for Bind {
    fn name(&self) -> &'static str {
        "bind"
    }

    fn description(&self) -> &'static str {
        "ISC BIND 9 log file channels: queries (every print-time form), rpz, query-errors, general"
    }

    fn detect(&self, head: &[u8]) -> u8 {
        line_score(head, |line| {
            let bind_time = line.as_bytes().get(2) == Some(&b'-');
            let rest = match strip_time(line) {
                Some((_, rest)) => rest,
                None if bind_time => return false,
                None => line,
            };
            let (category, rest) = strip_category(rest);
            rest.starts_with("client ") || category.is_some() || bind_time
        })
    }

    /// BIND query-log lines stand alone.
    fn splits_at_lines(&self, _head: &[u8]) -> bool {
        true
    }

    fn read(
        &self,
        input: &mut dyn BufRead,
        ctx: &ReadContext,
        sink: &mut dyn Sink,
    ) -> io::Result<()> {
        let mut messages = BindMessages;
        read_lines(self.name(), input, ctx, sink, |line, event| {
            let (time, message) = match strip_time(line) {
                Some((time, rest)) => (Some(time), rest),
                None => (None, line),
            };
            if let Some(time) = time {
                event.set(t::TIME, time);
            }
            let mctx = MessageContext {
                received: ctx.received,
                envelope_time: time,
            };
            messages.parse(message, event, &mctx)
        })
    }
}

/// Splits a leading `print-time` timestamp from a BIND file line.
fn strip_time(line: &str) -> Option<(dozor_event::Timestamp, &str)> {
    let bytes = line.as_bytes();
    let (time, used) = if bytes.get(2) == Some(&b'-') {
        // dd-Mon-yyyy hh:mm:ss.mmm
        let day = digits(bytes, 2)?;
        let month = month_number(bytes.get(3..6)?)?;
        let year = digits(bytes.get(7..)?, 4)?;
        if bytes.get(6) != Some(&b'-') || bytes.get(11) != Some(&b' ') {
            return None;
        }
        let date = Date::new(i16::try_from(year).ok()?, month, i8::try_from(day).ok()?).ok()?;
        let (time, n) = clock(&bytes[12..])?;
        (utc(date, time)?, 12 + n)
    } else {
        iso_datetime(bytes)?
    };
    Some((time, line.get(used..)?.strip_prefix(' ')?))
}

/// BIND's logging categories, as `print-category` writes them.
const CATEGORIES: &[&str] = &[
    "client",
    "cname",
    "config",
    "database",
    "default",
    "delegation-only",
    "dispatch",
    "dnssec",
    "dnstap",
    "edns-disabled",
    "general",
    "lame-servers",
    "network",
    "notify",
    "nsid",
    "queries",
    "query-errors",
    "rate-limit",
    "resolver",
    "rpz",
    "rpz-passthru",
    "security",
    "serve-stale",
    "spill",
    "sslkeylog",
    "trust-anchor-telemetry",
    "unmatched",
    "update",
    "update-security",
    "xfer-in",
    "xfer-out",
    "zoneload",
];

/// Splits an optional `category: ` and `severity: ` prefix off a message.
fn strip_category(message: &str) -> (Option<&str>, &str) {
    let mut category = None;
    let mut rest = message;
    if let Some((head, tail)) = rest.split_once(": ")
        && CATEGORIES.contains(&head)
    {
        category = Some(head);
        rest = tail;
    }
    if let Some((head, tail)) = rest.split_once(": ") {
        let is_severity = matches!(
            head,
            "critical" | "error" | "warning" | "notice" | "info" | "dynamic"
        ) || head
            .strip_prefix("debug ")
            .is_some_and(|n| n.bytes().all(|b| b.is_ascii_digit()));
        if is_severity {
            rest = tail;
        }
    }
    (category, rest)
}

/// Parses `named` messages.
#[derive(Default)]
pub(crate) struct BindMessages;

impl MessageParser for BindMessages {
    fn parse(
        &mut self,
        message: &str,
        event: &mut Event,
        _ctx: &MessageContext,
    ) -> Result<(), ParseError> {
        let (category, message) = strip_category(message);
        event.set(t::EVENT_SRC_VENDOR, "isc");
        event.set(t::EVENT_SRC_TITLE, "bind");
        event.set(t::EVENT_SRC_CATEGORY, "DNS server");
        if let Some(category) = category {
            event.set(t::EVENT_SRC_SUBSYS, category);
        }
        match message.strip_prefix("client ") {
            Some(rest) => client_message(rest, event),
            None => {
                event.set(t::ACTION, "info");
                event.set(t::MSGID, category.unwrap_or("message"));
                event.set(t::IMPORTANCE, "info");
                event.set_raw("message", message);
                Ok(())
            }
        }
    }
}

/// `client [@0x...] ADDR#PORT [(NAME)]: [view V: ]...`
fn client_message(rest: &str, event: &mut Event) -> Result<(), ParseError> {
    let rest = match rest.strip_prefix('@') {
        Some(r) => r.split_once(' ').ok_or("truncated client message")?.1,
        None => rest,
    };
    let (client, rest) = rest.split_once(' ').ok_or("truncated client message")?;
    let client = client.strip_suffix(':').unwrap_or(client);
    let (ip, port) = ip_port(client, '#').ok_or("bad client address")?;
    event.set(t::SRC_IP, ip);
    event.set(t::SRC_PORT, port);
    // The optional "(name)" repeats the query name; the part after ": " says what happened.
    let rest = match rest.strip_prefix('(') {
        Some(r) => r.split_once("): ").ok_or("truncated client message")?.1,
        None => rest,
    };
    let rest = match rest.strip_prefix("view ") {
        Some(r) => {
            let (view, after) = r.split_once(": ").ok_or("truncated view")?;
            event.set(t::DNS_VIEW, view);
            after
        }
        None => rest,
    };
    event.set(t::IMPORTANCE, "info");
    if let Some(query) = rest.strip_prefix("query: ") {
        return query_line(query, event);
    }
    if let Some(rpz) = rest.strip_prefix("rpz ") {
        return rpz_line(rpz, event);
    }
    if let Some(failed) = rest.strip_prefix("query failed (") {
        return failed_line(failed, event);
    }
    event.set(t::ACTION, "info");
    event.set(t::MSGID, "client");
    event.set_raw("message", rest);
    Ok(())
}

/// `NAME CLASS TYPE FLAGS (SERVER) [ECS net/source/scope]`
fn query_line(s: &str, event: &mut Event) -> Result<(), ParseError> {
    let mut parts = s.split(' ');
    let name = parts
        .next()
        .filter(|n| !n.is_empty())
        .ok_or("query without a name")?;
    let class = parts.next().ok_or("truncated query: no class")?;
    let qtype = parts.next().ok_or("truncated query: no type")?;
    let flags = parts.next().ok_or("truncated query: no flags")?;
    let server = parts
        .next()
        .and_then(|s| s.strip_prefix('(')?.strip_suffix(')'))
        .ok_or("truncated query: no server address")?;
    let server: IpAddr = server.parse().map_err(|_| "bad server address")?;
    dns_request(event, "query", &decode_name(name));
    event.set(t::DNS_CLASS, class);
    event.set(t::DNS_TYPE, qtype);
    event.set(t::DST_IP, server);
    set_flags(flags, event)?;
    if parts.next() == Some("[ECS") {
        let ecs = parts
            .next()
            .and_then(|e| e.strip_suffix(']'))
            .ok_or("bad ECS option")?;
        // net/source-prefix/scope-prefix: keep net/source.
        let subnet = match ecs.rsplit_once('/') {
            Some((subnet, _scope)) if subnet.contains('/') => subnet,
            _ => ecs,
        };
        event.set(t::DNS_ECS, subnet);
    }
    Ok(())
}

/// The common fields of a DNS request event.
pub(crate) fn dns_request(event: &mut Event, msgid: &str, name: &str) {
    event.set(t::ACTION, "execute");
    event.set(t::OBJECT, "request");
    event.set(t::OBJECT_TYPE, "DNS");
    event.set(t::STATUS, "success");
    event.set(t::MSGID, msgid);
    event.set(t::OBJECT_QUERY, name);
}

/// BIND's query flags: `+`/`-` (recursion desired), then `S` signed, `E(n)` EDNS,
/// `T` TCP, `D` DNSSEC OK, `C` checking disabled, `V`/`K` cookies.
fn set_flags(flags: &str, event: &mut Event) -> Result<(), ParseError> {
    let mut chars = flags.chars();
    let rd = match chars.next() {
        Some('+') => true,
        Some('-') => false,
        _ => return Err("bad query flags".into()),
    };
    event.set(t::DNS_FLAGS, flags);
    event.set(t::DNS_RECURSION_DESIRED, rd);
    let (mut edns, mut tcp, mut dnssec_ok, mut cd, mut signed, mut cookie) =
        (false, false, false, false, false, false);
    let mut rest = chars.as_str();
    while let Some(c) = rest.chars().next() {
        rest = &rest[c.len_utf8()..];
        match c {
            'E' => {
                edns = true;
                if let Some(after) = rest.strip_prefix('(') {
                    rest = after.split_once(')').ok_or("bad EDNS flag")?.1;
                }
            }
            'T' => tcp = true,
            'D' => dnssec_ok = true,
            'C' => cd = true,
            'S' => signed = true,
            'K' | 'V' => cookie = true,
            _ => return Err(format!("unknown query flag {c:?}").into()),
        }
    }
    event.set(t::DNS_EDNS, edns);
    event.set(t::DNS_TCP, tcp);
    event.set(t::DNS_DNSSEC_OK, dnssec_ok);
    event.set(t::DNS_CHECKING_DISABLED, cd);
    event.set(t::DNS_SIGNED, signed);
    event.set(t::DNS_COOKIE, cookie);
    Ok(())
}

/// `TRIGGER POLICY rewrite NAME/TYPE/CLASS via RULE`
fn rpz_line(s: &str, event: &mut Event) -> Result<(), ParseError> {
    let mut parts = s.split(' ');
    let trigger = parts.next().ok_or("truncated rpz message")?;
    let policy = parts.next().ok_or("truncated rpz message")?;
    if parts.next() != Some("rewrite") {
        return Err("unknown rpz message".into());
    }
    let question = parts.next().ok_or("truncated rpz message")?;
    let (name, qtype, class) = split_question(question).ok_or("bad rpz question")?;
    dns_request(event, "rpz", &decode_name(name));
    event.set(t::ACTION, "rewrite");
    event.set(t::DNS_TYPE, qtype);
    event.set(t::DNS_CLASS, class);
    event.set(t::DNS_RPZ_TRIGGER, trigger);
    event.set(t::DNS_RPZ_POLICY, policy);
    if parts.next() == Some("via") {
        let rule = parts.next().ok_or("truncated rpz message")?;
        event.set(t::DNS_RPZ_RULE, rule);
    }
    Ok(())
}

/// `REASON) for NAME/CLASS/TYPE at FILE:LINE`
fn failed_line(s: &str, event: &mut Event) -> Result<(), ParseError> {
    let (reason, rest) = s
        .split_once(") for ")
        .ok_or("truncated query-errors message")?;
    let question = rest.split(' ').next().unwrap_or(rest);
    let mut parts = question.rsplitn(3, '/');
    let (qtype, class, name) = (parts.next(), parts.next(), parts.next());
    let (Some(qtype), Some(class), Some(name)) = (qtype, class, name) else {
        return Err("bad question in query-errors message".into());
    };
    dns_request(event, "query-failed", &decode_name(name));
    event.set(t::STATUS, "failure");
    event.set(t::REASON, reason);
    event.set(t::DNS_CLASS, class);
    event.set(t::DNS_TYPE, qtype);
    Ok(())
}

/// `name/TYPE/CLASS` as rpz writes it.
fn split_question(q: &str) -> Option<(&str, &str, &str)> {
    let mut parts = q.rsplitn(3, '/');
    let class = parts.next()?;
    let qtype = parts.next()?;
    let name = parts.next()?;
    Some((name, qtype, class))
}

/// Decodes BIND's presentation-format escapes (`\032` for a byte by its decimal value,
/// `\.` for a literal character). A name whose bytes are not UTF-8 stays escaped.
pub(crate) fn decode_name(name: &str) -> std::borrow::Cow<'_, str> {
    if !name.contains('\\') {
        return name.into();
    }
    let bytes = name.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\' && i + 1 < bytes.len() {
            if let Some(n) = digits(&bytes[i + 1..], 3).filter(|n| *n <= 255) {
                out.push(n as u8);
                i += 4;
            } else {
                out.push(bytes[i + 1]);
                i += 2;
            }
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    match String::from_utf8(out) {
        Ok(decoded) => decoded.into(),
        Err(_) => name.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dozor_event::Value;

    fn parse(line: &str) -> Result<Event, ParseError> {
        let mut event = Event::new();
        let ctx = MessageContext {
            received: dozor_event::Timestamp::UNIX_EPOCH,
            envelope_time: None,
        };
        BindMessages.parse(line, &mut event, &ctx)?;
        Ok(event)
    }

    #[test]
    fn query_with_every_part() -> Result<(), ParseError> {
        let ev = parse(
            "queries: info: client @0x7fa469729098 127.0.0.17#50877 (api.telegram.org): view lab: query: api.telegram.org IN A +E(0)DCK (127.0.0.1) [ECS 198.51.100.0/24/0]",
        )?;
        assert_eq!(ev.get_str(t::OBJECT_QUERY), Some("api.telegram.org"));
        assert_eq!(ev.get_str(t::EVENT_SRC_SUBSYS), Some("queries"));
        assert_eq!(ev.get_str(t::DNS_VIEW), Some("lab"));
        assert_eq!(ev.get_str(t::DNS_ECS), Some("198.51.100.0/24"));
        assert_eq!(ev.get(t::SRC_PORT), Some(&Value::Int(50877)));
        assert_eq!(ev.get(t::DNS_DNSSEC_OK), Some(&Value::Bool(true)));
        assert_eq!(ev.get(t::DNS_CHECKING_DISABLED), Some(&Value::Bool(true)));
        assert_eq!(ev.get(t::DNS_TCP), Some(&Value::Bool(false)));
        assert!(ev.check_kinds().is_ok());
        Ok(())
    }

    #[test]
    fn old_style_client_without_pointer_and_no_recursion() -> Result<(), ParseError> {
        let ev = parse("client ::1#5353: query: example.com IN AAAA -T (::1)")?;
        assert_eq!(ev.get(t::DNS_RECURSION_DESIRED), Some(&Value::Bool(false)));
        assert_eq!(ev.get(t::DNS_TCP), Some(&Value::Bool(true)));
        Ok(())
    }

    #[test]
    fn escaped_names_are_decoded() {
        assert_eq!(
            decode_name(r"white\032space.example.com"),
            "white space.example.com"
        );
        assert_eq!(decode_name(r"a\.b.example"), "a.b.example");
        assert_eq!(decode_name(r"bad\255byte"), r"bad\255byte");
    }

    #[test]
    fn rpz_and_failures() -> Result<(), ParseError> {
        let ev = parse(
            "client @0x7fa46de08098 127.0.0.16#33538 (evil-c2.example.net): rpz QNAME NXDOMAIN rewrite evil-c2.example.net/A/IN via evil-c2.example.net.rpz.local",
        )?;
        assert_eq!(ev.get_str(t::DNS_RPZ_POLICY), Some("NXDOMAIN"));
        assert_eq!(ev.get_str(t::MSGID), Some("rpz"));
        let ev = parse(
            "query-errors: info: client @0x7fa46de08098 127.0.0.1#36624 (version.bind): query failed (zone not loaded) for version.bind/CH/TXT at query.c:5713",
        )?;
        assert_eq!(ev.get_str(t::STATUS), Some("failure"));
        assert_eq!(ev.get_str(t::REASON), Some("zone not loaded"));
        Ok(())
    }

    #[test]
    fn truncated_queries_are_errors() {
        for line in [
            "client @0x7fa46de08098 127.0.0.1#36624 (version.bind): query: version",
            "client @0x7fa46de08098 127.0.0.1#36624 (version.bind): query: version.bind CH TXT +E(0)K (127.0.0",
            "client @0x7fa46de08098 nonsense#1 (x): query: x IN A + (127.0.0.1)",
            "client @0x7fa46de08098 127.0.0.1#1 (x): query: x IN A +Q (127.0.0.1)",
        ] {
            assert!(parse(line).is_err(), "{line} accepted");
        }
    }

    #[test]
    fn time_prefixes() {
        for line in [
            "27-Nov-2026 19:25:09.975 client x",
            "2026-11-27T19:25:09.975Z client x",
            "2026-11-27T19:25:09.975 client x",
        ] {
            let (time, rest) = strip_time(line).expect("has a time");
            assert_eq!(rest, "client x");
            assert_eq!(time.to_string(), "2026-11-27T19:25:09.975Z");
        }
        assert!(strip_time("client x").is_none());
    }
}
