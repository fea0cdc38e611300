//! The flat JSON form of an event: one object, taxonomy fields as top-level keys in name
//! order, the source's own fields under `raw`.

use serde_json::{Map, Value as Json};

use crate::event::Event;
use crate::time::format_time;
use crate::value::Value;

/// The key under which the source's own fields are written.
pub const RAW_KEY: &str = "raw";

impl Value {
    /// The JSON form of the value: times and addresses as strings.
    pub fn to_json(&self) -> Json {
        match self {
            Value::Str(s) => Json::String(s.to_string()),
            Value::Int(n) => Json::from(*n),
            Value::Bool(b) => Json::Bool(*b),
            Value::Ip(ip) => Json::String(ip.to_string()),
            Value::Time(t) => Json::String(format_time(*t)),
            Value::List(items) => Json::Array(items.iter().map(Value::to_json).collect()),
        }
    }
}

impl Event {
    /// The flat JSON object of this event.
    pub fn to_json(&self) -> Json {
        let mut fields: Vec<_> = self.fields().collect();
        fields.sort_unstable_by_key(|(f, _)| f.name());
        let mut map = Map::with_capacity(fields.len() + 1);
        for (field, value) in fields {
            map.insert(field.name().to_owned(), value.to_json());
        }
        let raw: Map<String, Json> = self
            .raw_fields()
            .map(|(name, value)| (name.to_owned(), value.to_json()))
            .collect();
        if !raw.is_empty() {
            map.insert(RAW_KEY.to_owned(), Json::Object(raw));
        }
        Json::Object(map)
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
    }
}
