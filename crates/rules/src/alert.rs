//! Alerts: what a rule's match produces.

use std::sync::Arc;

use dozor_event::{Event, Timestamp, format_time};
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};
use serde_json::Value as Json;
#[cfg(test)]
use serde_json::json;

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
    /// The events that made it fire, in time order; shared with the other alerts and
    /// the correlation windows that hold them, not copied into each.
    pub events: Vec<Arc<Event>>,
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

/// The `events` array.
struct EventsJson<'a>(&'a [Arc<Event>]);

impl Serialize for EventsJson<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.0.len()))?;
        for event in self.0 {
            seq.serialize_element(&**event)?;
        }
        seq.end()
    }
}

/// An alert serializes as its JSON form, written straight to the serializer.
impl Serialize for Alert {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(4))?;
        map.serialize_entry("rule", &RuleJson(&self.rule))?;
        map.serialize_entry("time", &self.time.map(format_time))?;
        if self.group.is_empty() {
            map.serialize_entry("group", &None::<()>)?;
        } else {
            let group = self.group.iter().map(|(k, v)| (k, v));
            map.serialize_entry("group", &GroupJson(group))?;
        }
        map.serialize_entry("events", &EventsJson(&self.events))?;
        if !self.details.is_empty() {
            let details = self.details.iter().map(|(k, v)| (k, v));
            map.serialize_entry("details", &GroupJson(details))?;
        }
        map.end()
    }
}

impl Alert {
    /// Appends the alert's JSON to `out`, what its `Serialize` form writes, with the
    /// events written by [`Event::write_json`]; `rendered`'s event (the same one, or
    /// an equal one) is copied from its JSON, written once for all the alerts it
    /// raised.
    pub fn write_json(&self, out: &mut Vec<u8>, rendered: Option<(&Event, &[u8])>) {
        // The small parts go through serde_json; writing to a Vec cannot fail.
        out.extend_from_slice(b"{\"rule\":");
        let _ = serde_json::to_writer(&mut *out, &RuleJson(&self.rule));
        out.extend_from_slice(b",\"time\":");
        let _ = serde_json::to_writer(&mut *out, &self.time.map(format_time));
        out.extend_from_slice(b",\"group\":");
        if self.group.is_empty() {
            out.extend_from_slice(b"null");
        } else {
            let group = self.group.iter().map(|(k, v)| (k, v));
            let _ = serde_json::to_writer(&mut *out, &GroupJson(group));
        }
        out.extend_from_slice(b",\"events\":[");
        for (i, event) in self.events.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            match rendered {
                Some((known, json)) if std::ptr::eq(known, &**event) || known == &**event => {
                    out.extend_from_slice(json)
                }
                _ => event.write_json(out),
            }
        }
        out.push(b']');
        if !self.details.is_empty() {
            out.extend_from_slice(b",\"details\":");
            let details = self.details.iter().map(|(k, v)| (k, v));
            let _ = serde_json::to_writer(&mut *out, &GroupJson(details));
        }
        out.push(b'}');
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
            events: vec![Arc::new(event)],
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

    #[test]
    fn the_fast_writer_writes_what_serde_json_writes() {
        let mut first = Event::new();
        first.set(taxonomy::OBJECT_QUERY, "api.telegram.org");
        first.set_raw("CommandLine", r#"cmd.exe /c "echo \ok""#);
        let mut second = Event::new();
        second.set(taxonomy::SRC_PORT, 53u16);
        let alert = Alert {
            rule: RuleRef {
                id: "r\"1".into(),
                title: "T".into(),
                level: "high".into(),
                tags: Vec::new(),
                techniques: Vec::new(),
                reference_rule: None,
            },
            time: Some("2026-11-28T10:00:00Z".parse().expect("time")),
            group: vec![("src.ip".into(), "10.0.0.5".into())],
            events: vec![Arc::new(first.clone()), Arc::new(second)],
            details: vec![("what".into(), "new \"client\"".into())],
        };
        let serde = serde_json::to_vec(&alert).expect("serializes");
        let mut fast = Vec::new();
        alert.write_json(&mut fast, None);
        assert_eq!(
            String::from_utf8_lossy(&fast),
            String::from_utf8_lossy(&serde)
        );
        // A rendered event is copied as given.
        let mut rendered = Vec::new();
        first.write_json(&mut rendered);
        let mut copied = Vec::new();
        alert.write_json(&mut copied, Some((&first, &rendered)));
        assert_eq!(copied, serde);
        let plain = Alert {
            group: Vec::new(),
            details: Vec::new(),
            time: None,
            ..alert
        };
        let mut fast = Vec::new();
        plain.write_json(&mut fast, None);
        assert_eq!(fast, serde_json::to_vec(&plain).expect("serializes"));
    }
}
