//! The JSON shapes a Windows event arrives in, each turned into a [`WinRecord`]:
//! - the XML rendered as JSON: `Event.System` + `Event.EventData.Data[{Name, text}]`
//!   (the reference product's tests), or with `#attributes`/`#text` (the `evtx` crate);
//! - Winlogbeat / Elastic Agent: `winlog.event_data.*`, `winlog.event_id`, ...;
//! - flat JSON as NXLog and the OTRF data sets write it: `EventID`, `Channel`,
//!   `Hostname`, `SourceName` and the EventData fields at the top level.

use serde_json::{Map, Value as Json};

use super::{SYSTEM_ATTRIBUTES, SYSTEM_TEXT, WinRecord};

/// The Windows event in `value`, or `None` if it is not one.
pub(crate) fn record_from_json(value: &Json) -> Option<WinRecord> {
    let object = value.as_object()?;
    if let Some(event) = object.get("Event").and_then(Json::as_object) {
        return from_xml_json(event);
    }
    if let Some(winlog) = object.get("winlog").and_then(Json::as_object) {
        return from_winlogbeat(object, winlog);
    }
    from_flat(object)
}

/// The text of a leaf: a scalar, or an element object's `#text`/`text`.
fn leaf(value: &Json) -> Option<String> {
    match value {
        Json::String(s) => Some(s.clone()),
        Json::Number(n) => Some(n.to_string()),
        Json::Bool(b) => Some(b.to_string()),
        Json::Object(o) => o.get("#text").or_else(|| o.get("text")).and_then(leaf),
        Json::Array(items) => {
            let parts: Vec<String> = items.iter().filter_map(leaf).collect();
            (!parts.is_empty()).then(|| parts.join("\n"))
        }
        Json::Null => None,
    }
}

/// An XML attribute as rendered in JSON: `{"Name": ..}` or `{"#attributes": {"Name": ..}}`.
fn attr(element: Option<&Json>, name: &str) -> Option<String> {
    let element = element?.as_object()?;
    element
        .get(name)
        .or_else(|| element.get("#attributes")?.get(name))
        .and_then(leaf)
}

fn from_xml_json(event: &Map<String, Json>) -> Option<WinRecord> {
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
fn event_data(data: &Json, out: &mut Vec<(String, String)>) {
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
                    out.push((name.clone(), text));
                }
            }
        }
    }
}

fn named_data(item: &Json, out: &mut Vec<(String, String)>) {
    match attr(Some(item), "Name") {
        Some(name) => {
            if let Some(text) = leaf(item) {
                out.push((name, text));
            }
        }
        None => {
            if let Some(text) = leaf(item) {
                out.push(("Data".to_owned(), text));
            }
        }
    }
}

/// UserData holds one provider-specific element; its leaves become fields.
fn flatten_leaves(value: &Json, out: &mut Vec<(String, String)>) {
    if let Json::Object(object) = value {
        for (name, child) in object {
            if name.starts_with('#') || name == "xmlns" {
                continue;
            }
            match child {
                Json::Object(o) if !o.contains_key("#text") => flatten_leaves(child, out),
                _ => {
                    if let Some(text) = leaf(child) {
                        out.push((name.clone(), text));
                    }
                }
            }
        }
    }
}

fn from_winlogbeat(top: &Map<String, Json>, winlog: &Map<String, Json>) -> Option<WinRecord> {
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
                    record.data.push((name.clone(), text));
                }
            }
        }
    }
    Some(record)
}

fn path_leaf(object: &Map<String, Json>, path: &[&str]) -> Option<String> {
    let (first, rest) = path.split_first()?;
    let mut value = object.get(*first)?;
    for key in rest {
        value = value.get(key)?;
    }
    leaf(value)
}

/// NXLog/OTRF flat events: System fields under NXLog's names, EventData at the top.
fn from_flat(object: &Map<String, Json>) -> Option<WinRecord> {
    let eid = object.get("EventID").and_then(leaf)?;
    let provider = object
        .get("SourceName")
        .or_else(|| object.get("ProviderName"))
        .or_else(|| object.get("Provider_Name"))
        .and_then(leaf);
    let channel = object.get("Channel").and_then(leaf);
    if provider.is_none() && channel.is_none() {
        return None;
    }
    let mut record = WinRecord::default();
    record.set_sys("EventID", eid);
    if let Some(provider) = provider {
        record.set_sys("Provider_Name", provider);
    }
    if let Some(channel) = channel {
        record.set_sys("Channel", channel);
    }
    const SYSTEM: &[(&str, &str)] = &[
        ("Hostname", "Computer"),
        ("Computer", "Computer"),
        ("ProviderGuid", "Provider_Guid"),
        ("RecordNumber", "EventRecordID"),
        ("EventRecordID", "EventRecordID"),
        ("Task", "Task"),
        ("Opcode", "Opcode"),
        ("Keywords", "Keywords"),
        ("Version", "Version"),
        ("ExecutionProcessID", "ProcessID"),
        ("ExecutionThreadID", "ThreadID"),
        ("UserID", "UserID"),
        ("EventTime", "TimeCreated"),
        ("TimeCreated", "TimeCreated"),
    ];
    for (from, to) in SYSTEM {
        if record.sys(to).is_none()
            && let Some(value) = object.get(*from).and_then(leaf)
        {
            record.set_sys(to, value);
        }
    }
    if record.sys("TimeCreated").is_none()
        && let Some(value) = object.get("@timestamp").and_then(leaf)
    {
        record.set_sys("TimeCreated", value);
    }
    let system_keys: Vec<&str> = SYSTEM
        .iter()
        .map(|(from, _)| *from)
        .chain([
            "EventID",
            "SourceName",
            "ProviderName",
            "Provider_Name",
            "Channel",
        ])
        .collect();
    for (name, value) in object {
        if system_keys.contains(&name.as_str()) {
            continue;
        }
        if let Some(text) = leaf(value) {
            record.data.push((name.clone(), text));
        }
    }
    Some(record)
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
}
