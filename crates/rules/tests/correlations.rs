//! Correlation semantics, type by type, on event time: out-of-order events, chaining,
//! `generate`, and the state cap.

mod common;

use dozor_event::{Event, Timestamp, taxonomy as t};
use dozor_rules::{Alert, RuleSet, RuleSetOptions};

const BASE: &str = r#"
title: login failure
id: login-failure
name: login_failure
logsource: {product: teamcity}
detection:
  selection: {action: login, status: failure}
  condition: selection
---
title: login success
id: login-success
name: login_success
logsource: {product: teamcity}
detection:
  selection: {action: login, status: success}
  condition: selection
---
title: transfer
id: transfer
name: transfer
logsource: {product: teamcity}
detection:
  selection: {action: transfer}
  condition: selection
"#;

fn rules(correlations: &str, max_entries: usize) -> RuleSet {
    let text = if correlations.is_empty() {
        BASE.to_owned()
    } else {
        format!("{BASE}---\n{correlations}")
    };
    common::load_rules(
        &text,
        RuleSetOptions {
            max_correlation_entries: max_entries,
            ..RuleSetOptions::default()
        },
    )
}

/// An event (of a product the rules' logsource selects) at `second` past a fixed minute.
fn event(second: i64, action: &str, status: &str, user: &str, amount: i64) -> Event {
    let mut e = Event::new();
    let base: Timestamp = "2026-01-01T10:00:00Z".parse().expect("time");
    e.set(
        t::TIME,
        base.checked_add(jiff::SignedDuration::from_secs(second))
            .expect("time"),
    );
    e.set(t::EVENT_SRC_TITLE, "teamcity");
    e.set(t::ACTION, action);
    e.set(t::STATUS, status);
    e.set(t::SUBJECT_ACCOUNT_NAME, user);
    e.set(t::EVENT_SRC_HOST, "host1");
    e.set_raw("amount", amount);
    e
}

fn run(set: &mut RuleSet, events: &[Event]) -> Vec<Alert> {
    let mut alerts = Vec::new();
    for e in events {
        set.evaluate(e, &mut alerts);
    }
    alerts
}

/// The account of each alert's first event.
fn users(alerts: &[Alert]) -> Vec<&str> {
    alerts
        .iter()
        .map(|a| {
            a.events[0]
                .get_str(t::SUBJECT_ACCOUNT_NAME)
                .unwrap_or_default()
        })
        .collect()
}

fn ids(alerts: &[Alert]) -> Vec<&str> {
    alerts.iter().map(|a| a.rule.id.as_str()).collect()
}

#[test]
fn the_test_events_have_the_rules_logsource() {
    let set = rules("", 100);
    assert_eq!(
        set.logsource_of(&event(0, "login", "failure", "a", 0))
            .product
            .as_deref(),
        Some("teamcity")
    );
}

#[test]
fn each_event_is_routed_by_its_own_logsource() {
    // The detector remembers the routing of the previous event's logsource: an event
    // of another source in between must not be evaluated under it.
    let mut set = rules("", 100);
    let mut other = event(1, "login", "failure", "b", 0);
    other.set(t::EVENT_SRC_TITLE, "sysmon");
    let events = [
        event(0, "login", "failure", "a", 0),
        other.clone(),
        other,
        event(2, "login", "failure", "c", 0),
    ];
    let alerts = run(&mut set, &events);
    assert_eq!(ids(&alerts), ["login-failure", "login-failure"]);
    assert_eq!(users(&alerts), ["a", "c"]);
}

#[test]
fn routes_stay_right_when_many_sources_interleave() {
    // More sources than the detector remembers routes for, coming back in turn: each
    // event is still evaluated under its own logsource, whether its route was
    // remembered, evicted or never seen.
    let mut set = rules("", 100);
    let mut events = Vec::new();
    for round in 0..3 {
        for source in 0..40 {
            let mut other = event(round, "login", "failure", "other", 0);
            other.set(
                t::EVENT_SRC_TITLE,
                format!("source{}", source % (10 + round * 15)),
            );
            events.push(other);
            if source % 7 == 0 {
                events.push(event(round, "login", "failure", "mine", 0));
            }
        }
    }
    let alerts = run(&mut set, &events);
    assert_eq!(users(&alerts), vec!["mine"; 18]);
}

#[test]
fn event_count_fires_once_per_window_and_group() {
    let mut set = rules(
        "title: brute force\nid: brute\ncorrelation:\n  type: event_count\n  rules: [login_failure]\n  group-by: [subject.account.name]\n  timespan: 1m\n  condition: {gte: 3}\n",
        1000,
    );
    let events = [
        event(0, "login", "failure", "alice", 0),
        event(10, "login", "failure", "bob", 0),
        event(20, "login", "failure", "alice", 0),
        event(100, "login", "failure", "alice", 0), // outside alice's first window
        event(110, "login", "failure", "alice", 0),
        event(115, "login", "failure", "alice", 0),
    ];
    let alerts = run(&mut set, &events);
    assert_eq!(ids(&alerts), ["brute"]);
    assert_eq!(
        alerts[0].group,
        [("subject.account.name".to_owned(), "alice".to_owned())]
    );
    assert_eq!(alerts[0].events.len(), 3);
    assert_eq!(
        alerts[0].time.map(|t| t.to_string()).as_deref(),
        Some("2026-01-01T10:01:55Z")
    );
}

#[test]
fn base_rules_stay_silent_unless_generate() {
    let rule = |generate: bool| {
        format!(
            "title: c\nid: c\ncorrelation:\n  type: event_count\n  rules: [login_failure]\n  group-by: [subject.account.name]\n  timespan: 1m\n  generate: {generate}\n  condition: {{gte: 2}}\n"
        )
    };
    let events = [
        event(0, "login", "failure", "a", 0),
        event(1, "login", "failure", "a", 0),
    ];
    assert_eq!(ids(&run(&mut rules(&rule(false), 100), &events)), ["c"]);
    assert_eq!(
        ids(&run(&mut rules(&rule(true), 100), &events)),
        ["login-failure", "login-failure", "c"]
    );
    // A rule nobody references fires by itself.
    assert_eq!(
        ids(&run(&mut rules("", 100), &events)),
        ["login-failure", "login-failure"]
    );
}

#[test]
fn value_count_counts_distinct_values() {
    let mut set = rules(
        "title: spray\nid: spray\ncorrelation:\n  type: value_count\n  rules: [login_failure]\n  group-by: [event_src.host]\n  timespan: 5m\n  condition: {gte: 3, field: subject.account.name}\n",
        1000,
    );
    let same_user = [
        event(0, "login", "failure", "a", 0),
        event(1, "login", "failure", "a", 0),
        event(2, "login", "failure", "a", 0),
    ];
    assert!(run(&mut set, &same_user).is_empty());
    let alerts = run(
        &mut set,
        &[
            event(3, "login", "failure", "b", 0),
            event(4, "login", "failure", "c", 0),
        ],
    );
    assert_eq!(ids(&alerts), ["spray"]);
}

#[test]
fn temporal_needs_every_rule_in_any_order() {
    let mut set = rules(
        "title: t\nid: t\ncorrelation:\n  type: temporal\n  rules: [login_success, transfer]\n  group-by: [subject.account.name]\n  timespan: 1m\n",
        1000,
    );
    assert_eq!(
        ids(&run(
            &mut set,
            &[
                event(0, "transfer", "success", "a", 5),
                event(30, "login", "success", "a", 0)
            ]
        )),
        ["t"]
    );
    assert!(
        run(
            &mut set,
            &[
                event(100, "transfer", "success", "b", 5),
                event(200, "login", "success", "b", 0)
            ]
        )
        .is_empty()
    );
}

#[test]
fn temporal_ordered_needs_the_order_and_takes_late_events_in_place() {
    let rule = "title: o\nid: o\ncorrelation:\n  type: temporal_ordered\n  rules: [login_failure, login_success]\n  group-by: [subject.account.name]\n  timespan: 1m\n";
    let mut set = rules(rule, 1000);
    assert!(
        run(
            &mut set,
            &[
                event(0, "login", "success", "a", 0),
                event(10, "login", "failure", "a", 0)
            ]
        )
        .is_empty()
    );
    let mut set = rules(rule, 1000);
    // The failure arrives after the success but happened before it.
    let alerts = run(
        &mut set,
        &[
            event(30, "login", "success", "b", 0),
            event(20, "login", "failure", "b", 0),
        ],
    );
    assert_eq!(ids(&alerts), ["o"]);
    let times: Vec<String> = alerts[0]
        .events
        .iter()
        .filter_map(|e| e.time().map(|t| t.to_string()))
        .collect();
    assert_eq!(times, ["2026-01-01T10:00:20Z", "2026-01-01T10:00:30Z"]);
}

#[test]
fn value_aggregates() {
    let make = |kind: &str, condition: &str| {
        rules(
            &format!(
                "title: v\nid: v\ncorrelation:\n  type: {kind}\n  rules: [transfer]\n  group-by: [subject.account.name]\n  timespan: 10m\n  condition: {{{condition}, field: amount}}\n"
            ),
            1000,
        )
    };
    let events = [
        event(0, "transfer", "success", "a", 100),
        event(1, "transfer", "success", "a", 300),
        event(2, "transfer", "success", "a", 800),
    ];
    assert_eq!(
        ids(&run(&mut make("value_sum", "gte: 1200"), &events)),
        ["v"]
    );
    assert!(run(&mut make("value_sum", "gt: 1200"), &events).is_empty());
    assert_eq!(
        ids(&run(&mut make("value_avg", "gte: 400"), &events)),
        ["v"]
    );
    assert!(run(&mut make("value_avg", "gt: 400"), &events).is_empty());
    assert_eq!(
        ids(&run(&mut make("value_median", "gte: 300"), &events)),
        ["v"]
    );
}

#[test]
fn value_percentile() {
    let set_for = |threshold: u32| {
        rules(
            &format!(
                "title: p\nid: p\ncorrelation:\n  type: value_percentile\n  rules: [transfer]\n  group-by: [subject.account.name]\n  timespan: 10m\n  condition: {{gte: {threshold}, field: amount, percentile: 50}}\n"
            ),
            1000,
        )
    };
    let events: Vec<Event> = (1..=3)
        .map(|i| event(i, "transfer", "success", "a", i * 10))
        .collect();
    // Nearest rank: the median of [10] and [10, 20] is 10, of [10, 20, 30] it is 20.
    let alerts = run(&mut set_for(20), &events);
    assert_eq!(ids(&alerts), ["p"]);
    assert_eq!(alerts[0].events.len(), 3);
    assert!(run(&mut set_for(21), &events).is_empty());
}

#[test]
fn chained_correlations_feed_each_other() {
    let mut set = rules(
        "title: bursts\nid: bursts\nname: bursts\ncorrelation:\n  type: event_count\n  rules: [login_failure]\n  group-by: [subject.account.name]\n  timespan: 1m\n  condition: {gte: 2}\n---\ntitle: burst then success\nid: chain\ncorrelation:\n  type: temporal_ordered\n  rules: [bursts, login_success]\n  group-by: [subject.account.name]\n  timespan: 5m\n",
        1000,
    );
    let alerts = run(
        &mut set,
        &[
            event(0, "login", "failure", "a", 0),
            event(5, "login", "failure", "a", 0),
            event(60, "login", "success", "a", 0),
        ],
    );
    assert_eq!(ids(&alerts), ["chain"]);
    assert_eq!(alerts[0].events.len(), 3);
}

#[test]
fn the_state_cap_evicts_and_counts() {
    let mut set = rules(
        "title: c\nid: c\ncorrelation:\n  type: event_count\n  rules: [login_failure]\n  group-by: [subject.account.name]\n  timespan: 1h\n  condition: {gte: 2}\n",
        10,
    );
    let events: Vec<Event> = (0..50)
        .map(|i| event(i, "login", "failure", &format!("user{i}"), 0))
        .collect();
    assert!(run(&mut set, &events).is_empty());
    assert_eq!(set.evicted(), 40);
    // The newest groups are still there: a second failure of user49 fires.
    assert_eq!(
        ids(&run(
            &mut set,
            &[event(60, "login", "failure", "user49", 0)]
        )),
        ["c"]
    );
    // The oldest were evicted: a second failure of user0 does not.
    assert!(run(&mut set, &[event(61, "login", "failure", "user0", 0)]).is_empty());
}

#[test]
fn alerts_of_one_event_share_it() {
    // One event raises the rule's alert and, through a hit, the correlation's: both
    // hold the same copy, and an event handed over is held itself.
    let mut set = rules(
        "title: any failure\nid: any\ncorrelation:\n  type: event_count\n  rules: [login_failure]\n  group-by: [subject.account.name]\n  timespan: 1m\n  condition: {gte: 1}\n  generate: true\n",
        1000,
    );
    let first = event(0, "login", "failure", "alice", 0);
    let mut alerts = Vec::new();
    set.evaluate(&first, &mut alerts);
    assert_eq!(ids(&alerts), ["login-failure", "any"]);
    assert_eq!(*alerts[0].events[0], first);
    assert!(std::sync::Arc::ptr_eq(
        &alerts[0].events[0],
        &alerts[1].events[0]
    ));
    let mut alerts = Vec::new();
    let second = set.evaluate_owned(event(70, "login", "failure", "bob", 0), &mut alerts);
    assert_eq!(ids(&alerts), ["login-failure", "any"]);
    for alert in &alerts {
        assert!(std::sync::Arc::ptr_eq(&alert.events[0], &second));
    }
}
