//! First seen: per host, the clients that use the network and the destinations each
//! reaches. A host's baseline learns for [`AnalyticsConfig::learning_ms`] from its first
//! network use; after that, a client never seen on the network before, or a
//! destination the client never reached before, is reported once, with what was new
//! and how old the baseline is. New entries join the baseline as they are reported,
//! so the same novelty is not reported twice.

use std::collections::BTreeMap;

use dozor_event::{Event, taxonomy as t};
use dozor_rules::Alert;
use serde::{Deserialize, Serialize};

use crate::{AnalyticsConfig, NetworkUse, alert, human_duration, rule_ref};

/// The most destinations remembered per client; beyond it, new destinations of that
/// client are neither remembered nor reported (counted in `saturated`).
const MAX_DESTINATIONS: usize = 4096;

/// Rule id of the "first network use" finding.
pub const NEW_CLIENT_RULE: &str = "dozor-analytic-first-seen-client";
/// Rule id of the "new destination" finding.
pub const NEW_DESTINATION_RULE: &str = "dozor-analytic-first-seen-destination";

/// The baselines of every host.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct FirstSeen {
    hosts: BTreeMap<String, HostBaseline>,
    /// Destinations not remembered because their client's list was full.
    saturated: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct HostBaseline {
    /// When the host was first seen using the network, ms.
    since: i64,
    clients: BTreeMap<String, ClientBaseline>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct ClientBaseline {
    since: i64,
    /// Destination -> when first reached, ms.
    destinations: BTreeMap<String, i64>,
}

/// Something new after the learning period.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    /// What was new.
    pub kind: Novelty,
    /// The host.
    pub host: String,
    /// The client.
    pub client: String,
    /// The destination.
    pub destination: String,
    /// How long the host's baseline had been learning, ms.
    pub baseline_age_ms: i64,
    /// How many destinations the client had reached before (0 for a new client).
    pub known_destinations: usize,
    /// How many clients the host had used the network with before.
    pub known_clients: usize,
}

/// What a [`Finding`] found new.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Novelty {
    /// A client that had never used the network on this host.
    Client,
    /// A destination the client had never reached.
    Destination,
}

impl FirstSeen {
    /// Records `use_` and returns what it had that was new after the learning period.
    pub fn observe(&mut self, use_: &NetworkUse, config: &AnalyticsConfig) -> Option<Finding> {
        let client = use_.client.as_deref()?;
        let host = self
            .hosts
            .entry(use_.host.clone())
            .or_insert_with(|| HostBaseline {
                since: use_.time,
                clients: BTreeMap::new(),
            });
        // A record older than the baseline (logs arriving late) moves its start back.
        host.since = host.since.min(use_.time);
        let learned = use_.time - host.since >= config.learning_ms;
        let known_clients = host.clients.len();
        let (kind, known_destinations) = match host.clients.get_mut(client) {
            None => {
                let mut destinations = BTreeMap::new();
                destinations.insert(use_.destination.clone(), use_.time);
                host.clients.insert(
                    client.to_owned(),
                    ClientBaseline {
                        since: use_.time,
                        destinations,
                    },
                );
                (Novelty::Client, 0)
            }
            Some(baseline) => {
                baseline.since = baseline.since.min(use_.time);
                if let Some(first) = baseline.destinations.get_mut(&use_.destination) {
                    *first = (*first).min(use_.time);
                    return None;
                }
                if baseline.destinations.len() >= MAX_DESTINATIONS {
                    self.saturated += 1;
                    return None;
                }
                let known = baseline.destinations.len();
                baseline
                    .destinations
                    .insert(use_.destination.clone(), use_.time);
                (Novelty::Destination, known)
            }
        };
        learned.then(|| Finding {
            kind,
            host: use_.host.clone(),
            client: client.to_owned(),
            destination: use_.destination.clone(),
            baseline_age_ms: use_.time - host.since,
            known_destinations,
            known_clients,
        })
    }
}

impl Finding {
    /// Marks the event for rules.
    pub fn mark(&self, event: &mut Event) {
        match self.kind {
            Novelty::Client => event.set(t::BASELINE_NEW_CLIENT, true),
            Novelty::Destination => event.set(t::BASELINE_NEW_DESTINATION, true),
        }
    }

    /// The alert, with its explanation.
    pub fn alert(&self, event: &Event) -> Alert {
        let rule = match self.kind {
            Novelty::Client => rule_ref(
                NEW_CLIENT_RULE,
                "Process uses the network for the first time on this host",
                "medium",
            ),
            Novelty::Destination => rule_ref(
                NEW_DESTINATION_RULE,
                "Process reaches a destination it never used before",
                "low",
            ),
        };
        let what = match self.kind {
            Novelty::Client => "first network use of this client on this host",
            Novelty::Destination => "first contact of this client with this destination",
        };
        let details = vec![
            ("analytic".to_owned(), "first seen".to_owned()),
            ("new".to_owned(), what.to_owned()),
            ("host".to_owned(), self.host.clone()),
            ("client".to_owned(), self.client.clone()),
            ("destination".to_owned(), self.destination.clone()),
            (
                "baseline age".to_owned(),
                human_duration(self.baseline_age_ms),
            ),
            (
                "destinations known for the client".to_owned(),
                self.known_destinations.to_string(),
            ),
            (
                "network clients known on the host".to_owned(),
                self.known_clients.to_string(),
            ),
        ];
        alert(rule, event, details)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 86_400_000;

    fn net(client: &str, destination: &str, day: f64) -> NetworkUse {
        NetworkUse {
            host: "ws1".into(),
            client: Some(client.into()),
            destination: destination.into(),
            time: (day * DAY as f64) as i64,
        }
    }

    #[test]
    fn learns_then_reports_each_novelty_once() {
        let config = AnalyticsConfig::default();
        let mut seen = FirstSeen::default();
        let chrome = r"c:\program files\google\chrome\application\chrome.exe";
        // Learning: a week of ordinary use, nothing reported.
        for (day, dest) in [
            (0.0, "www.example.com"),
            (3.0, "api.telegram.org"),
            (6.9, "mail.example.com"),
        ] {
            assert_eq!(seen.observe(&net(chrome, dest, day), &config), None);
        }
        // Known client, known destination: nothing.
        assert_eq!(
            seen.observe(&net(chrome, "api.telegram.org", 8.0), &config),
            None
        );
        // Known client, new destination.
        let f = seen
            .observe(&net(chrome, "pastebin.com", 8.0), &config)
            .expect("new destination");
        assert_eq!(
            (f.kind, f.known_destinations, f.baseline_age_ms),
            (Novelty::Destination, 3, 8 * DAY)
        );
        assert_eq!(
            seen.observe(&net(chrome, "pastebin.com", 8.5), &config),
            None
        );
        // New client.
        let f = seen
            .observe(
                &net(
                    r"c:\users\bob\appdata\local\temp\upd.exe",
                    "api.telegram.org",
                    9.0,
                ),
                &config,
            )
            .expect("new client");
        assert_eq!((f.kind, f.known_clients), (Novelty::Client, 1));
        // Without a client (a DNS server's log), nothing is judged.
        let mut anonymous = net(chrome, "x.example", 9.0);
        anonymous.client = None;
        assert_eq!(seen.observe(&anonymous, &config), None);
    }

    #[test]
    fn every_host_learns_on_its_own() {
        let config = AnalyticsConfig::default();
        let mut seen = FirstSeen::default();
        assert_eq!(seen.observe(&net("a.exe", "x.example", 0.0), &config), None);
        let mut other = net("b.exe", "y.example", 10.0);
        other.host = "ws2".into();
        assert_eq!(
            seen.observe(&other, &config),
            None,
            "ws2 has just started learning"
        );
        assert!(
            seen.observe(&net("b.exe", "y.example", 10.0), &config)
                .is_some()
        );
    }
}
