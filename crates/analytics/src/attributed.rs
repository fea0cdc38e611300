//! Attribution: a network sensor's record of traffic to a watched web service (a TLS
//! server name, an HTTP host) joined to the endpoint's record of the same connection
//! (Sysmon 3, auditd `connect`: the same source address, destination address and port,
//! and source port when both records know it, at most [`WINDOW_MS`] apart), which names
//! the process that made it. The wire says where the traffic went and the endpoint who
//! sent it: ATT&CK's first network detection method for T1102.002, protocol content
//! tied to the process that produced it, for services whose addresses alone say
//! nothing (Discord or Pastebin behind a CDN).
//!
//! Whichever record comes second marks its event (the sensor's with
//! `subject.process.*`, the endpoint's with `dst.host`) so rules can use the pair, and
//! when the process is not one of the service's clients (the entries of the lists
//! [`crate::CLIENT_LISTS`]) raises a finding, once a day per host, process and
//! destination.

use std::collections::BTreeMap;

use dozor_event::{Event, Value, taxonomy as t};
use dozor_rules::Alert;
use serde::{Deserialize, Serialize};

use crate::network::{name_destination, process_path};
use crate::{NetworkUse, Watched, alert, human_duration, rule_ref};

/// The longest time between the two records of one connection, ms.
pub const WINDOW_MS: i64 = 60_000;
/// Records kept per connection key (source, destination, port).
const PER_KEY: usize = 16;
/// The most connection keys kept; when full, keys idle for [`EVICT_IDLE_MS`] make room.
const MAX_KEYS: usize = 50_000;
/// How long a connection key may stay idle before it can be evicted, ms.
const EVICT_IDLE_MS: i64 = 3600 * 1000;
/// A pair already reported is reported again after this long, ms.
const REPORT_AGAIN_MS: i64 = 24 * 3600 * 1000;

/// Rule id of the attribution finding.
pub const ATTRIBUTED_RULE: &str = "dozor-analytic-attributed-web-service";

/// The recent records of each side, by connection key.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Attribution {
    pending: BTreeMap<String, Vec<Seen>>,
    reported: BTreeMap<String, i64>,
}

/// One side's record of a connection.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Seen {
    time: i64,
    src_port: Option<u16>,
    side: Side,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
enum Side {
    /// The endpoint: the process, by its path as the source wrote it.
    Endpoint { process: String },
    /// The sensor: the watched name, its list, and the sensor.
    Wire {
        name: String,
        list: String,
        sensor: String,
    },
}

/// A connection seen on both sides.
#[derive(Debug, Clone, PartialEq)]
pub struct Attributed {
    /// The source address.
    pub host: String,
    /// The process, as the endpoint wrote its path.
    pub process: String,
    /// The watched name the traffic was for.
    pub name: String,
    /// The list that watches it.
    pub list: String,
    /// Destination address and port.
    pub address: String,
    /// The sensor that saw it.
    pub sensor: String,
    /// Time between the two records, ms.
    pub apart_ms: i64,
    /// Whether the process is one of the service's clients.
    pub client: bool,
    /// Whether this pair is reported (a non-client, first time in a day).
    pub report: bool,
}

impl Attribution {
    /// Records `event` (network use `use_`) as one side of a connection; if the other
    /// side is known, the pair.
    pub fn observe(
        &mut self,
        event: &Event,
        use_: &NetworkUse,
        watched: &Watched,
    ) -> Option<Attributed> {
        let (Some(Value::Ip(src)), Some(Value::Ip(dst)), Some(Value::Int(port))) = (
            event.get(t::SRC_IP),
            event.get(t::DST_IP),
            event.get(t::DST_PORT),
        ) else {
            return None;
        };
        let src_port = match event.get(t::SRC_PORT) {
            Some(Value::Int(p)) => u16::try_from(*p).ok(),
            _ => None,
        };
        let side = if event.get_str(t::EVENT_SRC_CATEGORY) == Some("Network sensor") {
            let list = watched.list_of(&use_.destination)?;
            Side::Wire {
                name: use_.destination.clone(),
                list: list.to_owned(),
                sensor: event
                    .get_str(t::EVENT_SRC_TITLE)
                    .unwrap_or("sensor")
                    .to_owned(),
            }
        } else {
            Side::Endpoint {
                process: process_path(event)?,
            }
        };
        let key = format!("{src}\u{1f}{dst}\u{1f}{port}");
        let seen = Seen {
            time: use_.time,
            src_port,
            side,
        };
        let pair = self.pair(&key, &seen);
        self.remember(key, seen);
        let (wire, endpoint, apart_ms) = pair?;
        let (Side::Wire { name, list, sensor }, Side::Endpoint { process }) = (wire, endpoint)
        else {
            return None;
        };
        let client = watched.is_client(&process);
        let mut report = false;
        if !client {
            let key = format!("{src}\u{1f}{}\u{1f}{name}", process.to_lowercase());
            report = self
                .reported
                .get(&key)
                .is_none_or(|at| use_.time - at >= REPORT_AGAIN_MS);
            if report {
                self.reported.insert(key, use_.time);
            }
        }
        Some(Attributed {
            host: src.to_string(),
            process,
            name,
            list,
            address: format!("{dst}:{port}"),
            sensor,
            apart_ms,
            client,
            report,
        })
    }

    /// The other side's nearest record of the connection `seen` is one side of: (wire,
    /// endpoint, ms apart).
    fn pair(&self, key: &str, seen: &Seen) -> Option<(Side, Side, i64)> {
        let nearest = self
            .pending
            .get(key)?
            .iter()
            .filter(|other| {
                matches!(
                    (&seen.side, &other.side),
                    (Side::Wire { .. }, Side::Endpoint { .. })
                        | (Side::Endpoint { .. }, Side::Wire { .. })
                )
            })
            .filter(|other| match (seen.src_port, other.src_port) {
                (Some(a), Some(b)) => a == b,
                _ => true,
            })
            .map(|other| (other, (seen.time - other.time).abs()))
            .filter(|(_, apart)| *apart <= WINDOW_MS)
            .min_by_key(|(_, apart)| *apart)?;
        let (other, apart) = nearest;
        Some(match seen.side {
            Side::Wire { .. } => (seen.side.clone(), other.side.clone(), apart),
            Side::Endpoint { .. } => (other.side.clone(), seen.side.clone(), apart),
        })
    }

    /// Keeps `seen` under `key` with the records of the key that are within the join
    /// window of it; when the keys are many, keys idle for an hour make room.
    fn remember(&mut self, key: String, seen: Seen) {
        if !self.pending.contains_key(&key) && self.pending.len() >= MAX_KEYS {
            let now = seen.time;
            self.pending
                .retain(|_, list| list.iter().any(|s| now - s.time < EVICT_IDLE_MS));
            self.reported.retain(|_, at| now - *at < REPORT_AGAIN_MS);
            if self.pending.len() >= MAX_KEYS {
                return;
            }
        }
        let list = self.pending.entry(key).or_default();
        list.retain(|s| (seen.time - s.time).abs() <= WINDOW_MS);
        if list.len() >= PER_KEY {
            list.remove(0);
        }
        list.push(seen);
    }
}

impl Attributed {
    /// Completes the event with what the other side knew: the sensor's record gets the
    /// process, the endpoint's the destination's name.
    pub fn mark(&self, event: &mut Event) {
        if event.get_str(t::EVENT_SRC_CATEGORY) == Some("Network sensor") {
            event.set(t::SUBJECT_PROCESS_FULLPATH, self.process.as_str());
            let name = self.process.rsplit(['\\', '/']).next().unwrap_or_default();
            event.set(t::SUBJECT_PROCESS_NAME, name);
        } else {
            name_destination(event, &self.name);
        }
    }

    /// The alert, when this pair is reported.
    pub fn alert(&self, event: &Event) -> Option<Alert> {
        if !self.report {
            return None;
        }
        let rule = rule_ref(
            ATTRIBUTED_RULE,
            "Process other than the service's client reaches an abused web service, seen on the wire",
            "high",
        );
        let details = vec![
            ("analytic".to_owned(), "process attribution".to_owned()),
            ("host".to_owned(), self.host.clone()),
            ("process".to_owned(), self.process.clone()),
            ("destination".to_owned(), self.name.clone()),
            ("watched list".to_owned(), self.list.clone()),
            ("address".to_owned(), self.address.clone()),
            ("seen by".to_owned(), self.sensor.clone()),
            ("records apart".to_owned(), human_duration(self.apart_ms)),
        ];
        Some(alert(rule, event, details))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Analytics, AnalyticsConfig};
    use dozor_event::Timestamp;
    use std::net::IpAddr;

    const BOT: &str = r"C:\Users\alice\AppData\Local\Temp\upd.exe";

    /// A Sysmon 3 event as the Windows normalizer leaves it.
    fn endpoint(second: i64, src_port: u16, image: &str) -> Event {
        let mut e = Event::new();
        e.set(t::TIME, time(second));
        e.set(t::EVENT_SRC_TITLE, "sysmon");
        e.set(t::EVENT_SRC_CATEGORY, "Other");
        e.set(t::EVENT_SRC_HOST, "ws1.corp.example");
        e.set(t::OBJECT, "connection");
        e.set(t::DIRECTION, "egress");
        e.set(t::SUBJECT_PROCESS_FULLPATH, image);
        tuple(&mut e, src_port);
        e
    }

    /// A Suricata tls event as the EVE mapping leaves it.
    fn wire(second: i64, src_port: u16, sni: &str) -> Event {
        let mut e = Event::new();
        e.set(t::TIME, time(second));
        e.set(t::EVENT_SRC_TITLE, "suricata");
        e.set(t::EVENT_SRC_CATEGORY, "Network sensor");
        e.set(t::ACTION, "connect");
        e.set(t::DST_HOST, sni);
        tuple(&mut e, src_port);
        e
    }

    fn tuple(e: &mut Event, src_port: u16) {
        e.set(t::SRC_IP, "10.0.0.7".parse::<IpAddr>().expect("ip"));
        e.set(t::SRC_PORT, src_port);
        e.set(t::DST_IP, "162.159.135.232".parse::<IpAddr>().expect("ip"));
        e.set(t::DST_PORT, 443u16);
    }

    fn time(second: i64) -> Timestamp {
        Timestamp::from_second(1_795_000_000 + second).expect("time")
    }

    fn run(events: Vec<Event>) -> (Vec<Event>, Vec<Alert>) {
        let domains = vec!["discord.com".to_owned()];
        let clients = [r"*\chrome.exe".to_owned()];
        let watched = Watched::from_lists([("c2_web_services", domains.as_slice())])
            .with_clients(clients.iter().map(String::as_str));
        let mut analytics = Analytics::new(AnalyticsConfig::default(), watched);
        let mut alerts = Vec::new();
        let mut out = Vec::new();
        for mut event in events {
            analytics.observe(&mut event, &mut alerts);
            out.push(event);
        }
        let alerts = alerts
            .into_iter()
            .filter(|a| a.rule.id == ATTRIBUTED_RULE)
            .collect();
        (out, alerts)
    }

    fn detail<'a>(alert: &'a Alert, name: &str) -> Option<&'a str> {
        alert
            .details
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    #[test]
    fn the_wire_record_gets_the_process_and_a_non_client_is_reported() {
        let (events, alerts) = run(vec![
            endpoint(0, 50_001, BOT),
            wire(1, 50_001, "discord.com"),
            // The same pair again the same day: marked, not reported again.
            endpoint(300, 50_002, BOT),
            wire(300, 50_002, "discord.com"),
        ]);
        assert_eq!(
            events[1].get_str(t::SUBJECT_PROCESS_FULLPATH),
            Some(BOT),
            "{:?}",
            events[1]
        );
        assert_eq!(events[1].get_str(t::SUBJECT_PROCESS_NAME), Some("upd.exe"));
        assert_eq!(events[3].get_str(t::SUBJECT_PROCESS_NAME), Some("upd.exe"));
        assert_eq!(alerts.len(), 1);
        let a = &alerts[0];
        assert_eq!(detail(a, "process"), Some(BOT));
        assert_eq!(detail(a, "destination"), Some("discord.com"));
        assert_eq!(detail(a, "address"), Some("162.159.135.232:443"));
        assert_eq!(detail(a, "seen by"), Some("suricata"));
        assert_eq!(detail(a, "records apart"), Some("1s"));
    }

    #[test]
    fn either_order_joins() {
        let (events, alerts) = run(vec![
            wire(0, 50_001, "discord.com"),
            endpoint(2, 50_001, BOT),
        ]);
        assert_eq!(events[1].get_str(t::DST_HOST), Some("discord.com"));
        assert_eq!(alerts.len(), 1);
    }

    #[test]
    fn clients_other_connections_and_unwatched_names_are_not_reported() {
        let (events, alerts) = run(vec![
            // A browser: attributed, not reported.
            endpoint(
                0,
                50_001,
                r"C:\Program Files\Google\Chrome\Application\chrome.exe",
            ),
            wire(1, 50_001, "discord.com"),
            // Another source port: another connection.
            endpoint(10, 50_002, BOT),
            wire(11, 50_003, "discord.com"),
            // Too far apart.
            endpoint(100, 50_004, BOT),
            wire(100 + WINDOW_MS / 1000 + 1, 50_004, "discord.com"),
            // Not a watched name.
            endpoint(500, 50_005, BOT),
            wire(500, 50_005, "www.example.com"),
        ]);
        assert!(alerts.is_empty(), "{alerts:?}");
        assert_eq!(
            events[1].get_str(t::SUBJECT_PROCESS_NAME),
            Some("chrome.exe")
        );
        assert!(
            events[3..]
                .iter()
                .all(|e| e.get(t::SUBJECT_PROCESS_NAME).is_none()
                    || e.get_str(t::EVENT_SRC_TITLE) == Some("sysmon"))
        );
    }

    #[test]
    fn a_busy_connection_key_keeps_only_the_join_window() {
        let watched = Watched::default();
        let mut attribution = Attribution::default();
        for i in 0..100 {
            let event = endpoint(i * 10, 50_000 + u16::try_from(i).expect("small"), BOT);
            let use_ = NetworkUse::of(&event).expect("network use");
            attribution.observe(&event, &use_, &watched);
        }
        let kept: usize = attribution.pending.values().map(Vec::len).sum();
        // Records 10 s apart: the last and the six before it are within 60 s.
        assert_eq!(kept, 7);
    }
}
