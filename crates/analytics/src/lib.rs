//! Detect, stateful: analytics that keep per-entity memory across events and restarts,
//! for what single-event rules cannot see (MITRE ATT&CK DS0029, network traffic):
//!
//! - [`first_seen`]: per host, which clients (processes, or User-Agents behind a proxy)
//!   use the network and which destinations each reaches; after a learning period a new
//!   client or a new destination raises an alert saying what was new and how old the
//!   baseline is;
//! - [`beaconing`]: per host, client and destination, the times of contact; contacts at
//!   regular intervals (a bot polling `getUpdates`) mark the event with the interval,
//!   and raise an alert with the interval statistics when the destination is one of the
//!   watched web services (the `kind: domains` lists): software updaters and
//!   telemetry beacon too, so a regular series alone is evidence, not an incident;
//! - [`resolved`]: DNS answers for the watched services, per host; a later connection
//!   to one of those addresses is named (`dst.host`) and reported once a day per host,
//!   client and address;
//! - [`attributed`]: a network sensor's record of traffic to a watched service joined
//!   to the endpoint's record of the same connection, which names the process; a
//!   process that is not one of the service's clients is reported.
//!
//! All run on event time, not wall-clock time, so a replay or an offline hunt gives
//! the same answers as the live run. All mark the event they judge (`baseline.*`,
//! `beacon.interval`, `dst.host`, `subject.process.*`) before the rules see it, so rules can combine them
//! with anything else. Their state serializes to JSON ([`Analytics::save`], [`Analytics::restore`]),
//! which the service stores with its journal checkpoint.

pub mod attributed;
pub mod beaconing;
pub mod first_seen;
mod network;
pub mod resolved;
mod watched;

use dozor_event::Event;
use dozor_rules::{Alert, RuleRef};
use serde::{Deserialize, Serialize};

pub use network::NetworkUse;
pub use watched::Watched;

/// The lists whose entries (Sigma wildcards over an executable's path) are the watched
/// services' legitimate clients, for [`attributed`].
pub const CLIENT_LISTS: &[&str] = &["browsers", "telegram_clients"];

/// Why analytics state could not be restored.
#[derive(Debug, thiserror::Error)]
pub enum AnalyticsError {
    /// The saved state is not what this version writes.
    #[error("analytics state is unreadable: {0}")]
    State(#[from] serde_json::Error),
}

/// Settings of the analytics.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AnalyticsConfig {
    /// First seen: how long a host's baseline learns before anything new is reported, ms.
    pub learning_ms: i64,
    /// Beaconing: the fewest contacts that make a series.
    pub beacon_min_contacts: usize,
    /// Beaconing: the largest coefficient of variation (standard deviation over mean)
    /// of the intervals that still counts as regular.
    pub beacon_max_cv: f64,
    /// Beaconing: the shortest median interval considered, ms (faster is a session).
    pub beacon_min_interval_ms: i64,
    /// Beaconing: the longest median interval considered, ms.
    pub beacon_max_interval_ms: i64,
}

impl Default for AnalyticsConfig {
    fn default() -> Self {
        Self {
            learning_ms: 7 * 24 * 3600 * 1000,
            beacon_min_contacts: 10,
            beacon_max_cv: 0.2,
            beacon_min_interval_ms: 5_000,
            beacon_max_interval_ms: 6 * 3600 * 1000,
        }
    }
}

/// Every analytic, with its state.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Analytics {
    #[serde(skip)]
    config: AnalyticsConfig,
    #[serde(skip)]
    watched: Watched,
    first_seen: first_seen::FirstSeen,
    beaconing: beaconing::Beaconing,
    #[serde(default)]
    resolved: resolved::Resolved,
    #[serde(default)]
    attribution: attributed::Attribution,
    /// Whether the state changed since [`Analytics::take_changed`] last said.
    #[serde(skip)]
    changed: bool,
}

impl Analytics {
    /// Analytics with empty baselines; beacons to `watched` destinations are alerts.
    pub fn new(config: AnalyticsConfig, watched: Watched) -> Self {
        Self {
            config,
            watched,
            first_seen: first_seen::FirstSeen::default(),
            beaconing: beaconing::Beaconing::default(),
            resolved: resolved::Resolved::default(),
            attribution: attributed::Attribution::default(),
            changed: false,
        }
    }

    /// Judges `event`: marks it and appends the alerts it raises. Events that are not
    /// network use by an identifiable source are left alone.
    pub fn observe(&mut self, event: &mut Event, alerts: &mut Vec<Alert>) {
        self.changed |= self.resolved.learn(event, &self.watched);
        let Some(use_) = NetworkUse::of(event) else {
            return;
        };
        self.changed = true;
        // Every analytic marks the event first, so that each alert carries the event
        // with all the marks.
        let connection = self.resolved.connection(&use_);
        // A connection to an address answered for a watched name is attributed under
        // that name (a sensor's flow record names only the address).
        let named = connection.as_ref().map(|connection| {
            connection.mark(event);
            NetworkUse {
                destination: connection.name.clone(),
                ..use_.clone()
            }
        });
        let pair = self
            .attribution
            .observe(event, named.as_ref().unwrap_or(&use_), &self.watched);
        if let Some(pair) = &pair {
            pair.mark(event);
        }
        let finding = self.first_seen.observe(&use_, &self.config);
        if let Some(finding) = &finding {
            finding.mark(event);
        }
        let beacon = self.beaconing.observe(&use_, &self.config);
        if let Some(beacon) = &beacon {
            beacon.mark(event);
        }
        alerts.extend(connection.and_then(|c| c.alert(event)));
        alerts.extend(pair.and_then(|p| p.alert(event)));
        alerts.extend(finding.map(|f| f.alert(event)));
        if let Some(beacon) = beacon
            && let Some(list) = self.watched.list_of(&use_.destination)
        {
            alerts.extend(beacon.alert(event, list));
        }
    }

    /// Watches `watched` from now on (the lists were edited).
    pub fn set_watched(&mut self, watched: Watched) {
        self.watched = watched;
    }

    /// Whether the state changed since the last call (or since it was created or
    /// restored): a state that did not change need not be saved again.
    pub fn take_changed(&mut self) -> bool {
        std::mem::take(&mut self.changed)
    }

    /// The state as JSON, to keep across restarts.
    pub fn save(&self) -> String {
        // Maps with string keys and plain numbers always serialize.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Analytics from a state [`Analytics::save`] wrote; the settings and the watched
    /// destinations are the ones given, whatever they were when it was saved.
    pub fn restore(
        state: &str,
        config: AnalyticsConfig,
        watched: Watched,
    ) -> Result<Self, AnalyticsError> {
        let mut analytics: Self = serde_json::from_str(state)?;
        analytics.config = config;
        analytics.watched = watched;
        Ok(analytics)
    }
}

/// An analytic's verdict as an alert: its own rule reference, the event, and the
/// explanation as ordered details.
fn alert(rule: RuleRef, event: &Event, details: Vec<(String, String)>) -> Alert {
    Alert {
        rule,
        time: event.time(),
        group: Vec::new(),
        events: vec![std::sync::Arc::new(event.clone())],
        details,
    }
}

/// The rule reference of an analytic.
fn rule_ref(id: &str, title: &str, level: &str) -> RuleRef {
    RuleRef {
        id: id.to_owned(),
        title: title.to_owned(),
        level: level.to_owned(),
        tags: vec![
            "attack.command-and-control".to_owned(),
            "attack.t1102.002".to_owned(),
        ],
        techniques: vec!["T1102.002".to_owned()],
        reference_rule: None,
    }
}

/// A duration in the largest whole units that fit: `9d 2h`, `3h 5m`, `42s`.
pub fn human_duration(ms: i64) -> String {
    let s = ms.max(0) / 1000;
    let (d, h, m, sec) = (s / 86_400, s / 3600 % 24, s / 60 % 60, s % 60);
    match (d, h, m) {
        (0, 0, 0) => format!("{sec}s"),
        (0, 0, _) => format!("{m}m {sec}s"),
        (0, _, _) => format!("{h}h {m}m"),
        _ => format!("{d}d {h}h"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_network_use_changes_the_state() {
        use dozor_event::taxonomy as t;
        let mut analytics = Analytics::new(AnalyticsConfig::default(), Watched::default());
        let mut alerts = Vec::new();
        let mut logon = Event::new();
        logon.set(t::TIME, dozor_event::Timestamp::UNIX_EPOCH);
        logon.set(t::ACTION, "login");
        analytics.observe(&mut logon, &mut alerts);
        assert!(!analytics.take_changed());
        let mut tls = Event::new();
        tls.set(t::TIME, dozor_event::Timestamp::UNIX_EPOCH);
        tls.set(t::EVENT_SRC_CATEGORY, "Network sensor");
        tls.set(
            t::SRC_IP,
            "10.0.0.7".parse::<std::net::IpAddr>().expect("ip"),
        );
        tls.set(t::DST_HOST, "example.com");
        analytics.observe(&mut tls, &mut alerts);
        assert!(analytics.take_changed());
        assert!(!analytics.take_changed());
    }

    #[test]
    fn durations_read_well() {
        assert_eq!(human_duration(42_000), "42s");
        assert_eq!(human_duration(185_000), "3m 5s");
        assert_eq!(human_duration(3 * 3_600_000 + 300_000), "3h 5m");
        assert_eq!(human_duration(9 * 86_400_000 + 2 * 3_600_000), "9d 2h");
        assert_eq!(human_duration(-5), "0s");
    }
}
