//! Sysmon events in the taxonomy: EventID 1 (process creation), 3 (network
//! connection) and 22 (DNS query) fully, as the reference product's normalization
//! tests define them; every other Sysmon event gets the generic fields, its rule name
//! and its own time.

use std::borrow::Cow;
use std::net::IpAddr;

use dozor_event::{Deferred, Event, Field, Value, taxonomy as t};

use super::{WinRecord, parse_time};
use crate::text::{WinPath, set_host};

/// Maps a Sysmon event; with `defer`, the fields of its event type are left to
/// [`Event::complete`], which rebuilds them from the raw fields.
pub(super) fn normalize(record: &WinRecord, event: &mut Event, defer: bool) {
    if let Some(time) = record.data("UtcTime").and_then(parse_time) {
        event.set(t::TIME, time);
    }
    if let Some(rule) = record.data("RuleName") {
        event.set(t::EVENT_SRC_RULE, rule);
    }
    match record.sys("EventID") {
        Some("1" | "3" | "22") if defer => event.defer(Deferred(complete)),
        _ => by_event_type(record, event),
    }
}

/// The fields of the event's type: process creation, network connection, DNS query.
fn by_event_type(record: &WinRecord, event: &mut Event) {
    match record.sys("EventID") {
        Some("1") => process_creation(record, event),
        Some("3") => network_connection(record, event),
        Some("22") => dns_query(record, event),
        _ => {}
    }
}

/// The deferred part of [`normalize`], from the raw fields: they hold every System
/// and EventData field of the record under its own name.
fn complete(event: &mut Event) {
    event.with_raw_apart(|event, raw| {
        let mut record = WinRecord::default();
        for (name, value) in raw {
            let Some(text) = value.as_str() else { continue };
            if name == "EventID" {
                record.set_sys("EventID", text);
            }
            record.push_data(name, text);
        }
        by_event_type(&record, event);
    });
}

fn process_creation(r: &WinRecord, event: &mut Event) {
    event.set(t::SUBJECT, "account");
    event.set(t::ACTION, "start");
    event.set(t::OBJECT, "process");
    event.set(t::STATUS, "success");
    event.set(t::CATEGORY_GENERIC, "Process");
    event.set(t::CATEGORY_HIGH, "Availability Management");
    event.set(t::CATEGORY_LOW, "Control");
    let d = ProcessData::of(r);
    // The subject is the parent's account when Sysmon reports it (ParentUser, Sysmon
    // 13.30 and later); the new process's own account and its logon describe only the
    // subject when the parent's is unknown.
    let parent_user = d.get(P::ParentUser);
    if let Some(parent) = parent_user {
        set_account(event, &SUBJECT_ACCOUNT, parent);
    }
    let sides: &[AccountFields] = if parent_user.is_some() {
        &[OBJECT_ACCOUNT]
    } else {
        &[SUBJECT_ACCOUNT, OBJECT_ACCOUNT]
    };
    for side in sides {
        if let Some(user) = d.get(P::User) {
            set_account(event, side, user);
        }
        if let Some(level) = d.get(P::IntegrityLevel) {
            event.set(side.privileges, level);
        }
        if let Some(session) = d.get(P::LogonId).and_then(hex_to_decimal) {
            event.set(side.session_id, session);
        }
    }
    if let Some(image) = d.get(P::Image) {
        set_path(event, image, &OBJECT_PROCESS);
    }
    if let Some(image) = d.get(P::ParentImage) {
        set_path(event, image, &OBJECT_PARENT);
    }
    for (name, field) in [
        (P::CommandLine, t::OBJECT_PROCESS_CMDLINE),
        (P::ParentCommandLine, t::OBJECT_PROCESS_PARENT_CMDLINE),
        (P::CurrentDirectory, t::OBJECT_PROCESS_CWD),
        (P::ProcessId, t::OBJECT_PROCESS_ID),
        (P::ParentProcessId, t::OBJECT_PROCESS_PARENT_ID),
        (P::FileVersion, t::OBJECT_PROCESS_VERSION),
        (P::OriginalFileName, t::OBJECT_PROCESS_ORIGINAL_NAME),
    ] {
        if let Some(value) = d.get(name).map(str::trim).filter(|v| !v.is_empty()) {
            event.set(field, value);
        }
    }
    for (name, field) in [
        (P::ProcessGuid, t::OBJECT_PROCESS_GUID),
        (P::ParentProcessGuid, t::OBJECT_PROCESS_PARENT_GUID),
    ] {
        if let Some(guid) = d.get(name) {
            event.set(field, strip_braces(guid));
        }
    }
    if let Some(hashes) = d.get(P::Hashes) {
        set_hashes(event, hashes);
    }
    let meta: Vec<String> = [
        ("Description", P::Description),
        ("Product", P::Product),
        ("Company", P::Company),
    ]
    .into_iter()
    .filter_map(|(name, field)| d.get(field).map(|v| format!("{name}:{v}")))
    .collect();
    if !meta.is_empty() {
        event.set(t::OBJECT_PROCESS_META, meta.join(" | "));
    }
}

/// The EventData fields a process creation maps.
#[derive(Clone, Copy)]
enum P {
    ParentUser,
    User,
    IntegrityLevel,
    LogonId,
    Image,
    ParentImage,
    CommandLine,
    ParentCommandLine,
    CurrentDirectory,
    ProcessId,
    ParentProcessId,
    FileVersion,
    OriginalFileName,
    ProcessGuid,
    ParentProcessGuid,
    Hashes,
    Description,
    Product,
    Company,
}

impl P {
    /// The field named `name`.
    fn named(name: &str) -> Option<P> {
        Some(match name {
            "ParentUser" => P::ParentUser,
            "User" => P::User,
            "IntegrityLevel" => P::IntegrityLevel,
            "LogonId" => P::LogonId,
            "Image" => P::Image,
            "ParentImage" => P::ParentImage,
            "CommandLine" => P::CommandLine,
            "ParentCommandLine" => P::ParentCommandLine,
            "CurrentDirectory" => P::CurrentDirectory,
            "ProcessId" => P::ProcessId,
            "ParentProcessId" => P::ParentProcessId,
            "FileVersion" => P::FileVersion,
            "OriginalFileName" => P::OriginalFileName,
            "ProcessGuid" => P::ProcessGuid,
            "ParentProcessGuid" => P::ParentProcessGuid,
            "Hashes" => P::Hashes,
            "Description" => P::Description,
            "Product" => P::Product,
            "Company" => P::Company,
            _ => return None,
        })
    }
}

/// The values of a process creation's [`P`] fields, found in one pass over the
/// record (each `WinRecord::data` lookup scans every field, and the mapping makes
/// about 25), with the same answers: a name's first value, empty as absent.
struct ProcessData<'r>([Option<&'r str>; P::Company as usize + 1]);

impl<'r> ProcessData<'r> {
    fn of(r: &'r WinRecord) -> Self {
        let mut values = [None; P::Company as usize + 1];
        for (name, value) in &r.data {
            if let Some(field) = P::named(name) {
                values[field as usize].get_or_insert(value.as_ref());
            }
        }
        Self(values)
    }

    fn get(&self, field: P) -> Option<&'r str> {
        self.0[field as usize].filter(|v| !v.is_empty())
    }
}

fn network_connection(r: &WinRecord, event: &mut Event) {
    event.set(t::SUBJECT, "rule");
    event.set(t::ACTION, "detect");
    event.set(t::OBJECT, "connection");
    event.set(t::STATUS, "success");
    event.set(t::CATEGORY_GENERIC, "Connection");
    event.set(t::CATEGORY_HIGH, "Network Interaction Management");
    event.set(t::CATEGORY_LOW, "State");
    if let Some(rule) = r.data("RuleName") {
        event.set(t::SUBJECT_NAME, rule);
    }
    let initiated = r
        .data("Initiated")
        .is_some_and(|v| v.eq_ignore_ascii_case("true"));
    event.set(t::DIRECTION, if initiated { "egress" } else { "ingress" });
    if let Some(protocol) = r.data("Protocol") {
        event.set(t::PROTOCOL, protocol.to_ascii_lowercase());
    }
    for (prefix, ip, port, hostname, fqdn) in [
        (
            "Source",
            t::SRC_IP,
            t::SRC_PORT,
            t::SRC_HOSTNAME,
            t::SRC_FQDN,
        ),
        (
            "Destination",
            t::DST_IP,
            t::DST_PORT,
            t::DST_HOSTNAME,
            t::DST_FQDN,
        ),
    ] {
        if let Some(addr) = r
            .data(&format!("{prefix}Ip"))
            .and_then(|a| a.parse::<IpAddr>().ok())
        {
            event.set(ip, addr);
        }
        if let Some(n) = r
            .data(&format!("{prefix}Port"))
            .and_then(|p| p.parse::<u16>().ok())
        {
            event.set(port, n);
        }
        if let Some(host) = r.data(&format!("{prefix}Hostname")) {
            set_host(event, host, hostname, fqdn, None);
        }
    }
    set_process(r, event, &CONNECTING_PROCESS);
}

fn dns_query(r: &WinRecord, event: &mut Event) {
    event.set(t::ACTION, "info");
    event.set(t::OBJECT, "request");
    event.set(t::OBJECT_TYPE, "DNS");
    if let Some(name) = r.data("QueryName") {
        event.set(t::OBJECT_QUERY, name);
    }
    match r.data("QueryStatus").unwrap_or("0") {
        "0" => event.set(t::STATUS, "success"),
        code => {
            event.set(t::STATUS, "failure");
            event.set(t::REASON, dns_status_text(code).unwrap_or(code));
        }
    }
    if let Some(results) = r.data("QueryResults").filter(|v| *v != "-") {
        let items: Vec<&str> = results
            .split(';')
            .map(|item| item.strip_prefix("::ffff:").unwrap_or(item))
            .collect();
        let items = match items.split_last() {
            Some((&"", rest)) => rest,
            _ => &items[..],
        };
        if !items.is_empty() {
            event.set(t::OBJECT_PROPERTY, "query results");
            event.set(t::OBJECT_VALUE, items.join(";"));
            let answers = items
                .iter()
                .map(|item| {
                    item.parse::<IpAddr>()
                        .map_or_else(|_| Value::from(*item), Value::Ip)
                })
                .collect::<Vec<_>>();
            event.set(t::DNS_ANSWERS, answers);
        }
    }
    set_process(r, event, &QUERYING_PROCESS);
}

/// Where an event's own process (`Image`, `ProcessId`, `ProcessGuid`, `User`) goes.
struct ProcessFields {
    path: PathFields,
    id: Field,
    guid: Field,
    account: AccountFields,
}

/// Sysmon 3: the connecting process is the object of the detection.
const CONNECTING_PROCESS: ProcessFields = ProcessFields {
    path: OBJECT_PROCESS,
    id: t::OBJECT_PROCESS_ID,
    guid: t::OBJECT_PROCESS_GUID,
    account: OBJECT_ACCOUNT,
};

/// Sysmon 22: the querying process is the subject.
const QUERYING_PROCESS: ProcessFields = ProcessFields {
    path: SUBJECT_PROCESS,
    id: t::SUBJECT_PROCESS_ID,
    guid: t::SUBJECT_PROCESS_GUID,
    account: SUBJECT_ACCOUNT,
};

fn set_process(r: &WinRecord, event: &mut Event, fields: &ProcessFields) {
    if let Some(image) = r.data("Image") {
        set_path(event, image, &fields.path);
    }
    if let Some(pid) = r.data("ProcessId") {
        event.set(fields.id, pid);
    }
    if let Some(guid) = r.data("ProcessGuid") {
        event.set(fields.guid, strip_braces(guid));
    }
    if let Some(user) = r.data("User") {
        set_account(event, &fields.account, user);
    }
}

/// The text of a Windows DNS API status code (winerror.h, `DNS_ERROR_*`/`DNS_INFO_*`),
/// without its final period, as the reference normalization writes it.
fn dns_status_text(code: &str) -> Option<&'static str> {
    Some(match code {
        "9001" => "DNS server unable to interpret format",
        "9002" => "DNS server failure",
        "9003" => "DNS name does not exist",
        "9004" => "DNS request not supported by name server",
        "9005" => "DNS operation refused",
        "9501" => "No records found for given DNS query",
        "9502" => "Bad DNS packet",
        "9503" => "No DNS packet",
        "9504" => "DNS error, check rcode",
        "9505" => "Unsecured DNS packet",
        "9701" => "DNS record does not exist",
        "1460" => "This operation returned because the timeout period expired",
        _ => return None,
    })
}

/// Which fields a path fills.
struct PathFields {
    fullpath: Field,
    folder: Field,
    name: Field,
}

const OBJECT_PROCESS: PathFields = PathFields {
    fullpath: t::OBJECT_PROCESS_FULLPATH,
    folder: t::OBJECT_PROCESS_PATH,
    name: t::OBJECT_PROCESS_NAME,
};
const OBJECT_PARENT: PathFields = PathFields {
    fullpath: t::OBJECT_PROCESS_PARENT_FULLPATH,
    folder: t::OBJECT_PROCESS_PARENT_PATH,
    name: t::OBJECT_PROCESS_PARENT_NAME,
};
const SUBJECT_PROCESS: PathFields = PathFields {
    fullpath: t::SUBJECT_PROCESS_FULLPATH,
    folder: t::SUBJECT_PROCESS_PATH,
    name: t::SUBJECT_PROCESS_NAME,
};

fn set_path(event: &mut Event, path: &str, fields: &PathFields) {
    let path = WinPath::new(path);
    if let Some(folder) = path.folder {
        event.set(fields.folder, folder);
    }
    event.set(fields.name, path.name);
    event.set(fields.fullpath, path.fullpath);
}

/// Which fields an account fills.
struct AccountFields {
    name: Field,
    domain: Field,
    id: Field,
    privileges: Field,
    session_id: Field,
}

const SUBJECT_ACCOUNT: AccountFields = AccountFields {
    name: t::SUBJECT_ACCOUNT_NAME,
    domain: t::SUBJECT_ACCOUNT_DOMAIN,
    id: t::SUBJECT_ACCOUNT_ID,
    privileges: t::SUBJECT_ACCOUNT_PRIVILEGES,
    session_id: t::SUBJECT_ACCOUNT_SESSION_ID,
};
const OBJECT_ACCOUNT: AccountFields = AccountFields {
    name: t::OBJECT_ACCOUNT_NAME,
    domain: t::OBJECT_ACCOUNT_DOMAIN,
    id: t::OBJECT_ACCOUNT_ID,
    privileges: t::OBJECT_ACCOUNT_PRIVILEGES,
    session_id: t::OBJECT_ACCOUNT_SESSION_ID,
};

/// `DOMAIN\name` fills name and domain (lowercase) and a synthetic id
/// `synthetic:name@domain`; anything else (a SID) is the id itself.
fn set_account(event: &mut Event, fields: &AccountFields, user: &str) {
    if user == "-" {
        return;
    }
    match user.split_once('\\') {
        Some((domain, name)) => {
            let (domain, name) = (lowercase(domain), lowercase(name));
            let mut id = String::with_capacity("synthetic:@".len() + name.len() + domain.len());
            id.push_str("synthetic:");
            id.push_str(&name);
            id.push('@');
            id.push_str(&domain);
            event.set(fields.id, id);
            event.set(fields.name, name);
            event.set(fields.domain, domain);
        }
        None => event.set(fields.id, user),
    }
}

/// `text` lowercased, without Unicode's tables when it is ASCII (account names
/// nearly always are).
fn lowercase(text: &str) -> Cow<'_, str> {
    if !text.is_ascii() {
        Cow::Owned(text.to_lowercase())
    } else if text.bytes().any(|b| b.is_ascii_uppercase()) {
        Cow::Owned(text.to_ascii_lowercase())
    } else {
        Cow::Borrowed(text)
    }
}

/// `MD5=...,SHA256=...,IMPHASH=...`
fn set_hashes(event: &mut Event, hashes: &str) {
    for pair in hashes.split(',') {
        let Some((algo, value)) = pair.split_once('=') else {
            continue;
        };
        let field = match algo.trim().to_ascii_uppercase().as_str() {
            "MD5" => t::OBJECT_PROCESS_HASH_MD5,
            "SHA1" => t::OBJECT_PROCESS_HASH_SHA1,
            "SHA256" => t::OBJECT_PROCESS_HASH_SHA256,
            "IMPHASH" => t::OBJECT_PROCESS_HASH_IMPHASH,
            _ => continue,
        };
        event.set(field, value.trim());
    }
}

fn strip_braces(guid: &str) -> &str {
    guid.trim_start_matches('{').trim_end_matches('}')
}

/// `0xb6f73bb` → `191853499`.
fn hex_to_decimal(hex: &str) -> Option<String> {
    let digits = hex.strip_prefix("0x").or_else(|| hex.strip_prefix("0X"))?;
    u64::from_str_radix(digits, 16).ok().map(|n| n.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accounts_are_lowercased_in_ascii_and_beyond() {
        for (user, name, domain) in [
            ("NT AUTHORITY\\SYSTEM", "system", "nt authority"),
            ("workstation5\\wardog", "wardog", "workstation5"),
            ("DOMÄNE\\JÜRGEN", "jürgen", "domäne"),
        ] {
            let mut event = Event::new();
            set_account(&mut event, &SUBJECT_ACCOUNT, user);
            assert_eq!(event.get_str(t::SUBJECT_ACCOUNT_NAME), Some(name));
            assert_eq!(event.get_str(t::SUBJECT_ACCOUNT_DOMAIN), Some(domain));
            let id = format!("synthetic:{name}@{domain}");
            assert_eq!(event.get_str(t::SUBJECT_ACCOUNT_ID), Some(id.as_str()));
        }
    }

    #[test]
    fn process_fields_take_a_names_first_value_and_empty_is_absent() {
        let mut record = WinRecord::default();
        record.push_data("Image", "C:\\a.exe");
        record.push_data("Image", "C:\\b.exe");
        record.push_data("User", "");
        record.push_data("User", "D\\u");
        record.push_data("Unrelated", "x");
        let d = ProcessData::of(&record);
        assert_eq!(d.get(P::Image), record.data("Image"));
        assert_eq!(d.get(P::Image), Some("C:\\a.exe"));
        assert_eq!(d.get(P::User), record.data("User"));
        assert_eq!(d.get(P::User), None);
        assert_eq!(d.get(P::Hashes), None);
    }
}
