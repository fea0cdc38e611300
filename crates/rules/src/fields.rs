//! Field resolution: a Sigma field name becomes, once, when a rule is compiled, an
//! accessor into the event: a taxonomy field, or one of the source's own fields.
//! Per-logsource mapping files (`content/mappings/*.yml`) translate names that rules
//! use for a logsource into event fields.

use std::collections::HashMap;

use dozor_event::{Event, Field, Value, taxonomy};
use serde::Deserialize;

use crate::error::RuleError;
use crate::logsource::LogSource;

/// Where in an event a rule's field is read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Accessor {
    /// A taxonomy field.
    Taxonomy(Field),
    /// One of the source's own fields, by its original name.
    Raw(String),
}

impl Accessor {
    /// The accessor for an event field name: the taxonomy field of that name, or the raw field.
    pub(crate) fn for_event_field(name: &str) -> Self {
        match taxonomy::field(name) {
            Some(field) => Accessor::Taxonomy(field),
            None => Accessor::Raw(name.to_owned()),
        }
    }

    /// The taxonomy field read, if it is one.
    pub(crate) fn taxonomy(&self) -> Option<Field> {
        match self {
            Accessor::Taxonomy(field) => Some(*field),
            Accessor::Raw(_) => None,
        }
    }

    /// The value in `event`, if present.
    pub(crate) fn get<'e>(&self, event: &'e Event) -> Option<&'e Value> {
        match self {
            Accessor::Taxonomy(field) => event.get(*field),
            Accessor::Raw(name) => event.raw(name),
        }
    }

    /// The field's value, a raw field looked for first where `*hint` says it was in
    /// an earlier event (see [`Event::raw_hinted`]).
    pub(crate) fn get_hinted<'e>(&self, event: &'e Event, hint: &mut usize) -> Option<&'e Value> {
        match self {
            Accessor::Taxonomy(field) => event.get(*field),
            Accessor::Raw(name) => event.raw_hinted(name, hint),
        }
    }
}

/// One mapping file: for rules of a logsource, Sigma field name → event field name.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MappingFile {
    logsource: LogSource,
    fields: HashMap<String, String>,
}

/// All field mappings, in the order they were loaded; the first that covers a rule's
/// logsource and names the field wins.
#[derive(Debug, Default, Clone)]
pub(crate) struct FieldMappings {
    entries: Vec<(LogSource, HashMap<String, String>)>,
}

impl FieldMappings {
    /// Adds the mapping file `text` (YAML) named `file`.
    pub(crate) fn add(&mut self, file: &str, text: &str) -> Result<(), RuleError> {
        let mapping: MappingFile = yaml_serde::from_str(text).map_err(|e| RuleError::Content {
            file: file.to_owned(),
            reason: e.to_string(),
        })?;
        self.entries.push((mapping.logsource, mapping.fields));
        Ok(())
    }

    /// Resolves the Sigma field `name` of a rule for `logsource`.
    pub(crate) fn resolve(&self, logsource: &LogSource, name: &str) -> Accessor {
        for (scope, fields) in &self.entries {
            if let Some(target) = fields.get(name).filter(|_| scope.covers(logsource)) {
                return Accessor::for_event_field(target);
            }
        }
        Accessor::for_event_field(name)
    }
}
