//! The event: taxonomy fields plus the source's own fields.

use compact_str::CompactString;
use jiff::Timestamp;

use crate::taxonomy::{self, Field};
use crate::value::Value;

/// One normalized record.
///
/// Fields are kept in small vectors rather than maps: an event has a few dozen fields
/// at most, and a linear scan over them is faster than hashing, with one allocation
/// per vector instead of one per node.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Event {
    fields: Vec<(Field, Value)>,
    raw: Vec<(CompactString, Value)>,
}

impl Event {
    /// An empty event.
    pub fn new() -> Self {
        Self {
            fields: Vec::with_capacity(24),
            raw: Vec::new(),
        }
    }

    /// Sets a taxonomy field, replacing an earlier value.
    pub fn set(&mut self, field: Field, value: impl Into<Value>) {
        let value = value.into();
        match self.fields.iter_mut().find(|(f, _)| *f == field) {
            Some(slot) => slot.1 = value,
            None => self.fields.push((field, value)),
        }
    }

    /// Sets a taxonomy field to a string unless `text` is empty.
    pub fn set_nonempty(&mut self, field: Field, text: &str) {
        if !text.is_empty() {
            self.set(field, text);
        }
    }

    /// Removes a taxonomy field, returning its value.
    pub fn remove(&mut self, field: Field) -> Option<Value> {
        let at = self.fields.iter().position(|(f, _)| *f == field)?;
        Some(self.fields.remove(at).1)
    }

    /// The value of a taxonomy field.
    pub fn get(&self, field: Field) -> Option<&Value> {
        self.fields
            .iter()
            .find(|(f, _)| *f == field)
            .map(|(_, v)| v)
    }

    /// The value of a taxonomy field found by its dotted name.
    pub fn get_by_name(&self, name: &str) -> Option<&Value> {
        self.fields
            .iter()
            .find(|(f, _)| f.name() == name)
            .map(|(_, v)| v)
    }

    /// The text of a string field.
    pub fn get_str(&self, field: Field) -> Option<&str> {
        self.get(field).and_then(Value::as_str)
    }

    /// The event time (`time`), if the source gave one.
    pub fn time(&self) -> Option<Timestamp> {
        self.get(taxonomy::TIME).and_then(Value::as_time)
    }

    /// Sets one of the source's own fields under its original name, replacing an earlier value.
    pub fn set_raw(&mut self, name: impl Into<CompactString>, value: impl Into<Value>) {
        let name = name.into();
        let value = value.into();
        match self.raw.iter_mut().find(|(n, _)| *n == name) {
            Some(slot) => slot.1 = value,
            None => self.raw.push((name, value)),
        }
    }

    /// One of the source's own fields.
    pub fn raw(&self, name: &str) -> Option<&Value> {
        self.raw.iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }

    /// The taxonomy fields, in the order they were set.
    pub fn fields(&self) -> impl Iterator<Item = (Field, &Value)> {
        self.fields.iter().map(|(f, v)| (*f, v))
    }

    /// The source's own fields, in the order they were set.
    pub fn raw_fields(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.raw.iter().map(|(n, v)| (n.as_str(), v))
    }

    /// Checks that every taxonomy field holds a value of its declared kind.
    pub fn check_kinds(&self) -> Result<(), String> {
        for (field, value) in &self.fields {
            let want = field.spec().kind;
            if value.kind() != want {
                return Err(format!(
                    "field {field} holds a {} but is declared {}",
                    value.kind().name(),
                    want.name()
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::taxonomy::{OBJECT_QUERY, SRC_IP, SRC_PORT};
    use std::net::{IpAddr, Ipv4Addr};

    #[test]
    fn set_replaces_and_get_finds() {
        let mut ev = Event::new();
        ev.set(OBJECT_QUERY, "a.example");
        ev.set(OBJECT_QUERY, "b.example");
        assert_eq!(ev.get_str(OBJECT_QUERY), Some("b.example"));
        assert_eq!(ev.fields().count(), 1);
        assert_eq!(ev.get_by_name("object.query"), ev.get(OBJECT_QUERY));
    }

    #[test]
    fn kinds_are_checked() {
        let mut ev = Event::new();
        ev.set(SRC_IP, IpAddr::V4(Ipv4Addr::LOCALHOST));
        ev.set(SRC_PORT, 53u16);
        assert!(ev.check_kinds().is_ok());
        ev.set(SRC_PORT, "53");
        assert!(ev.check_kinds().is_err());
    }

    #[test]
    fn raw_fields_keep_their_names() {
        let mut ev = Event::new();
        ev.set_raw("Image", r"C:\x.exe");
        assert_eq!(ev.raw("Image"), Some(&Value::from(r"C:\x.exe")));
        assert_eq!(ev.raw("image"), None);
    }
}
