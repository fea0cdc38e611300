//! Log lines carried inside JSON by shippers: Vector, Fluent Bit, Filebeat and Elastic
//! Agent wrap each line they collect in an object, the line under `message` (or `log`)
//! and, when they parsed syslog, the program under `appname`/`ident`/`programname`.
//! The line is read as what it is: the program's message through its parser, or the
//! whole line in the text format it is written in. Envelope host names fill
//! `event_src.host` when the line does not name one.

use dozor_event::{Event, taxonomy as t};
use serde_json::{Map, Value as Json};

use crate::format::{Collected, ReadContext};
use crate::message::MessageContext;

/// Keys under which shippers put the line.
const LINE_KEYS: &[&str] = &["message", "log"];
/// Keys under which shippers put the syslog program name.
const PROGRAM_KEYS: &[&str] = &["appname", "ident", "programname", "app_name"];

/// Fills `event` from the line `object` carries; `false` when it carries none that
/// Dozor can read (the object is then kept as a generic JSON event).
pub(crate) fn read_shipped(
    object: &Map<String, Json>,
    ctx: &ReadContext,
    event: &mut Event,
) -> bool {
    let Some(line) = LINE_KEYS.iter().find_map(|k| object.get(*k)?.as_str()) else {
        return false;
    };
    let line = line.trim_end_matches(['\r', '\n']);
    let read = program_message(object, line, ctx, event) || whole_line(line, ctx, event);
    if read && event.get(t::EVENT_SRC_HOST).is_none() {
        let host = ["hostname", "host"]
            .iter()
            .find_map(|k| match object.get(*k)? {
                Json::String(s) => Some(s.as_str()),
                Json::Object(h) => h.get("name")?.as_str(),
                _ => None,
            });
        if let Some(host) = host.filter(|h| !h.is_empty()) {
            event.set(t::EVENT_SRC_HOST, host);
            crate::text::set_host(
                event,
                host,
                t::EVENT_SRC_HOSTNAME,
                t::EVENT_SRC_FQDN,
                Some(t::EVENT_SRC_IP),
            );
        }
    }
    read
}

/// A syslog message whose program the shipper named, read by that program's parser.
fn program_message(
    object: &Map<String, Json>,
    message: &str,
    ctx: &ReadContext,
    event: &mut Event,
) -> bool {
    let Some(program) = PROGRAM_KEYS.iter().find_map(|k| object.get(*k)?.as_str()) else {
        return false;
    };
    let Some(mut parser) = crate::programs::parser_for(program) else {
        return false;
    };
    let envelope_time = ["timestamp", "@timestamp", "time"]
        .iter()
        .filter_map(|k| object.get(*k)?.as_str())
        .find_map(crate::windows::parse_time);
    let context = MessageContext {
        received: ctx.received,
        envelope_time,
    };
    let mut parsed = Event::new();
    if let Some(time) = envelope_time {
        parsed.set(t::TIME, time);
    }
    if parser.parse(message, &mut parsed, &context).is_err() {
        return false;
    }
    *event = parsed;
    true
}

/// A whole log line, in whichever text format it is written.
fn whole_line(line: &str, ctx: &ReadContext, event: &mut Event) -> bool {
    let Some(format) = crate::detect(line.as_bytes()) else {
        return false;
    };
    if format.name() == "json" {
        return false;
    }
    let mut read = Collected::default();
    if format.read(&mut line.as_bytes(), ctx, &mut read).is_err() || !read.rejects.is_empty() {
        return false;
    }
    match read.events.into_iter().next() {
        Some(parsed) => {
            *event = parsed;
            true
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dozor_event::Timestamp;

    fn read(json: &str) -> Option<Event> {
        let value: Json = serde_json::from_str(json).expect("json");
        let ctx = ReadContext {
            source: "test".into(),
            received: Timestamp::UNIX_EPOCH,
            max_record: 1 << 20,
            defer_mapping: false,
        };
        let mut event = Event::new();
        read_shipped(value.as_object()?, &ctx, &mut event).then_some(event)
    }

    #[test]
    fn vector_syslog_message_goes_to_its_program_parser() {
        // Vector's syslog source: the program under `appname`, the message alone.
        let event = read(r#"{"appname":"named","hostname":"ns1","message":"client @0x7fa46de08098 127.0.0.10#55647 (api.telegram.org): query: api.telegram.org IN A +E(0)K (127.0.0.1)","timestamp":"2026-11-27T19:25:10.790Z","source_type":"syslog"}"#).expect("read");
        assert_eq!(event.get_str(t::OBJECT_QUERY), Some("api.telegram.org"));
        assert_eq!(event.get_str(t::EVENT_SRC_HOST), Some("ns1"));
        assert!(event.time().is_some());
    }

    #[test]
    fn filebeat_and_fluent_bit_lines_are_read_in_their_format() {
        // Filebeat: the raw syslog line under `message`, the host under host.name.
        let event = read(r#"{"@timestamp":"2026-11-27T19:25:14.000Z","message":"Nov 27 19:25:14 dns1 dnsmasq[6139]: query[A] api.telegram.org from 10.1.2.3","host":{"name":"dns1"}}"#).expect("read");
        assert_eq!(event.get_str(t::OBJECT_QUERY), Some("api.telegram.org"));
        // Fluent Bit tail: the line under `log`.
        let event = read(r#"{"log":"27-Nov-2026 19:25:10.790 queries: info: client @0x7fa46de08098 127.0.0.10#55647 (api.telegram.org): query: api.telegram.org IN A +E(0)K (127.0.0.1)\n"}"#).expect("read");
        assert_eq!(event.get_str(t::OBJECT_QUERY), Some("api.telegram.org"));
    }

    #[test]
    fn unreadable_lines_stay_generic() {
        assert!(read(r#"{"message":"something no format knows"}"#).is_none());
        assert!(read(r#"{"appname":"unknownd","message":"hello"}"#).is_none());
        assert!(read(r#"{"other":"field"}"#).is_none());
    }
}
