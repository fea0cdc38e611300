//! The event: taxonomy fields plus the source's own fields.

use compact_str::CompactString;
use jiff::Timestamp;

use crate::name_filter::NameFilter;
use crate::taxonomy::{self, Field};
use crate::value::Value;

/// Words of [`Event`]'s taxonomy-field bit set.
const PRESENT_WORDS: usize = taxonomy::FIELD_COUNT.div_ceil(64);

/// One normalized record.
///
/// Fields are kept in small vectors rather than maps: an event has a few dozen fields
/// at most, and a linear scan over them is faster than hashing, with one allocation
/// per vector instead of one per node.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Event {
    fields: Vec<(Field, Value)>,
    /// One bit per taxonomy field, set when `fields` holds it: setting a new field
    /// skips the scan for an earlier value, and looking up an absent one is free.
    present: [u64; PRESENT_WORDS],
    raw: Vec<(CompactString, Value)>,
    /// The [`name_tag`] of each raw field's name, in `raw`'s order: a lookup compares
    /// names only where the tags agree.
    raw_tags: Vec<u32>,
    /// The raw fields' names: a name it does not hold is not there, so setting a new
    /// field skips the scan for an earlier value.
    raw_names: NameFilter,
    /// Taxonomy fields the source left to be derived from the raw fields later, by
    /// [`Event::complete`]: work that only events someone reads need.
    deferred: Option<Deferred>,
}

/// A mapping a source deferred: it sets taxonomy fields from the event's raw fields.
#[derive(Debug, Clone, Copy)]
pub struct Deferred(pub fn(&mut Event));

/// Deferred mappings compare equal: events differ by their fields, not by the work
/// left to do on them.
impl PartialEq for Deferred {
    fn eq(&self, _other: &Self) -> bool {
        true
    }
}

impl Event {
    /// An empty event.
    pub fn new() -> Self {
        Self {
            fields: Vec::with_capacity(24),
            present: [0; PRESENT_WORDS],
            raw: Vec::new(),
            raw_tags: Vec::new(),
            raw_names: NameFilter::default(),
            deferred: None,
        }
    }

    /// Leaves `mapping` to be run by [`Event::complete`].
    pub fn defer(&mut self, mapping: Deferred) {
        self.deferred = Some(mapping);
    }

    /// Runs the mapping the source deferred, if any: afterwards the event holds all
    /// its taxonomy fields.
    pub fn complete(&mut self) {
        if let Some(Deferred(mapping)) = self.deferred.take() {
            mapping(self);
        }
    }

    /// Calls `map` with the event and, apart from it, its raw fields (name, value):
    /// for a mapping that reads them while it sets taxonomy fields. `map` must not
    /// set raw fields; the event holds none while it runs.
    pub fn with_raw_apart<R>(
        &mut self,
        map: impl FnOnce(&mut Event, &mut dyn Iterator<Item = (&str, &Value)>) -> R,
    ) -> R {
        let raw = std::mem::take(&mut self.raw);
        let result = map(self, &mut raw.iter().map(|(n, v)| (n.as_str(), v)));
        debug_assert!(self.raw.is_empty(), "a raw field was set while lent out");
        self.raw = raw;
        result
    }

    /// Whether the source deferred a mapping that [`Event::complete`] has not run.
    pub fn is_complete(&self) -> bool {
        self.deferred.is_none()
    }

    /// Sets a taxonomy field, replacing an earlier value.
    pub fn set(&mut self, field: Field, value: impl Into<Value>) {
        let value = value.into();
        if self.has(field)
            && let Some(slot) = self.fields.iter_mut().find(|(f, _)| *f == field)
        {
            slot.1 = value;
            return;
        }
        let (word, mask) = field_bit(field);
        self.present[word] |= mask;
        self.fields.push((field, value));
    }

    /// Whether the taxonomy field `field` is set.
    fn has(&self, field: Field) -> bool {
        let (word, mask) = field_bit(field);
        self.present[word] & mask != 0
    }

    /// Sets a taxonomy field to a string unless `text` is empty.
    pub fn set_nonempty(&mut self, field: Field, text: &str) {
        if !text.is_empty() {
            self.set(field, text);
        }
    }

    /// Removes a taxonomy field, returning its value.
    pub fn remove(&mut self, field: Field) -> Option<Value> {
        if !self.has(field) {
            return None;
        }
        let at = self.fields.iter().position(|(f, _)| *f == field)?;
        let (word, mask) = field_bit(field);
        self.present[word] &= !mask;
        Some(self.fields.remove(at).1)
    }

    /// The value of a taxonomy field.
    pub fn get(&self, field: Field) -> Option<&Value> {
        if !self.has(field) {
            return None;
        }
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
        let tag = name_tag(&name);
        if self.raw_names.insert(&name)
            && let Some(at) = self.raw_position(tag, &name)
        {
            self.raw[at].1 = value;
            return;
        }
        self.raw.push((name, value));
        self.raw_tags.push(tag);
    }

    /// Makes room for `additional` more raw fields (a source that knows how many it
    /// sets saves the vectors' regrowth).
    pub fn reserve_raw(&mut self, additional: usize) {
        self.raw.reserve(additional);
        self.raw_tags.reserve(additional);
    }

    /// One of the source's own fields.
    pub fn raw(&self, name: &str) -> Option<&Value> {
        if !self.raw_names.may_contain(name) {
            return None;
        }
        self.raw_position(name_tag(name), name)
            .map(|at| &self.raw[at].1)
    }

    /// One of the source's own fields, looked for first at `*hint`, the place it held
    /// in an earlier event, which `*hint` is set to where it is found: events from one
    /// source mostly hold their fields in the same order, and a reader that asks for
    /// the same names event after event finds most at once.
    pub fn raw_hinted(&self, name: &str, hint: &mut usize) -> Option<&Value> {
        if let (Some((held, value)), Some(&tag)) = (self.raw.get(*hint), self.raw_tags.get(*hint))
            && tag == name_tag(name)
            && held == name
        {
            return Some(value);
        }
        if !self.raw_names.may_contain(name) {
            return None;
        }
        let at = self.raw_position(name_tag(name), name)?;
        *hint = at;
        Some(&self.raw[at].1)
    }

    /// Where the raw field `name`, whose tag is `tag`, sits in `raw`.
    fn raw_position(&self, tag: u32, name: &str) -> Option<usize> {
        self.raw_tags
            .iter()
            .zip(&self.raw)
            .position(|(t, (n, _))| *t == tag && n == name)
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

/// The word and mask of `field`'s bit in [`Event`]'s set of taxonomy fields.
fn field_bit(field: Field) -> (usize, u64) {
    (field.index() / 64, 1 << (field.index() % 64))
}

/// A raw-field name's tag: its length and its first and last bytes, which tell most
/// field names apart. Equal names have equal tags.
fn name_tag(name: &str) -> u32 {
    let bytes = name.as_bytes();
    let first = bytes.first().copied().unwrap_or(0) as u32;
    let last = bytes.last().copied().unwrap_or(0) as u32;
    ((bytes.len() as u32) << 16) ^ (first << 8) ^ last
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::taxonomy::{OBJECT_QUERY, SRC_IP, SRC_PORT};
    use std::net::{IpAddr, Ipv4Addr};

    #[test]
    fn a_hinted_raw_lookup_finds_what_a_plain_one_finds() {
        let mut ev = Event::new();
        ev.set_raw("Image", "a.exe");
        ev.set_raw("CommandLine", "a.exe /c");
        ev.set_raw("User", "x");
        let mut hint = 0;
        for (name, place) in [
            ("CommandLine", 1),
            ("CommandLine", 1),
            ("User", 2),
            ("Image", 0),
        ] {
            assert_eq!(ev.raw_hinted(name, &mut hint), ev.raw(name));
            assert_eq!(hint, place);
        }
        assert_eq!(ev.raw_hinted("Missing", &mut hint), None);
        assert_eq!(hint, 0);
        let mut far = 99;
        assert_eq!(ev.raw_hinted("User", &mut far), ev.raw("User"));
        assert_eq!(far, 2);
    }

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
    fn every_field_can_be_set_removed_and_set_again() {
        let mut ev = Event::new();
        let all: Vec<Field> = taxonomy::FIELDS
            .iter()
            .filter_map(|spec| taxonomy::field(spec.name))
            .collect();
        assert_eq!(all.len(), taxonomy::FIELD_COUNT);
        for (i, &field) in all.iter().enumerate() {
            assert_eq!(ev.get(field), None);
            ev.set(field, i as i64);
        }
        for (i, &field) in all.iter().enumerate() {
            assert_eq!(ev.get(field), Some(&Value::Int(i as i64)));
        }
        let removed = all[all.len() / 2];
        assert!(ev.remove(removed).is_some());
        assert_eq!(ev.get(removed), None);
        assert_eq!(ev.remove(removed), None);
        let mut same = ev.clone();
        same.set(removed, 7i64);
        same.remove(removed);
        assert_eq!(same, ev);
        ev.set(removed, 7i64);
        assert_eq!(ev.get(removed), Some(&Value::Int(7)));
        assert_eq!(ev.fields().count(), all.len());
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
    fn raw_fields_lent_apart_are_read_while_taxonomy_fields_are_set() {
        let mut ev = Event::new();
        ev.set_raw("QueryName", "api.telegram.org");
        ev.set_raw("EventID", "22");
        let names = ev.with_raw_apart(|ev, raw| {
            let mut names = Vec::new();
            for (name, value) in raw {
                if name == "QueryName" {
                    ev.set(OBJECT_QUERY, value.clone());
                }
                names.push(name.to_owned());
            }
            names
        });
        assert_eq!(names, ["QueryName", "EventID"]);
        assert_eq!(ev.get_str(OBJECT_QUERY), Some("api.telegram.org"));
        assert_eq!(ev.raw("EventID"), Some(&Value::from("22")));
        assert_eq!(ev.raw_fields().count(), 2);
    }

    #[test]
    fn a_deferred_mapping_runs_once_on_complete() {
        let mut ev = Event::new();
        ev.set_raw("QueryName", "api.telegram.org");
        assert!(ev.is_complete());
        ev.defer(Deferred(|ev| {
            let query = ev.raw("QueryName").cloned();
            if let Some(query) = query {
                ev.set(OBJECT_QUERY, query);
            }
        }));
        assert!(!ev.is_complete());
        assert_eq!(ev.get(OBJECT_QUERY), None);
        ev.complete();
        assert!(ev.is_complete());
        assert_eq!(ev.get_str(OBJECT_QUERY), Some("api.telegram.org"));
        ev.remove(OBJECT_QUERY);
        ev.complete();
        assert_eq!(ev.get(OBJECT_QUERY), None);
    }

    #[test]
    fn raw_fields_keep_their_names() {
        let mut ev = Event::new();
        ev.set_raw("Image", r"C:\x.exe");
        assert_eq!(ev.raw("Image"), Some(&Value::from(r"C:\x.exe")));
        assert_eq!(ev.raw("image"), None);
    }

    #[test]
    fn raw_fields_are_replaced_and_found_among_many() {
        let mut ev = Event::new();
        let names: Vec<String> = (0..300).map(|i| format!("F{i}")).collect();
        for (i, name) in names.iter().enumerate() {
            ev.set_raw(name.as_str(), i as i64);
        }
        ev.set_raw("F7", "seven");
        assert_eq!(ev.raw_fields().count(), 300);
        assert_eq!(ev.raw("F7"), Some(&Value::from("seven")));
        for (i, name) in names.iter().enumerate().filter(|(i, _)| *i != 7) {
            assert_eq!(ev.raw(name), Some(&Value::Int(i as i64)));
        }
        assert_eq!(ev.raw("F300"), None);
        assert_eq!(ev.raw(""), None);
    }
}
