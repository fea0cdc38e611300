//! Alerts: what a rule's match produces.

use dozor_event::{Event, Timestamp, format_time};
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};
use serde_json::Value as Json;
#[cfg(test)]
use serde_json::json;
use serde_json::value::RawValue;

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

/// A rule's match (or an analytic's finding): the rule, when, the correlation group,
/// every event behind it, and an analytic's explanation.
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
    /// For analytics: their explanation, as ordered name/value pairs (what was new,
    /// the interval statistics); empty for rules.
    pub details: Vec<(String, String)>,
}

impl Alert {
    /// The JSON form: `{"rule": {...}, "time", "group", "events": [...]}`.
    pub fn to_json(&self) -> Json {
        // Serializing into a `serde_json::Value` cannot fail: every key is a string.
        serde_json::to_value(self).unwrap_or_default()
    }
}

/// An alert to serialize, with one event's JSON already rendered (for instance on
/// another thread): an event of the alert equal to `event` is written as `json`.
pub struct AlertWithRendered<'a> {
    /// The alert.
    pub alert: &'a Alert,
    /// The event whose JSON is rendered.
    pub event: &'a Event,
    /// Its JSON, as [`Event`]'s `Serialize` writes it.
    pub json: &'a RawValue,
}

impl Serialize for AlertWithRendered<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.alert
            .serialize_with(serializer, Some((self.event, self.json)))
    }
}

/// The `events` array, with a rendered event where one is given.
struct EventsJson<'a> {
    events: &'a [Event],
    rendered: Option<(&'a Event, &'a RawValue)>,
}

impl Serialize for EventsJson<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.events.len()))?;
        for event in self.events {
            match self.rendered {
                Some((known, json)) if known == event => seq.serialize_element(json)?,
                _ => seq.serialize_element(event)?,
            }
        }
        seq.end()
    }
}

/// An alert serializes as its JSON form, written straight to the serializer.
impl Serialize for Alert {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.serialize_with(serializer, None)
    }
}

impl Alert {
    fn serialize_with<S: Serializer>(
        &self,
        serializer: S,
        rendered: Option<(&Event, &RawValue)>,
    ) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(4))?;
        map.serialize_entry("rule", &RuleJson(&self.rule))?;
        map.serialize_entry("time", &self.time.map(format_time))?;
        if self.group.is_empty() {
            map.serialize_entry("group", &None::<()>)?;
        } else {
            let group = self.group.iter().map(|(k, v)| (k, v));
            map.serialize_entry("group", &GroupJson(group))?;
        }
        let events = EventsJson {
            events: &self.events,
            rendered,
        };
        map.serialize_entry("events", &events)?;
        if !self.details.is_empty() {
            let details = self.details.iter().map(|(k, v)| (k, v));
            map.serialize_entry("details", &GroupJson(details))?;
        }
        map.end()
    }
}

/// The `rule` object of an alert.
struct RuleJson<'a>(&'a RuleRef);

impl Serialize for RuleJson<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let rule = self.0;
        let mut map = serializer.serialize_map(Some(6))?;
        map.serialize_entry("id", &rule.id)?;
        map.serialize_entry("title", &rule.title)?;
        map.serialize_entry("level", &rule.level)?;
        map.serialize_entry("tags", &rule.tags)?;
        map.serialize_entry("techniques", &rule.techniques)?;
        map.serialize_entry("reference_rule", &rule.reference_rule)?;
        map.end()
    }
}

/// The `group` object of a correlation's alert.
struct GroupJson<I>(I);

impl<'a, I> Serialize for GroupJson<I>
where
    I: Iterator<Item = (&'a String, &'a String)> + Clone,
{
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.0.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dozor_event::taxonomy;

    #[test]
    fn serializes_as_the_documented_shape() {
        let mut event = Event::new();
        event.set(taxonomy::OBJECT_QUERY, "api.telegram.org");
        let alert = Alert {
            rule: RuleRef {
                id: "r1".into(),
                title: "T".into(),
                level: "high".into(),
                tags: vec!["attack.t1102.002".into()],
                techniques: vec!["T1102.002".into()],
                reference_rule: Some("PT-CR-2186".into()),
            },
            time: None,
            group: vec![("src.ip".into(), "10.0.0.5".into())],
            events: vec![event],
            details: Vec::new(),
        };
        let expected = json!({
            "rule": {"id": "r1", "title": "T", "level": "high", "tags": ["attack.t1102.002"],
                     "techniques": ["T1102.002"], "reference_rule": "PT-CR-2186"},
            "time": null,
            "group": {"src.ip": "10.0.0.5"},
            "events": [{"object.query": "api.telegram.org"}],
        });
        assert_eq!(alert.to_json(), expected);
        let text = serde_json::to_string(&alert).ok();
        assert_eq!(text, Some(expected.to_string()));
        let ungrouped = Alert {
            group: Vec::new(),
            ..alert
        };
        assert_eq!(ungrouped.to_json()["group"], Json::Null);
        let explained = Alert {
            details: vec![
                ("contacts".into(), "12".into()),
                ("jitter".into(), "4%".into()),
            ],
            ..ungrouped
        };
        let json = explained.to_json();
        assert_eq!(json["details"], json!({"contacts": "12", "jitter": "4%"}));
        assert_eq!(
            serde_json::to_string(&explained).ok(),
            Some(json.to_string())
        );
    }
}
