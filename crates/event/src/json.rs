//! The flat JSON form of an event: one object, taxonomy fields as top-level keys in name
//! order, the source's own fields under `raw`.

use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};
use serde_json::Value as Json;
use sonic_rs::format::{CompactFormatter, Formatter};

use crate::event::Event;
use crate::time::format_time;
use crate::value::Value;

/// The key under which the source's own fields are written.
pub const RAW_KEY: &str = "raw";

/// Values serialize as their JSON form: times (RFC 3339 UTC, milliseconds) and
/// addresses as strings.
impl Serialize for Value {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Value::Str(s) => serializer.serialize_str(s),
            Value::Int(n) => serializer.serialize_i64(*n),
            Value::Bool(b) => serializer.serialize_bool(*b),
            Value::Ip(ip) => serializer.collect_str(ip),
            Value::Time(t) => serializer.serialize_str(&format_time(*t)),
            Value::List(items) => {
                let mut seq = serializer.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
        }
    }
}

/// An event serializes as its flat JSON object, written straight to the serializer
/// without building a tree.
impl Serialize for Event {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        debug_assert!(self.is_complete(), "an incomplete event is serialized");
        let mut fields: Vec<_> = self.fields().collect();
        fields.sort_unstable_by_key(|(f, _)| f.name_rank());
        let has_raw = self.raw_fields().next().is_some();
        let mut map = serializer.serialize_map(Some(fields.len() + usize::from(has_raw)))?;
        for (field, value) in fields {
            map.serialize_entry(field.name(), value)?;
        }
        if has_raw {
            map.serialize_entry(RAW_KEY, &RawFields(self))?;
        }
        map.end()
    }
}

/// The `raw` object of an event.
struct RawFields<'a>(&'a Event);

impl Serialize for RawFields<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.0.raw_fields())
    }
}

impl Value {
    /// The JSON form of the value: times and addresses as strings.
    pub fn to_json(&self) -> Json {
        serde_json::to_value(self).unwrap_or_default()
    }
}

impl Event {
    /// The flat JSON object of this event: taxonomy fields as top-level keys in name
    /// order, the source's own fields under `raw` in the order they were set.
    pub fn to_json(&self) -> Json {
        // Serializing into a `serde_json::Value` cannot fail: every key is a string.
        serde_json::to_value(self).unwrap_or_default()
    }

    /// Appends the event's JSON to `out`, byte for byte what `serde_json` writes for
    /// its `Serialize` form, faster: writing matched events is most of an offline
    /// hunt's output cost, and their strings (command lines, the record itself) are
    /// long and mostly free of characters to escape, which this skips eight bytes at
    /// a time where `serde_json` looks at every byte.
    pub fn write_json(&self, out: &mut Vec<u8>) {
        // An event whose mapping was deferred is written only once completed.
        debug_assert!(self.is_complete(), "an incomplete event is written");
        let mut fields: Vec<_> = self.fields().collect();
        fields.sort_unstable_by_key(|(f, _)| f.name_rank());
        out.push(b'{');
        let mut first = true;
        for (field, value) in fields {
            write_key(out, field.name(), &mut first);
            write_value(out, value);
        }
        if self.raw_fields().next().is_some() {
            write_key(out, RAW_KEY, &mut first);
            out.push(b'{');
            let mut first_raw = true;
            for (name, value) in self.raw_fields() {
                write_key(out, name, &mut first_raw);
                write_value(out, value);
            }
            out.push(b'}');
        }
        out.push(b'}');
    }
}

/// `,"key":` (no comma before the first key).
fn write_key(out: &mut Vec<u8>, key: &str, first: &mut bool) {
    if !std::mem::take(first) {
        out.push(b',');
    }
    write_str(out, key);
    out.push(b':');
}

fn write_value(out: &mut Vec<u8>, value: &Value) {
    match value {
        Value::Str(s) => write_str(out, s),
        Value::Int(n) => out.extend_from_slice(n.to_string().as_bytes()),
        Value::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Value::Ip(ip) => write_str(out, &ip.to_string()),
        Value::Time(t) => write_str(out, &format_time(*t)),
        Value::List(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_value(out, item);
            }
            out.push(b']');
        }
    }
}

/// A JSON string, escaped as `serde_json` escapes it: `\"`, `\\`, `\b`, `\f`,
/// `\n`, `\r`, `\t`, other control characters as `\u00xx`, everything else as is.
///
/// Written by `sonic-rs`, which tests 32 bytes at a time with vector instructions
/// for bytes to escape: Windows records escape often (every path separator, every
/// quote of an embedded record), and the eight-byte word tests this replaced cost
/// about ten instructions per byte of a Sysmon record's `body`.
fn write_str(out: &mut Vec<u8>, text: &str) {
    // Writing to a vector cannot fail.
    let _ = CompactFormatter.write_string_fast(out, text, true);
}

/// The high bit of each of the eight bytes of `word` (little-endian) that may be `"`,
/// `\\` or a control character: the classic has-zero-byte and has-less-than tests,
/// whose lowest flagged byte is always exact (a false flag only ever sits above a true
/// one), and which flag nothing when no byte needs escaping. These are the bytes that
/// end a plain run of a JSON string, which its readers look for.
pub fn escape_mask(word: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let zero_in = |v: u64| v.wrapping_sub(ONES) & !v & HIGH;
    let quote = zero_in(word ^ (ONES * u64::from(b'"')));
    let backslash = zero_in(word ^ (ONES * u64::from(b'\\')));
    let control = word.wrapping_sub(ONES * 0x20) & !word & HIGH;
    quote | backslash | control
}

#[cfg(test)]
mod tests {
    use crate::taxonomy::{SRC_PORT, TIME};
    use crate::{Event, Timestamp, Value};
    use proptest::prelude::*;

    /// `write_json` and `serde_json` agree on `event`.
    fn same_json(event: &Event) {
        let mut fast = Vec::new();
        event.write_json(&mut fast);
        let serde = serde_json::to_vec(event).expect("serializes");
        assert_eq!(
            String::from_utf8_lossy(&fast),
            String::from_utf8_lossy(&serde)
        );
    }

    #[test]
    fn the_fast_writer_writes_what_serde_json_writes() {
        let mut ev = Event::new();
        ev.set(
            TIME,
            "2017-12-21T10:53:01.382Z"
                .parse::<Timestamp>()
                .expect("valid"),
        );
        ev.set(SRC_PORT, 5355u16);
        ev.set(
            crate::taxonomy::SRC_IP,
            "fe80::1".parse::<std::net::IpAddr>().expect("ip"),
        );
        ev.set(
            crate::taxonomy::SUBJECT_PROCESS_CMDLINE,
            "\"C:\\Windows\\cmd.exe\" /c echo \u{1}\u{1f}\u{7f}\t\r\n\u{8}\u{c} é ✓ 😀",
        );
        ev.set_raw(
            "List",
            vec![Value::from("a\"b"), Value::Int(-2), Value::Bool(false)],
        );
        ev.set_raw("Nested \"key\"", Value::List(Vec::new()));
        same_json(&ev);
        same_json(&Event::new());
        let mut only_raw = Event::new();
        only_raw.set_raw("k", "v");
        same_json(&only_raw);
    }

    #[test]
    fn escapes_are_found_at_every_offset_of_a_word() {
        // Pairs of special bytes at every two offsets of two words, among plain,
        // high-bit and just-above-special bytes, which the word tests must not flag.
        for filler in ['a', '~', '\u{7f}', 'é', '!', '#', '[', ']', ' '] {
            for (first, second) in [('"', '\\'), ('\u{0}', '\u{1f}'), ('\n', '"'), ('\\', '\\')] {
                for i in 0..17 {
                    for j in i..17 {
                        let mut text: Vec<char> = vec![filler; 17];
                        text[i] = first;
                        text[j] = second;
                        let mut ev = Event::new();
                        ev.set_raw("a", text.iter().collect::<String>().as_str());
                        same_json(&ev);
                    }
                }
            }
        }
    }

    proptest! {
        #[test]
        fn any_text_is_escaped_as_serde_json_does(
            text in any::<String>(),
            ascii in "[ -~\\x00-\\x1f]{0,40}",
            long in "[a-z\"\\\\\\x00-\\x1f\\x7fé]{0,300}",
        ) {
            let mut ev = Event::new();
            ev.set_raw("a", text.as_str());
            ev.set_raw("long", long.as_str());
            ev.set_raw(ascii.as_str(), ascii.as_str());
            same_json(&ev);
        }
    }

    #[test]
    fn json_is_flat_with_raw_apart() {
        let mut ev = Event::new();
        let t: Timestamp = "2017-12-21T10:53:01.382Z".parse().expect("valid");
        ev.set(TIME, t);
        ev.set(SRC_PORT, 5355u16);
        ev.set_raw("EventID", "3");
        let json = ev.to_json().to_string();
        assert_eq!(
            json,
            r#"{"src.port":5355,"time":"2017-12-21T10:53:01.382Z","raw":{"EventID":"3"}}"#
        );
        assert_eq!(serde_json::to_string(&ev).ok(), Some(json));
    }

    #[test]
    fn every_kind_of_value_serializes() {
        use crate::Value;
        let mut ev = Event::new();
        ev.set(
            crate::taxonomy::SRC_IP,
            "10.0.0.1".parse::<std::net::IpAddr>().expect("ip"),
        );
        ev.set_raw(
            "List",
            vec![Value::from("a"), Value::Int(2), Value::Bool(true)],
        );
        assert_eq!(
            serde_json::to_string(&ev).ok().as_deref(),
            Some(r#"{"src.ip":"10.0.0.1","raw":{"List":["a",2,true]}}"#)
        );
        assert_eq!(
            serde_json::to_string(&Event::new()).ok().as_deref(),
            Some("{}")
        );
    }
}
