//! JSON events: one per line (NDJSON), or whole documents (pretty-printed, several per
//! file, or a top-level array of events). Windows events in any of their JSON shapes
//! are normalized as Windows events; any other object passes through with its fields
//! flattened to dotted names under `raw`, and fields already named in the taxonomy
//! (a Dozor event read back) keep their meaning.

use std::io::{self, BufRead, Read};
use std::net::IpAddr;

use dozor_event::{Event, Kind, Value, taxonomy as t};
use serde_json::Value as Json;

use crate::flat_json::FlatObject;
use crate::format::{Format, ParseError, ReadContext, Reject, Sink};
use crate::lines::{read_lines, stamp};
use crate::windows::{
    flat_is_windows, normalize as normalize_windows, record_from_flat, record_from_json,
};

/// JSON events.
pub(crate) struct JsonEvents;

/// The largest document-mode input read (pretty-printed JSON cannot be cut into
/// records before it is parsed).
const MAX_DOCUMENT_BYTES: u64 = 1024 * 1024 * 1024;

impl Format for JsonEvents {
    fn name(&self) -> &'static str {
        "json"
    }

    fn description(&self) -> &'static str {
        "JSON events, one per line or as documents: Winlogbeat/Elastic Agent, NXLog/OTRF, Windows XML-as-JSON, Suricata EVE, Zeek, or any object"
    }

    fn detect(&self, head: &[u8]) -> u8 {
        let text = head.strip_prefix(b"\xef\xbb\xbf").unwrap_or(head);
        match text.iter().find(|b| !b.is_ascii_whitespace()) {
            Some(b'{') => 80,
            Some(b'[') => 60,
            _ => 0,
        }
    }

    fn read(
        &self,
        input: &mut dyn BufRead,
        ctx: &ReadContext,
        sink: &mut dyn Sink,
    ) -> io::Result<()> {
        if first_line_is_json(input)? {
            return self.read_json_lines(input, ctx, sink);
        }
        self.read_documents(input, ctx, sink)
    }

    /// NDJSON (the first line is a whole JSON value) is one event per line.
    fn splits_at_lines(&self, head: &[u8]) -> bool {
        let mut head = head;
        first_line_is_json(&mut head).unwrap_or(false)
    }

    fn read_part(&self, part: &[u8], ctx: &ReadContext, sink: &mut dyn Sink) -> io::Result<()> {
        let mut input = part;
        self.read_json_lines(&mut input, ctx, sink)
    }
}

impl JsonEvents {
    fn read_json_lines(
        &self,
        input: &mut dyn BufRead,
        ctx: &ReadContext,
        sink: &mut dyn Sink,
    ) -> io::Result<()> {
        read_lines(self.name(), input, ctx, sink, |line, event| {
            from_line(line, ctx, event)
        })
    }

    fn read_documents(
        &self,
        input: &mut dyn BufRead,
        ctx: &ReadContext,
        sink: &mut dyn Sink,
    ) -> io::Result<()> {
        let mut bytes = Vec::new();
        input.take(MAX_DOCUMENT_BYTES).read_to_end(&mut bytes)?;
        let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(&bytes);
        let mut number = 0u64;
        let mut stream = serde_json::Deserializer::from_slice(bytes).into_iter::<Json>();
        loop {
            let start = stream.byte_offset();
            match stream.next() {
                None => break,
                Some(Ok(Json::Array(items))) => {
                    for item in items {
                        number += 1;
                        self.document(&item, &item.to_string(), number, ctx, sink);
                    }
                }
                Some(Ok(value)) => {
                    number += 1;
                    let end = stream.byte_offset();
                    let body = String::from_utf8_lossy(&bytes[start..end]);
                    self.document(&value, body.trim(), number, ctx, sink);
                }
                Some(Err(e)) => {
                    number += 1;
                    let reason = format!("bad JSON document: {e}");
                    sink.reject(Reject::new(
                        self.name(),
                        ctx,
                        number,
                        reason,
                        &bytes[start..],
                    ));
                    break;
                }
            }
        }
        Ok(())
    }

    fn document(
        &self,
        value: &Json,
        body: &str,
        number: u64,
        ctx: &ReadContext,
        sink: &mut dyn Sink,
    ) {
        let mut event = Event::new();
        match from_json(value, ctx, &mut event) {
            Ok(()) => {
                stamp(&mut event, self.name(), body, ctx);
                sink.event(event);
            }
            Err(e) => sink.reject(Reject::new(self.name(), ctx, number, e.0, body.as_bytes())),
        }
    }
}

/// Whether the input's first non-blank line is a whole JSON value by itself.
fn first_line_is_json(input: &mut dyn BufRead) -> io::Result<bool> {
    let head = input.fill_buf()?;
    let line = head
        .split(|&b| b == b'\n')
        .find(|l| l.iter().any(|b| !b.is_ascii_whitespace()));
    Ok(line.is_some_and(|l| serde_json::from_slice::<serde::de::IgnoredAny>(l).is_ok()))
}

/// Fills `event` from one JSON line: flat objects (the common case) without building a
/// tree, anything else through [`from_json`].
fn from_line(line: &str, ctx: &ReadContext, event: &mut Event) -> Result<(), ParseError> {
    if let Some(flat) = FlatObject::parse(line) {
        if !flat_is_windows(&flat) {
            return from_object(&flat.into_map(), ctx, event);
        }
        if let Some(record) = record_from_flat(flat) {
            normalize_windows(record, event, ctx.defer_mapping);
            return Ok(());
        }
    }
    let value: Json =
        serde_json::from_str(line).map_err(|e| ParseError(format!("bad JSON: {e}")))?;
    from_json(&value, ctx, event)
}

/// Fills `event` from one JSON value.
fn from_json(value: &Json, ctx: &ReadContext, event: &mut Event) -> Result<(), ParseError> {
    let Json::Object(object) = value else {
        return Err("JSON value is not an object".into());
    };
    if let Some(record) = record_from_json(value) {
        normalize_windows(record, event, ctx.defer_mapping);
        return Ok(());
    }
    from_object(object, ctx, event)
}

/// Fills `event` from a JSON object that is not a Windows event: a Suricata EVE or Zeek
/// record, a shipper's envelope, or any object.
fn from_object(
    object: &serde_json::Map<String, Json>,
    ctx: &ReadContext,
    event: &mut Event,
) -> Result<(), ParseError> {
    if crate::suricata::is_eve(object) {
        return crate::suricata::normalize(object, event);
    }
    if let Some(record) = crate::zeek::record_from_json(object) {
        return crate::zeek::normalize(&record, event);
    }
    if crate::shipped::read_shipped(object, ctx, event) {
        return Ok(());
    }
    for (key, child) in object {
        match (key.as_str(), child) {
            // A Dozor event read back: its source fields keep their own names.
            (dozor_event::RAW_KEY, Json::Object(raw)) => {
                for (name, value) in raw {
                    if let Some(value) = to_value(value) {
                        event.set_raw(name.as_str(), value);
                    }
                }
            }
            _ => flatten(key, child, event),
        }
    }
    if event.time().is_none() {
        let time = ["@timestamp", "timestamp", "time", "EventTime"]
            .into_iter()
            .filter_map(|k| object.get(k)?.as_str())
            .find_map(crate::windows::parse_time);
        if let Some(time) = time {
            event.set(t::TIME, time);
        }
    }
    Ok(())
}

/// Flattens nested objects to dotted names; a name of the taxonomy with a value of
/// its kind becomes that taxonomy field, anything else a raw field.
fn flatten(name: &str, value: &Json, event: &mut Event) {
    if let Json::Object(object) = value {
        for (key, child) in object {
            flatten(&format!("{name}.{key}"), child, event);
        }
        return;
    }
    let Some(value) = to_value(value) else {
        return;
    };
    if let Some(field) = t::field(name)
        && let Some(typed) = as_kind(&value, field.spec().kind)
    {
        event.set(field, typed);
        return;
    }
    event.set_raw(name, value);
}

/// A JSON value as an event value: `None` for `null` and objects; arrays keep their
/// scalar members.
pub(crate) fn to_value(value: &Json) -> Option<Value> {
    Some(match value {
        Json::Null | Json::Object(_) => return None,
        Json::Bool(b) => Value::Bool(*b),
        Json::Number(n) => match n.as_i64() {
            Some(i) => Value::Int(i),
            None => Value::from(n.to_string()),
        },
        Json::String(s) => Value::from(s.as_str()),
        Json::Array(items) => Value::List(items.iter().filter_map(to_value).collect()),
    })
}

/// `value` converted to `kind`, if it can be.
fn as_kind(value: &Value, kind: Kind) -> Option<Value> {
    match (kind, value) {
        (Kind::Str, Value::Str(_)) | (Kind::Int, Value::Int(_)) | (Kind::Bool, Value::Bool(_)) => {
            Some(value.clone())
        }
        (Kind::List, Value::List(_)) => Some(value.clone()),
        (Kind::Ip, Value::Str(s)) => s.parse::<IpAddr>().ok().map(Value::Ip),
        (Kind::Time, Value::Str(s)) => crate::windows::parse_time(s).map(Value::Time),
        (Kind::Int, Value::Str(s)) => s.parse().ok().map(Value::Int),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(json: &str) -> Event {
        let value: Json = serde_json::from_str(json).expect("valid JSON");
        let mut event = Event::new();
        let ctx = ReadContext {
            source: "test".into(),
            received: dozor_event::Timestamp::UNIX_EPOCH,
            max_record: 1 << 20,
            defer_mapping: false,
        };
        from_json(&value, &ctx, &mut event).expect("an object");
        event
    }

    #[test]
    fn other_objects_pass_through_flattened() {
        let ev = event(
            r#"{"@timestamp": "2024-05-01T10:00:00.5Z", "host": {"name": "web1"}, "tags": ["a", 1], "n": 3, "nil": null}"#,
        );
        assert_eq!(
            ev.time().map(|t| t.to_string()).as_deref(),
            Some("2024-05-01T10:00:00.5Z")
        );
        assert_eq!(ev.raw("host.name"), Some(&Value::from("web1")));
        assert_eq!(
            ev.raw("tags"),
            Some(&Value::List(vec![Value::from("a"), Value::Int(1)]))
        );
        assert_eq!(ev.raw("n"), Some(&Value::Int(3)));
        assert_eq!(ev.raw("nil"), None);
    }

    #[test]
    fn a_dozor_event_reads_back() {
        let ev = event(
            r#"{"src.ip": "10.0.0.1", "src.port": 53, "time": "2017-12-21T10:53:01.382Z", "raw": {"Image": "x.exe"}}"#,
        );
        assert_eq!(
            ev.get(t::SRC_IP),
            Some(&Value::Ip("10.0.0.1".parse().expect("ip")))
        );
        assert_eq!(ev.get(t::SRC_PORT), Some(&Value::Int(53)));
        assert!(ev.time().is_some());
        assert_eq!(ev.raw("Image"), Some(&Value::from("x.exe")));
        assert!(ev.check_kinds().is_ok());
    }

    #[test]
    fn a_field_of_the_wrong_kind_stays_raw() {
        let ev = event(r#"{"src.ip": "not an address"}"#);
        assert_eq!(ev.get(t::SRC_IP), None);
        assert_eq!(ev.raw("src.ip"), Some(&Value::from("not an address")));
    }
}
