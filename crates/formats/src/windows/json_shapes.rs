//! The JSON shapes a Windows event arrives in, each turned into a [`WinRecord`]:
//! - the XML rendered as JSON: `Event.System` + `Event.EventData.Data[{Name, text}]`
//!   (the reference product's tests), or with `#attributes`/`#text` (the `evtx` crate);
//! - Winlogbeat / Elastic Agent: `winlog.event_data.*`, `winlog.event_id`, ...;
//! - flat JSON as NXLog and the OTRF data sets write it: `EventID`, `Channel`,
//!   `Hostname`, `SourceName` and the EventData fields at the top level.

use std::borrow::Cow;

use serde_json::{Map, Value as Json};

use super::{SYSTEM_ATTRIBUTES, SYSTEM_TEXT, WinRecord};
use crate::flat_json::{FlatObject, Scalar};

/// The Windows event in `value`, or `None` if it is not one.
pub(crate) fn record_from_json(value: &Json) -> Option<WinRecord<'_>> {
    let object = value.as_object()?;
    if let Some(event) = object.get("Event").and_then(Json::as_object) {
        return from_xml_json(event);
    }
    if let Some(winlog) = object.get("winlog").and_then(Json::as_object) {
        return from_winlogbeat(object, winlog);
    }
    if !is_flat_windows(|key| object.get(key).and_then(leaf).is_some()) {
        return None;
    }
    from_flat(
        object
            .iter()
            .filter_map(|(name, value)| Some((Cow::Borrowed(name.as_str()), leaf(value)?)))
            .collect(),
    )
}

/// Whether a flat JSON object is a Windows event as NXLog and OTRF write them.
pub(crate) fn flat_is_windows(object: &FlatObject<'_>) -> bool {
    is_flat_windows(|key| object.get(key).is_some_and(Scalar::has_text))
}

/// The Windows event in a flat JSON object (see [`flat_is_windows`]): the same record
/// [`record_from_json`] makes of that object, its text borrowed from the line.
pub(crate) fn record_from_flat(object: FlatObject<'_>) -> Option<WinRecord<'_>> {
    from_flat(
        object
            .into_members()
            .filter_map(|(name, value)| Some((name, value.into_text()?)))
            .collect(),
    )
}

/// The text of a leaf: a scalar, or an element object's `#text`/`text`.
fn leaf(value: &Json) -> Option<Cow<'_, str>> {
    match value {
        Json::String(s) => Some(Cow::Borrowed(s)),
        Json::Number(n) => Some(Cow::Owned(n.to_string())),
        Json::Bool(b) => Some(Cow::Borrowed(if *b { "true" } else { "false" })),
        Json::Object(o) => o.get("#text").or_else(|| o.get("text")).and_then(leaf),
        Json::Array(items) => {
            let parts: Vec<Cow<'_, str>> = items.iter().filter_map(leaf).collect();
            (!parts.is_empty()).then(|| Cow::Owned(parts.join("\n")))
        }
        Json::Null => None,
    }
}

/// An XML attribute as rendered in JSON: `{"Name": ..}` or `{"#attributes": {"Name": ..}}`.
fn attr<'a>(element: Option<&'a Json>, name: &str) -> Option<Cow<'a, str>> {
    let element = element?.as_object()?;
    element
        .get(name)
        .or_else(|| element.get("#attributes")?.get(name))
        .and_then(leaf)
}

fn from_xml_json(event: &Map<String, Json>) -> Option<WinRecord<'_>> {
    let system = event.get("System")?.as_object()?;
    let mut record = WinRecord::default();
    let eid = system.get("EventID").and_then(leaf)?;
    record.set_sys("EventID", eid);
    for name in SYSTEM_TEXT {
        if let Some(value) = system.get(name).and_then(leaf) {
            record.set_sys(name, value);
        }
    }
    for (element, name, as_name) in SYSTEM_ATTRIBUTES {
        if let Some(value) = attr(system.get(element), name) {
            record.set_sys(as_name, value);
        }
    }
    if let Some(data) = event.get("EventData") {
        event_data(data, &mut record.data);
    }
    if let Some(user_data) = event.get("UserData") {
        flatten_leaves(user_data, &mut record.data);
    }
    Some(record)
}

/// `EventData` as `{"Data": [{Name, text}]}`, `{"Data": {Name, text}}`, or a map
/// from names to values (the `evtx` crate's rendering).
fn event_data<'a>(data: &'a Json, out: &mut Vec<(Cow<'a, str>, Cow<'a, str>)>) {
    let Some(object) = data.as_object() else {
        return;
    };
    match object.get("Data") {
        Some(Json::Array(items)) => {
            for item in items {
                named_data(item, out);
            }
        }
        Some(item @ Json::Object(o)) if o.contains_key("Name") || o.contains_key("#attributes") => {
            named_data(item, out);
        }
        _ => {
            for (name, value) in object {
                if name == "#attributes" || name == "xmlns" {
                    continue;
                }
                if let Some(text) = leaf(value) {
                    out.push((Cow::Borrowed(name), text));
                }
            }
        }
    }
}

fn named_data<'a>(item: &'a Json, out: &mut Vec<(Cow<'a, str>, Cow<'a, str>)>) {
    match attr(Some(item), "Name") {
        Some(name) => {
            if let Some(text) = leaf(item) {
                out.push((name, text));
            }
        }
        None => {
            if let Some(text) = leaf(item) {
                out.push((Cow::Borrowed("Data"), text));
            }
        }
    }
}

/// UserData holds one provider-specific element; its leaves become fields.
fn flatten_leaves<'a>(value: &'a Json, out: &mut Vec<(Cow<'a, str>, Cow<'a, str>)>) {
    if let Json::Object(object) = value {
        for (name, child) in object {
            if name.starts_with('#') || name == "xmlns" {
                continue;
            }
            match child {
                Json::Object(o) if !o.contains_key("#text") => flatten_leaves(child, out),
                _ => {
                    if let Some(text) = leaf(child) {
                        out.push((Cow::Borrowed(name), text));
                    }
                }
            }
        }
    }
}

fn from_winlogbeat<'a>(
    top: &'a Map<String, Json>,
    winlog: &'a Map<String, Json>,
) -> Option<WinRecord<'a>> {
    let mut record = WinRecord::default();
    let eid = winlog
        .get("event_id")
        .and_then(leaf)
        .or_else(|| top.get("event")?.get("code").and_then(leaf))?;
    record.set_sys("EventID", eid);
    for (path, name) in [
        (&["channel"][..], "Channel"),
        (&["computer_name"][..], "Computer"),
        (&["provider_name"][..], "Provider_Name"),
        (&["provider_guid"][..], "Provider_Guid"),
        (&["record_id"][..], "EventRecordID"),
        (&["task"][..], "Task"),
        (&["opcode"][..], "Opcode"),
        (&["version"][..], "Version"),
        (&["process", "pid"][..], "ProcessID"),
        (&["process", "thread", "id"][..], "ThreadID"),
        (&["user", "identifier"][..], "UserID"),
    ] {
        if let Some(value) = path_leaf(winlog, path) {
            record.set_sys(name, value);
        }
    }
    if record.sys("Computer").is_none()
        && let Some(host) = top.get("host").and_then(|h| h.get("name")).and_then(leaf)
    {
        record.set_sys("Computer", host);
    }
    if let Some(time) = top.get("@timestamp").and_then(leaf) {
        record.set_sys("TimeCreated", time);
    }
    for key in ["event_data", "user_data"] {
        if let Some(Json::Object(data)) = winlog.get(key) {
            for (name, value) in data {
                if let Some(text) = leaf(value) {
                    record.push_data(name.as_str(), text);
                }
            }
        }
    }
    Some(record)
}

fn path_leaf<'a>(object: &'a Map<String, Json>, path: &[&str]) -> Option<Cow<'a, str>> {
    let (first, rest) = path.split_first()?;
    let mut value = object.get(*first)?;
    for key in rest {
        value = value.get(key)?;
    }
    leaf(value)
}

/// Whether a flat object is a Windows event: an `EventID` and a provider or channel.
fn is_flat_windows(has: impl Fn(&str) -> bool) -> bool {
    has("EventID")
        && ["SourceName", "ProviderName", "Provider_Name", "Channel"]
            .into_iter()
            .any(has)
}

/// NXLog/OTRF flat events: System fields under NXLog's names, EventData at the top.
/// `fields` are the object's members with their text, in document order.
///
/// One pass sorts the members into System slots (by [`flat_system_slot`]) and
/// EventData; the System fields are then set in a fixed order, each from the first of
/// its names that has a value.
fn from_flat<'a>(fields: Vec<(Cow<'a, str>, Cow<'a, str>)>) -> Option<WinRecord<'a>> {
    let mut slots: [Option<Cow<'a, str>>; FLAT_SYSTEM_NAMES] = Default::default();
    let mut data = Vec::with_capacity(fields.len());
    for (name, value) in fields {
        match flat_system_slot(&name) {
            Some(slot) => {
                if slots[slot].is_none() {
                    slots[slot] = Some(value);
                }
            }
            None => data.push((name, value)),
        }
    }
    let [
        event_id,
        source_name,
        provider_name,
        provider_name_sigma,
        channel,
        hostname,
        computer,
        provider_guid,
        record_number,
        event_record_id,
        task,
        opcode,
        keywords,
        version,
        process_id,
        thread_id,
        user_id,
        event_time,
        time_created,
    ] = slots;
    let event_id = event_id?;
    let provider = source_name.or(provider_name).or(provider_name_sigma);
    if provider.is_none() && channel.is_none() {
        return None;
    }
    // An empty value is no value: the next name is tried.
    let first =
        |a: Option<Cow<'a, str>>, b: Option<Cow<'a, str>>| a.filter(|v| !v.is_empty()).or(b);
    let time = first(event_time, time_created)
        .filter(|v| !v.is_empty())
        .or_else(|| {
            data.iter()
                .find(|(name, _)| name == "@timestamp")
                .map(|(_, value)| value.clone())
        });
    let mut record = WinRecord {
        system: Vec::with_capacity(FLAT_SYSTEM_NAMES),
        data,
    };
    for (name, value) in [
        ("EventID", Some(event_id)),
        ("Provider_Name", provider),
        ("Channel", channel),
        ("Computer", first(hostname, computer)),
        ("Provider_Guid", provider_guid),
        ("EventRecordID", first(record_number, event_record_id)),
        ("Task", task),
        ("Opcode", opcode),
        ("Keywords", keywords),
        ("Version", version),
        ("ProcessID", process_id),
        ("ThreadID", thread_id),
        ("UserID", user_id),
        ("TimeCreated", time),
    ] {
        if let Some(value) = value {
            record.set_sys(name, value);
        }
    }
    Some(record)
}

/// How many member names [`flat_system_slot`] knows.
const FLAT_SYSTEM_NAMES: usize = 19;

/// The slot of a flat event's System member, by its NXLog or OTRF name (several
/// names of one System field in order of preference); `None` for EventData.
fn flat_system_slot(name: &str) -> Option<usize> {
    Some(match name {
        "EventID" => 0,
        "SourceName" => 1,
        "ProviderName" => 2,
        "Provider_Name" => 3,
        "Channel" => 4,
        "Hostname" => 5,
        "Computer" => 6,
        "ProviderGuid" => 7,
        "RecordNumber" => 8,
        "EventRecordID" => 9,
        "Task" => 10,
        "Opcode" => 11,
        "Keywords" => 12,
        "Version" => 13,
        "ExecutionProcessID" => 14,
        "ExecutionThreadID" => 15,
        "UserID" => 16,
        "EventTime" => 17,
        "TimeCreated" => 18,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reference_rendering() {
        let value = json!({"Event": {"System": {
            "Provider": {"Name": "Microsoft-Windows-Sysmon"}, "EventID": "22",
            "TimeCreated": {"SystemTime": "2020-02-10T15:58:31.668472500Z"},
            "Channel": "Microsoft-Windows-Sysmon/Operational", "Computer": "fs.NaaCo.pwwwb"},
            "EventData": {"Data": [{"Name": "RuleName"}, {"Name": "QueryName", "text": "x.example"}]}}});
        let r = record_from_json(&value).expect("a windows event");
        assert_eq!(r.sys("EventID"), Some("22"));
        assert_eq!(r.sys("Provider_Name"), Some("Microsoft-Windows-Sysmon"));
        assert_eq!(r.data("QueryName"), Some("x.example"));
        assert_eq!(r.data("RuleName"), None);
    }

    #[test]
    fn evtx_crate_rendering() {
        let value = json!({"Event": {"#attributes": {"xmlns": "x"}, "System": {
            "Provider": {"#attributes": {"Name": "Microsoft-Windows-Security-Auditing"}},
            "EventID": {"#attributes": {"Qualifiers": 0}, "#text": 4625},
            "TimeCreated": {"#attributes": {"SystemTime": "2020-01-01T00:00:00Z"}}},
            "EventData": {"TargetUserName": "bob", "LogonType": 3}}});
        let r = record_from_json(&value).expect("a windows event");
        assert_eq!(r.sys("EventID"), Some("4625"));
        assert_eq!(r.data("LogonType"), Some("3"));
    }

    #[test]
    fn winlogbeat_and_flat() {
        let value = json!({"@timestamp": "2024-01-01T00:00:00Z", "winlog": {"event_id": 22,
            "channel": "Microsoft-Windows-Sysmon/Operational", "computer_name": "pc1",
            "provider_name": "Microsoft-Windows-Sysmon", "event_data": {"QueryName": "api.telegram.org"}}});
        let r = record_from_json(&value).expect("a windows event");
        assert_eq!(r.sys("TimeCreated"), Some("2024-01-01T00:00:00Z"));
        assert_eq!(r.data("QueryName"), Some("api.telegram.org"));
        let value = json!({"EventID": 1, "SourceName": "Microsoft-Windows-Sysmon",
            "Hostname": "WORKSTATION5", "Image": "C:\\x.exe"});
        let r = record_from_json(&value).expect("a windows event");
        assert_eq!(r.sys("Computer"), Some("WORKSTATION5"));
        assert_eq!(r.data("Image"), Some("C:\\x.exe"));
        assert!(record_from_json(&json!({"EventID": 1})).is_none());
    }

    #[test]
    fn flat_system_names_fall_back_in_order_past_empty_values() {
        let value = json!({"Image": "a", "EventTime": "", "TimeCreated": "",
            "@timestamp": "2024-01-01T00:00:00Z", "Computer": "pc2", "Hostname": "",
            "ProviderName": "P", "SourceName": "S", "EventRecordID": "7", "Task": "",
            "EventID": 4688, "ExecutionProcessID": "4", "Version": "1", "Opcode": "0"});
        let r = record_from_json(&value).expect("a windows event");
        let system: Vec<(&str, &str)> = r.system.iter().map(|(n, v)| (*n, v.as_ref())).collect();
        assert_eq!(
            system,
            [
                ("EventID", "4688"),
                ("Provider_Name", "S"),
                ("Computer", "pc2"),
                ("EventRecordID", "7"),
                ("Opcode", "0"),
                ("Version", "1"),
                ("ProcessID", "4"),
                ("TimeCreated", "2024-01-01T00:00:00Z"),
            ]
        );
        let data: Vec<&str> = r.data.iter().map(|(n, _)| n.as_ref()).collect();
        assert_eq!(data, ["Image", "@timestamp"]);
        let only_channel = json!({"EventID": "1", "Channel": "Security", "SourceName": ""});
        let r = record_from_json(&only_channel).expect("a windows event");
        assert_eq!(r.sys("Provider_Name"), None);
        assert_eq!(r.sys("Channel"), Some("Security"));
    }
}
