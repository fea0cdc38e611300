//! Alerts: what a rule's match produces.

use dozor_event::{Event, Timestamp, format_time};
use serde_json::{Value as Json, json};

use crate::rule::RuleMeta;

/// The rule an alert comes from, as alerts and incidents show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleRef {
    /// Rule id.
    pub id: String,
    /// Title.
    pub title: String,
    /// Level name.
    pub level: String,
    /// Tags as written.
    pub tags: Vec<String>,
    /// ATT&CK technique ids.
    pub techniques: Vec<String>,
    /// The reference product's rule it mirrors.
    pub reference_rule: Option<String>,
}

impl RuleRef {
    pub(crate) fn of(meta: &RuleMeta) -> Self {
        Self {
            id: meta.id.clone(),
            title: meta.title.clone(),
            level: meta.level.as_str().to_owned(),
            tags: meta.tags.clone(),
            techniques: meta.techniques.clone(),
            reference_rule: meta.reference_rule.clone(),
        }
    }
}

/// A rule's match: the rule, when, the correlation group, and every event behind it.
#[derive(Debug, Clone)]
pub struct Alert {
    /// The rule.
    pub rule: RuleRef,
    /// The time of the last event that made it fire.
    pub time: Option<Timestamp>,
    /// For correlations: the group-by fields and their values.
    pub group: Vec<(String, String)>,
    /// The events that made it fire, in time order.
    pub events: Vec<Event>,
}

impl Alert {
    /// The JSON form: `{"rule": {...}, "time", "group", "events": [...]}`.
    pub fn to_json(&self) -> Json {
        let group: serde_json::Map<String, Json> = self
            .group
            .iter()
            .map(|(k, v)| (k.clone(), Json::String(v.clone())))
            .collect();
        json!({
            "rule": {
                "id": self.rule.id,
                "title": self.rule.title,
                "level": self.rule.level,
                "tags": self.rule.tags,
                "techniques": self.rule.techniques,
                "reference_rule": self.rule.reference_rule,
            },
            "time": self.time.map(format_time),
            "group": if group.is_empty() { Json::Null } else { Json::Object(group) },
            "events": self.events.iter().map(Event::to_json).collect::<Vec<_>>(),
        })
    }
}
