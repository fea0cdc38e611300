//! The flat JSON form of an event: one object, taxonomy fields as top-level keys in name
//! order, the source's own fields under `raw`.

use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};
use serde_json::Value as Json;

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
        let mut fields: Vec<_> = self.fields().collect();
        fields.sort_unstable_by_key(|(f, _)| f.name());
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
}

#[cfg(test)]
mod tests {
    use crate::taxonomy::{SRC_PORT, TIME};
    use crate::{Event, Timestamp};

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
