//! Beaconing: per host, client (when the source names it) and destination, the times
//! of contact; a browser's visits do not blur the series of a bot on the same host. Malware that polls its
//! command channel (a bot calling `getUpdates` every N seconds, with some jitter)
//! contacts one destination at regular intervals; people do not.
//!
//! A series keeps the last [`WINDOW`] contacts (contacts less than [`BURST_MS`] apart
//! are one: a poll may open several connections). When it holds at least
//! [`AnalyticsConfig::beacon_min_contacts`] contacts, the intervals between them are
//! judged: their median must lie within the configured bounds and their coefficient of
//! variation (standard deviation over mean) must not exceed
//! [`AnalyticsConfig::beacon_max_cv`]. The statistic is reported as it was computed:
//! contacts, median, mean and standard deviation of the intervals, jitter, span.

use std::collections::{BTreeMap, VecDeque};

use dozor_event::{Event, taxonomy as t};
use dozor_rules::Alert;
use serde::{Deserialize, Serialize};

use crate::{AnalyticsConfig, NetworkUse, alert, human_duration, rule_ref};

/// Contacts kept per series.
pub const WINDOW: usize = 32;
/// Contacts closer than this are one contact, ms.
pub const BURST_MS: i64 = 1_000;
/// A series that is still regular is reported again after this long, ms.
const REPORT_AGAIN_MS: i64 = 24 * 3600 * 1000;
/// The most series kept; when full, series idle for a day make room.
const MAX_SERIES: usize = 200_000;

/// Rule id of the beaconing finding.
pub const BEACON_RULE: &str = "dozor-analytic-beaconing";

/// Every series.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Beaconing {
    series: BTreeMap<String, Series>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Series {
    contacts: VecDeque<i64>,
    /// When it was last reported, ms.
    reported: Option<i64>,
}

/// The interval statistics of a regular series.
#[derive(Debug, Clone, PartialEq)]
pub struct Beacon {
    /// The host.
    pub host: String,
    /// The destination.
    pub destination: String,
    /// The client, when the source names it.
    pub client: Option<String>,
    /// Contacts judged.
    pub contacts: usize,
    /// Median interval, ms.
    pub median_ms: i64,
    /// Mean interval, ms.
    pub mean_ms: f64,
    /// Standard deviation of the intervals, ms.
    pub stddev_ms: f64,
    /// Standard deviation over mean.
    pub cv: f64,
    /// Largest distance of an interval from the median, as a share of the median.
    pub jitter: f64,
    /// From the first to the last contact judged, ms.
    pub span_ms: i64,
    /// Whether this contact is reported (the first regular one, or a day after the
    /// last report).
    pub report: bool,
}

impl Beaconing {
    /// Records `use_`; if its series is regular now, its statistics.
    pub fn observe(&mut self, use_: &NetworkUse, config: &AnalyticsConfig) -> Option<Beacon> {
        let client = use_.client.as_deref().unwrap_or_default();
        let key = format!("{}\u{1f}{client}\u{1f}{}", use_.host, use_.destination);
        if !self.series.contains_key(&key) && self.series.len() >= MAX_SERIES {
            let idle = use_.time - REPORT_AGAIN_MS;
            self.series
                .retain(|_, s| s.contacts.back().is_some_and(|&last| last >= idle));
            if self.series.len() >= MAX_SERIES {
                return None;
            }
        }
        let series = self.series.entry(key).or_default();
        if !series.add(use_.time) {
            return None;
        }
        let mut beacon = judge(&series.contacts, config)?;
        beacon.report = series
            .reported
            .is_none_or(|at| use_.time - at >= REPORT_AGAIN_MS);
        if beacon.report {
            series.reported = Some(use_.time);
        }
        beacon.host = use_.host.clone();
        beacon.destination = use_.destination.clone();
        beacon.client = use_.client.clone();
        Some(beacon)
    }
}

impl Series {
    /// Adds a contact at `time`; false when it belongs to the burst of a known one.
    fn add(&mut self, time: i64) -> bool {
        let at = self.contacts.partition_point(|&c| c <= time);
        let near = |i: usize| {
            self.contacts
                .get(i)
                .is_some_and(|&c| (c - time).abs() < BURST_MS)
        };
        if (at > 0 && near(at - 1)) || near(at) {
            return false;
        }
        self.contacts.insert(at, time);
        // Judged only when the newest contact arrives; a late one only fills in.
        let newest = at + 1 == self.contacts.len();
        if self.contacts.len() > WINDOW {
            self.contacts.pop_front();
        }
        newest
    }
}

/// The statistics of `contacts` if they are regular enough.
fn judge(contacts: &VecDeque<i64>, config: &AnalyticsConfig) -> Option<Beacon> {
    if contacts.len() < config.beacon_min_contacts.max(3) {
        return None;
    }
    let mut intervals: Vec<i64> = contacts
        .iter()
        .zip(contacts.iter().skip(1))
        .map(|(a, b)| b - a)
        .collect();
    let n = intervals.len() as f64;
    let mean = intervals.iter().sum::<i64>() as f64 / n;
    let variance = intervals
        .iter()
        .map(|&i| (i as f64 - mean).powi(2))
        .sum::<f64>()
        / n;
    let stddev = variance.sqrt();
    intervals.sort_unstable();
    let median = intervals[intervals.len() / 2];
    if median < config.beacon_min_interval_ms || median > config.beacon_max_interval_ms {
        return None;
    }
    let cv = stddev / mean;
    if cv > config.beacon_max_cv {
        return None;
    }
    let jitter = intervals
        .iter()
        .map(|&i| (i - median).abs())
        .max()
        .unwrap_or(0) as f64
        / median as f64;
    Some(Beacon {
        host: String::new(),
        destination: String::new(),
        client: None,
        contacts: contacts.len(),
        median_ms: median,
        mean_ms: mean,
        stddev_ms: stddev,
        cv,
        jitter,
        span_ms: contacts.back().copied().unwrap_or(0) - contacts.front().copied().unwrap_or(0),
        report: false,
    })
}

impl Beacon {
    /// Marks the event for rules.
    pub fn mark(&self, event: &mut Event) {
        event.set(t::BEACON_INTERVAL, self.median_ms);
    }

    /// The alert, when this contact is reported; `list` is the watched list that names
    /// the destination.
    pub fn alert(&self, event: &Event, list: &str) -> Option<Alert> {
        if !self.report {
            return None;
        }
        let rule = rule_ref(
            BEACON_RULE,
            "Host polls an abused web service at regular intervals (beaconing)",
            "medium",
        );
        let mut details = vec![
            ("analytic".to_owned(), "beaconing".to_owned()),
            ("host".to_owned(), self.host.clone()),
            ("destination".to_owned(), self.destination.clone()),
            ("watched list".to_owned(), list.to_owned()),
        ];
        if let Some(client) = &self.client {
            details.push(("client".to_owned(), client.clone()));
        }
        details.extend([
            ("contacts".to_owned(), self.contacts.to_string()),
            (
                "median interval".to_owned(),
                format!("{:.1}s", self.median_ms as f64 / 1000.0),
            ),
            (
                "mean interval".to_owned(),
                format!("{:.1}s", self.mean_ms / 1000.0),
            ),
            (
                "standard deviation".to_owned(),
                format!("{:.1}s", self.stddev_ms / 1000.0),
            ),
            (
                "coefficient of variation".to_owned(),
                format!("{:.3}", self.cv),
            ),
            ("jitter".to_owned(), format!("{:.0}%", self.jitter * 100.0)),
            ("span".to_owned(), human_duration(self.span_ms)),
        ]);
        Some(alert(rule, event, details))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contact(destination: &str, time: i64) -> NetworkUse {
        NetworkUse {
            host: "10.0.0.5".into(),
            client: None,
            destination: destination.into(),
            time,
        }
    }

    /// Runs a series of contact times; returns the indexes that were reported.
    fn reported(times: &[i64]) -> Vec<usize> {
        let config = AnalyticsConfig::default();
        let mut beacons = Beaconing::default();
        times
            .iter()
            .enumerate()
            .filter_map(|(i, &t)| {
                beacons
                    .observe(&contact("api.telegram.org", t), &config)
                    .filter(|b| b.report)
                    .map(|_| i)
            })
            .collect()
    }

    /// A deterministic jitter in [-1, 1] (no random crate needed for a fixed series).
    fn wobble(i: i64) -> f64 {
        ((i * 7919 % 200) as f64 - 100.0) / 100.0
    }

    #[test]
    fn a_regular_poll_with_jitter_is_reported_once_a_day() {
        // 60 s polls with ±10% jitter for two days.
        let times: Vec<i64> = (0..2 * 1440)
            .map(|i| i * 60_000 + (wobble(i) * 6_000.0) as i64)
            .collect();
        let at = reported(&times);
        assert_eq!(at.len(), 2, "{at:?}");
        assert_eq!(at[0], 9, "reported at the tenth contact");
        assert!(times[at[1]] - times[at[0]] >= REPORT_AGAIN_MS);
    }

    #[test]
    fn statistics_of_an_exact_series() {
        let config = AnalyticsConfig::default();
        let mut beacons = Beaconing::default();
        let mut last = None;
        for i in 0..12 {
            last = beacons.observe(&contact("x.example", i * 30_000), &config);
        }
        let b = last.expect("regular");
        assert_eq!((b.contacts, b.median_ms, b.span_ms), (12, 30_000, 330_000));
        assert!(b.cv.abs() < 1e-9 && b.jitter.abs() < 1e-9);
    }

    #[test]
    fn irregular_or_too_fast_or_too_few_is_not() {
        // A person browsing: intervals spread from seconds to an hour.
        let mut t = 0;
        let human: Vec<i64> = (0..40)
            .map(|i| {
                t += [7_000, 45_000, 3_600_000, 12_000, 600_000][i % 5];
                t
            })
            .collect();
        assert!(reported(&human).is_empty());
        // A download: many connections two seconds apart.
        let fast: Vec<i64> = (0..50).map(|i| i * 2_000).collect();
        assert!(reported(&fast).is_empty());
        // Nine regular contacts: too few to judge.
        let few: Vec<i64> = (0..9).map(|i| i * 60_000).collect();
        assert!(reported(&few).is_empty());
        // 50% jitter on 60 s.
        let noisy: Vec<i64> = (0..100)
            .map(|i| i * 60_000 + (wobble(i) * 30_000.0) as i64)
            .collect();
        assert!(reported(&noisy).is_empty());
    }

    #[test]
    fn bursts_count_once_and_late_contacts_fill_in() {
        // Each poll opens three connections within 300 ms.
        let mut times = Vec::new();
        for i in 0..10 {
            for k in 0..3 {
                times.push(i * 60_000 + k * 100);
            }
        }
        assert_eq!(reported(&times), [27]);
        let mut series = Series::default();
        assert!(series.add(10_000));
        assert!(series.add(30_000));
        assert!(!series.add(20_000), "a late contact is not judged");
        assert_eq!(series.contacts, [10_000, 20_000, 30_000]);
        for i in 4..=40 {
            assert!(series.add(i * 10_000), "contact {i} is the newest");
        }
        assert_eq!(series.contacts.len(), WINDOW);
    }
}
