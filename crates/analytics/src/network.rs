//! What the analytics look at: one use of the network by one client of one host.

use dozor_event::{Event, Value, taxonomy as t};

/// Reporting devices that log on behalf of other hosts: the host of their events is
/// the client address, not the device.
const INTERMEDIARIES: &[&str] = &["Proxy server", "Network sensor", "DNS server"];

/// An event read as network use: `host`'s `client` reached `destination` at `time`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkUse {
    /// The host the traffic came from: `event_src.host`, or for proxies, sensors and
    /// DNS servers the client's address.
    pub host: String,
    /// What on the host made it: the process executable (lowercase), or
    /// `agent:<User-Agent>` behind a proxy; `None` when the source does not say.
    pub client: Option<String>,
    /// Where it went: the destination name (lowercase, without a trailing dot), or its
    /// address.
    pub destination: String,
    /// Event time, ms since the epoch.
    pub time: i64,
}

impl NetworkUse {
    /// `event` as network use, if it is outgoing traffic (a connection, a DNS query by a
    /// process, a proxied request, a sensor's record) with a known host and destination.
    pub fn of(event: &Event) -> Option<Self> {
        if event.get_str(t::DIRECTION) == Some("ingress") {
            return None;
        }
        let time = event.time()?.as_millisecond();
        let intermediary = event
            .get_str(t::EVENT_SRC_CATEGORY)
            .is_some_and(|c| INTERMEDIARIES.contains(&c));
        let connection = event.get_str(t::ACTION) == Some("connect")
            || event.get_str(t::OBJECT) == Some("connection");
        let dns_query = event.get_str(t::OBJECT_TYPE) == Some("DNS")
            || event.get_str(t::MSGID) == Some("query");
        if !(connection || dns_query || intermediary) {
            return None;
        }
        let destination = destination(event, dns_query)?;
        let host = host_of(event)?;
        let client = process_path(event)
            .map(|path| path.to_lowercase())
            .or_else(|| {
                event
                    .get_str(t::HTTP_USER_AGENT)
                    .map(|agent| format!("agent:{agent}"))
            });
        Some(Self {
            host,
            client,
            destination,
            time,
        })
    }
}

/// The host an event's traffic came from (lowercase): `event_src.host`, or for proxies,
/// sensors and DNS servers the client's address.
pub(crate) fn host_of(event: &Event) -> Option<String> {
    let intermediary = event
        .get_str(t::EVENT_SRC_CATEGORY)
        .is_some_and(|c| INTERMEDIARIES.contains(&c));
    let host = if intermediary {
        text(event, &[t::SRC_HOST, t::SRC_IP])?
    } else {
        text(event, &[t::EVENT_SRC_HOST, t::SRC_IP])?
    };
    Some(host.to_lowercase())
}

fn destination(event: &Event, dns_query: bool) -> Option<String> {
    let name = if dns_query {
        event.get_str(t::OBJECT_QUERY)
    } else {
        None
    };
    let name = name.or_else(|| {
        [t::DST_FQDN, t::DST_HOST, t::DST_HOSTNAME]
            .into_iter()
            .find_map(|f| event.get_str(f))
    });
    match name {
        Some(name) if !name.is_empty() => Some(name.trim_end_matches('.').to_ascii_lowercase()),
        _ => event.get(t::DST_IP).map(Value::to_string),
    }
}

/// The executable of the process behind an event, as the source wrote its path.
pub(crate) fn process_path(event: &Event) -> Option<String> {
    text(
        event,
        &[t::SUBJECT_PROCESS_FULLPATH, t::OBJECT_PROCESS_FULLPATH],
    )
}

/// Names an event's destination `name` unless the source named it already.
pub(crate) fn name_destination(event: &mut Event, name: &str) {
    if event.get(t::DST_HOST).is_none() && event.get(t::DST_FQDN).is_none() {
        event.set(t::DST_HOST, name);
    }
}

fn text(event: &Event, fields: &[dozor_event::Field]) -> Option<String> {
    fields.iter().find_map(|f| match event.get(*f) {
        Some(Value::Str(s)) if !s.is_empty() && s != "-" => Some(s.to_string()),
        Some(Value::Ip(ip)) => Some(ip.to_string()),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use dozor_formats::{Collected, ReadContext};

    /// The events of `path` (under `crates/formats/testdata`, or `../shared` when it
    /// starts with `shared/`).
    fn events(format: &str, path: &str) -> Vec<Event> {
        let root = env!("CARGO_MANIFEST_DIR");
        let file = match path.strip_prefix("shared/") {
            Some(rest) => format!("{root}/../../../shared/{rest}"),
            None => format!("{root}/../formats/testdata/{path}"),
        };
        let bytes = std::fs::read(&file).unwrap_or_else(|e| panic!("{file}: {e}"));
        let ctx = ReadContext {
            source: path.into(),
            received: dozor_event::Timestamp::UNIX_EPOCH,
            max_record: 1 << 20,
            defer_mapping: false,
        };
        let mut sink = Collected::default();
        let format = dozor_formats::find(format).expect("format");
        format
            .read(&mut bytes.as_slice(), &ctx, &mut sink)
            .expect("read");
        sink.events
    }

    #[test]
    fn sources_read_as_network_use() {
        // Sysmon 3 (the EVTX project's real sample): the process and the destination.
        let sysmon: Vec<NetworkUse> = events("evtx", "shared/testdata/evtx/sysmon.evtx")
            .iter()
            .filter_map(NetworkUse::of)
            .collect();
        assert_eq!(sysmon.len(), 2, "{sysmon:?}");
        assert!(
            sysmon
                .iter()
                .all(|u| u.client.as_deref().is_some_and(|c| c.ends_with(".exe")))
        );
        // auditd: connect calls with an address; Unix sockets have no destination.
        let audit: Vec<NetworkUse> = events("auditd", "auditd/audit-raw.log")
            .iter()
            .filter_map(NetworkUse::of)
            .collect();
        let telegram = audit
            .iter()
            .find(|u| u.destination == "149.154.167.220")
            .expect("the connection to Telegram's network");
        assert_eq!(telegram.host, "vm");
        assert_eq!(telegram.client.as_deref(), Some("/usr/bin/python3.11"));
        assert_eq!(audit.len(), 5, "{audit:?}");
        // Squid's native log: the client address, no client program.
        let squid: Vec<NetworkUse> = events("squid", "squid/access.log")
            .iter()
            .filter_map(NetworkUse::of)
            .collect();
        assert!(
            squid
                .iter()
                .any(|u| u.destination == "api.telegram.org" && u.host == "127.0.0.1")
        );
        assert!(squid.iter().all(|u| u.client.is_none()));
    }
}
