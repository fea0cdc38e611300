//! The list of every format, and detection.

use crate::auditd::Auditd;
use crate::bind::Bind;
use crate::dnsmasq::Dnsmasq;
use crate::format::Format;
use crate::json::JsonEvents;
use crate::squid::SquidAccess;
use crate::syslog::Syslog;
use crate::teamcity::TeamCity;
use crate::tomcat::AccessLog;
use crate::windows::{Evtx, WindowsXml};
use crate::zeek::ZeekTsv;

/// Every format Dozor reads, most specific first: on equal detection scores the
/// earlier one wins.
pub static FORMATS: &[&dyn Format] = &[
    &Evtx,
    &WindowsXml,
    &JsonEvents,
    &ZeekTsv,
    &Auditd,
    &Bind,
    &Dnsmasq,
    &TeamCity,
    &AccessLog,
    &SquidAccess,
    &Syslog,
];

/// The format named `name`.
pub fn find(name: &str) -> Option<&'static dyn Format> {
    FORMATS.iter().copied().find(|f| f.name() == name)
}

/// The format that best recognises an input starting with `head`, if any does.
pub fn detect(head: &[u8]) -> Option<&'static dyn Format> {
    let mut best: Option<(&'static dyn Format, u8)> = None;
    for format in FORMATS.iter().copied() {
        let score = format.detect(head);
        if score > 0 && best.is_none_or(|(_, s)| score > s) {
            best = Some((format, score));
        }
    }
    best.map(|(format, _)| format)
}
