//! Logsources: which product, service and categories an event comes from, derived
//! from its fields by a data file (`content/logsources.yml`), and which events a rule's
//! logsource selects.

use dozor_event::{Event, Field, Value};
use serde::Deserialize;

use crate::error::RuleError;
use crate::fields::Accessor;

/// A Sigma logsource: product, service and category, lowercase; `None` is unspecified.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Deserialize)]
pub struct LogSource {
    /// The product (`windows`, `linux`, `bind`, `teamcity`, ...).
    #[serde(default)]
    pub product: Option<String>,
    /// The service (`sysmon`, `security`, `queries`, ...).
    #[serde(default)]
    pub service: Option<String>,
    /// The category (`process_creation`, `dns_query`, `dns`, ...).
    #[serde(default)]
    pub category: Option<String>,
}

impl LogSource {
    /// A logsource from optional parts, lowercased.
    pub fn new(product: Option<&str>, service: Option<&str>, category: Option<&str>) -> Self {
        let lower = |s: Option<&str>| s.map(str::to_ascii_lowercase);
        Self {
            product: lower(product),
            service: lower(service),
            category: lower(category),
        }
    }

    /// Whether every part this logsource specifies is the same in `other`.
    pub fn covers(&self, other: &LogSource) -> bool {
        let part = |mine: &Option<String>, theirs: &Option<String>| match mine {
            None => true,
            Some(m) => theirs.as_deref() == Some(m.as_str()),
        };
        part(&self.product, &other.product)
            && part(&self.service, &other.service)
            && part(&self.category, &other.category)
    }

    /// Whether an event of `event`'s logsource is for a rule of this logsource: every
    /// part this one specifies is the event's, its category one of the event's.
    pub fn selects(&self, event: &EventLogSource) -> bool {
        let part = |mine: &Option<String>, theirs: &Option<String>| match mine {
            None => true,
            Some(m) => theirs.as_deref() == Some(m.as_str()),
        };
        part(&self.product, &event.product)
            && part(&self.service, &event.service)
            && self
                .category
                .as_ref()
                .is_none_or(|c| event.categories.contains(c))
    }
}

/// An event's logsource: one product and service, and every category it belongs to
/// (a Sysmon EventID 13 is both `registry_set` and `registry_event`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventLogSource {
    /// The product.
    pub product: Option<String>,
    /// The service.
    pub service: Option<String>,
    /// The categories.
    pub categories: Vec<String>,
}

impl EventLogSource {
    /// Takes `other`'s product and service where still unset, and adds its category.
    fn fill_from(&mut self, other: &LogSource) {
        if self.product.is_none() {
            self.product.clone_from(&other.product);
        }
        if self.service.is_none() {
            self.service.clone_from(&other.service);
        }
        if let Some(category) = &other.category
            && !self.categories.contains(category)
        {
            self.categories.push(category.clone());
        }
    }
}

/// One derivation: when every `when` field of an event has one of the given values
/// (case-insensitive), the event gets `logsource`'s product and service if it has none
/// yet, and its category besides those it has.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DerivationYaml {
    when: std::collections::BTreeMap<String, OneOrMany>,
    logsource: LogSource,
}

/// A value or a list of values. `Many` comes first: an untagged `One` would also take
/// a list.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    Many(Vec<yaml_serde::Value>),
    One(yaml_serde::Value),
}

fn scalar_text(value: &yaml_serde::Value) -> String {
    match value {
        yaml_serde::Value::String(s) => s.clone(),
        yaml_serde::Value::Number(n) => n.to_string(),
        yaml_serde::Value::Bool(b) => b.to_string(),
        other => format!("{other:?}"),
    }
}

/// The conditions of one derivation: each field (its index in
/// [`LogSourceTable`]'s `fields`) and the values it may have.
type When = Vec<(usize, Vec<Wanted>)>;

/// One value a derivation's field may have: lowercase text, and its number when it is
/// one (a number parsed at load rather than for every event).
#[derive(Debug)]
struct Wanted {
    text: String,
    int: Option<i64>,
}

impl Wanted {
    fn new(text: &str) -> Self {
        let text = text.to_lowercase();
        let int = text.parse().ok();
        Self { text, int }
    }
}

/// Derives events' logsources.
#[derive(Debug, Default)]
pub(crate) struct LogSourceTable {
    /// The distinct fields the derivations test: each is looked up once per event
    /// however many derivations test it (they are dozens, on three or four fields),
    /// into the event's key.
    fields: Vec<Accessor>,
    derivations: Vec<(When, LogSource)>,
}

impl LogSourceTable {
    /// Adds the taxonomy fields the derivations test to `read`.
    pub(crate) fn taxonomy_read(&self, read: &mut Vec<Field>) {
        read.extend(self.fields.iter().filter_map(Accessor::taxonomy));
    }

    /// Loads the derivations of `text` (YAML) named `file`.
    pub(crate) fn add(&mut self, file: &str, text: &str) -> Result<(), RuleError> {
        let parsed: Vec<DerivationYaml> =
            yaml_serde::from_str(text).map_err(|e| RuleError::Content {
                file: file.to_owned(),
                reason: e.to_string(),
            })?;
        for entry in parsed {
            let when = entry
                .when
                .into_iter()
                .map(|(field, values)| {
                    let values = match values {
                        OneOrMany::One(v) => vec![scalar_text(&v)],
                        OneOrMany::Many(vs) => vs.iter().map(scalar_text).collect(),
                    };
                    let values = values.iter().map(|v| Wanted::new(v)).collect();
                    (self.field_index(Accessor::for_event_field(&field)), values)
                })
                .collect();
            self.derivations.push((when, entry.logsource));
        }
        Ok(())
    }

    /// The index of `field` in `fields`, adding it if new.
    fn field_index(&mut self, field: Accessor) -> usize {
        match self.fields.iter().position(|f| *f == field) {
            Some(i) => i,
            None => {
                self.fields.push(field);
                self.fields.len() - 1
            }
        }
    }

    /// The values in `event` of the fields the derivations test, which alone decide
    /// its logsource (see [`LogSourceTable::of_key`]).
    pub(crate) fn key(&self, event: &Event) -> Vec<Option<Value>> {
        self.fields.iter().map(|f| f.get(event).cloned()).collect()
    }

    /// Whether `event`'s [`LogSourceTable::key`] is `key`.
    pub(crate) fn same_key(&self, event: &Event, key: &[Option<Value>]) -> bool {
        self.fields.len() == key.len()
            && self
                .fields
                .iter()
                .zip(key)
                .all(|(f, known)| f.get(event) == known.as_ref())
    }

    /// The logsource of `event`.
    pub(crate) fn of(&self, event: &Event) -> EventLogSource {
        self.of_key(&self.key(event))
    }

    /// The logsource of an event whose [`LogSourceTable::key`] is `key`.
    pub(crate) fn of_key(&self, key: &[Option<Value>]) -> EventLogSource {
        let mut logsource = EventLogSource::default();
        for (when, set) in &self.derivations {
            let all = when.iter().all(|(field, values)| {
                key.get(*field)
                    .and_then(Option::as_ref)
                    .is_some_and(|v| values.iter().any(|want| value_is(v, want)))
            });
            if all {
                logsource.fill_from(set);
            }
        }
        logsource
    }
}

fn value_is(value: &Value, want: &Wanted) -> bool {
    match value {
        Value::Str(s) => s.eq_ignore_ascii_case(&want.text),
        Value::Int(n) => want.int == Some(*n),
        Value::Bool(b) => want.text == if *b { "true" } else { "false" },
        _ => value.to_string().eq_ignore_ascii_case(&want.text),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derivations_take_one_value_or_a_list() -> Result<(), RuleError> {
        let mut table = LogSourceTable::default();
        table.add(
            "test",
            "- when: {event_src.title: sysmon, msgid: [\"17\", \"18\"]}\n  logsource: {category: pipe_created}\n- when: {event_src.title: sysmon}\n  logsource: {product: windows}\n",
        )?;
        let mut event = Event::new();
        event.set(dozor_event::taxonomy::EVENT_SRC_TITLE, "sysmon");
        event.set(dozor_event::taxonomy::MSGID, "18");
        let ls = table.of(&event);
        assert_eq!(ls.categories, ["pipe_created"]);
        assert_eq!(ls.product.as_deref(), Some("windows"));
        Ok(())
    }

    #[test]
    fn covers_compares_only_specified_parts() {
        let rule = LogSource::new(Some("windows"), None, Some("dns_query"));
        let event = LogSource::new(Some("windows"), Some("sysmon"), Some("dns_query"));
        assert!(rule.covers(&event));
        assert!(!event.covers(&rule));
        assert!(LogSource::default().covers(&event));
    }
}
