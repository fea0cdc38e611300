//! Windows event logs and Sysmon, whatever the container: EVTX files, event XML,
//! Winlogbeat / Elastic Agent JSON, flat JSON (NXLog, OTRF data sets), and the JSON
//! rendering of the XML (`Event.System`, `Event.EventData.Data[{Name,text}]`).
//!
//! Each container is turned into one [`WinRecord`] (the System fields and the
//! EventData fields, as text under their own names), and [`normalize`] maps that to
//! the taxonomy, so the mapping exists once. Every System and EventData field is also
//! kept under its original name (`EventID`, `Channel`, `Provider_Name`, `Image`,
//! `QueryName`, ...) for rules written against the raw event.

mod evtx;
mod json_shapes;
mod sysmon;
mod xml;

use std::borrow::Cow;

use dozor_event::{Event, Field, taxonomy as t};

use crate::text::{iso_datetime, set_host};

pub(crate) use evtx::Evtx;
pub(crate) use json_shapes::{flat_is_windows, record_from_flat, record_from_json};
pub(crate) use xml::WindowsXml;

/// One Windows event, container-independent; its text is borrowed from the container
/// where the container allows.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct WinRecord<'a> {
    /// System fields under Sigma's names: `EventID`, `Channel`, `Computer`,
    /// `Provider_Name`, `TimeCreated`, `EventRecordID`, ...
    pub system: Vec<(&'static str, Cow<'a, str>)>,
    /// EventData (or flattened UserData) fields in document order.
    pub data: Vec<(Cow<'a, str>, Cow<'a, str>)>,
}

impl<'a> WinRecord<'a> {
    /// A System field.
    pub fn sys(&self, name: &str) -> Option<&str> {
        self.system
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_ref())
    }

    /// An EventData field; empty values count as absent.
    pub fn data(&self, name: &str) -> Option<&str> {
        self.data
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_ref())
            .filter(|v| !v.is_empty())
    }

    /// Sets a System field.
    pub fn set_sys(&mut self, name: &'static str, value: impl Into<Cow<'a, str>>) {
        let value = value.into();
        if !value.is_empty() {
            self.system.push((name, value));
        }
    }

    /// Adds an EventData field.
    pub fn push_data(&mut self, name: impl Into<Cow<'a, str>>, value: impl Into<Cow<'a, str>>) {
        self.data.push((name.into(), value.into()));
    }
}

/// The System elements whose text is kept, under their own names.
pub(crate) const SYSTEM_TEXT: [&str; 8] = [
    "Channel",
    "Computer",
    "EventRecordID",
    "Level",
    "Task",
    "Opcode",
    "Keywords",
    "Version",
];

/// The System attributes kept: (element, attribute, the name Sigma rules use).
pub(crate) const SYSTEM_ATTRIBUTES: [(&str, &str, &str); 6] = [
    ("Provider", "Name", "Provider_Name"),
    ("Provider", "Guid", "Provider_Guid"),
    ("TimeCreated", "SystemTime", "TimeCreated"),
    ("Execution", "ProcessID", "ProcessID"),
    ("Execution", "ThreadID", "ThreadID"),
    ("Security", "UserID", "UserID"),
];

/// The taxonomy fields an event holds, as they will stay, before the mapping that
/// [`ReadContext::defer_mapping`](crate::ReadContext) lets a format leave to
/// [`Event::complete`] has run: the stamp of every record (`body`, `recv_time`,
/// `format`) and what [`normalize`] sets for every Windows event. A reader that
/// defers may read these and the raw fields of an event not completed, nothing else.
pub const SET_BEFORE_DEFERRAL: &[Field] = &[
    t::BODY,
    t::RECV_TIME,
    t::FORMAT,
    t::EVENT_SRC_VENDOR,
    t::EVENT_SRC_TITLE,
    t::EVENT_SRC_CATEGORY,
    t::EVENT_SRC_SUBSYS,
    t::EVENT_SRC_HOST,
    t::EVENT_SRC_HOSTNAME,
    t::EVENT_SRC_FQDN,
    t::EVENT_SRC_IP,
    t::EVENT_SRC_RULE,
    t::MSGID,
    t::IMPORTANCE,
    t::TIME,
];

/// Maps a Windows event to the taxonomy, keeping every field under its own name; with
/// `defer`, the per-event-type fields of Sysmon events are left to
/// [`Event::complete`]. The record's fields become the raw fields last, so that
/// text the container could not lend (values with escapes, say) moves into the event
/// instead of being copied.
pub(crate) fn normalize(record: WinRecord, event: &mut Event, defer: bool) {
    let provider = record.sys("Provider_Name").unwrap_or_default();
    // Some shippers drop the provider; Sysmon's channel still names it.
    let sysmon = provider.eq_ignore_ascii_case("Microsoft-Windows-Sysmon")
        || (provider.is_empty()
            && record
                .sys("Channel")
                .is_some_and(|c| c.eq_ignore_ascii_case("Microsoft-Windows-Sysmon/Operational")));
    event.set(t::EVENT_SRC_VENDOR, "microsoft");
    event.set(
        t::EVENT_SRC_TITLE,
        if sysmon { "sysmon" } else { title_of(provider) },
    );
    event.set(
        t::EVENT_SRC_CATEGORY,
        if sysmon { "Other" } else { "Operating system" },
    );
    if let Some(channel) = record.sys("Channel") {
        event.set(t::EVENT_SRC_SUBSYS, channel);
    }
    if let Some(computer) = record.sys("Computer") {
        event.set(t::EVENT_SRC_HOST, computer);
        set_host(
            event,
            computer,
            t::EVENT_SRC_HOSTNAME,
            t::EVENT_SRC_FQDN,
            Some(t::EVENT_SRC_IP),
        );
    }
    if let Some(id) = record.sys("EventID") {
        event.set(t::MSGID, id);
    }
    event.set(t::IMPORTANCE, "info");
    if let Some(time) = record.sys("TimeCreated").and_then(parse_time) {
        event.set(t::TIME, time);
    }
    if sysmon {
        sysmon::normalize(&record, event, defer);
    }
    event.reserve_raw(record.system.len() + record.data.len());
    for (name, value) in record.system {
        event.set_raw(name, value);
    }
    for (name, value) in record.data {
        event.set_raw(name, value);
    }
}

/// `event_src.title` of a provider: `sysmon`, `windows` (Security and other OS
/// providers), `powershell`.
fn title_of(provider: &str) -> &'static str {
    let lower = provider.to_ascii_lowercase();
    if lower == "microsoft-windows-sysmon" {
        "sysmon"
    } else if lower.contains("powershell") {
        "powershell"
    } else {
        "windows"
    }
}

/// Windows time stamps: `2020-02-10T15:58:31.668472500Z`, `2020-02-10 15:57:22.791`.
pub(crate) fn parse_time(text: &str) -> Option<dozor_event::Timestamp> {
    iso_datetime(text.trim().as_bytes()).map(|(t, _)| t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sysmon_is_known_by_its_channel_when_the_provider_is_missing() {
        let mut record = WinRecord::default();
        record.set_sys("EventID", "7");
        record.set_sys("Channel", "Microsoft-Windows-Sysmon/Operational");
        record.push_data("UtcTime", "2020-10-22 06:58:02.475");
        let mut event = Event::new();
        normalize(record, &mut event, false);
        assert_eq!(event.get_str(t::EVENT_SRC_TITLE), Some("sysmon"));
        assert_eq!(event.get_str(t::EVENT_SRC_CATEGORY), Some("Other"));
    }
}
