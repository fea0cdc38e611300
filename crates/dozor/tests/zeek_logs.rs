//! Real Zeek logs (`../shared/testdata/zeek`: WRCCDC 2018 traffic, brimdata/zed-sample-data,
//! CC BY-SA 4.0), as Zeek wrote them in its default tab-separated form and in JSON: every
//! record is normalized, both forms give the same taxonomy fields, and the DNS and TLS rules
//! see the network sensor's queries and server names.

mod common;

use std::collections::BTreeMap;

use serde_json::Value;

fn zeek(file: &str) -> std::path::PathBuf {
    common::shared_dir().join("testdata/zeek").join(file)
}

/// The taxonomy fields both forms must agree on, per event.
fn key_fields(events: &[Value], names: &[&str]) -> Vec<Vec<Value>> {
    events
        .iter()
        .map(|e| names.iter().map(|n| e[*n].clone()).collect())
        .collect()
}

/// Asserts that `--stats` counted `parsed` records of `format` and no rejects.
fn assert_stats(output: &std::process::Output, format: &str, parsed: usize) {
    let stats = String::from_utf8_lossy(&output.stderr);
    let row: Vec<&str> = stats
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .find(|cols| cols.first() == Some(&format))
        .unwrap_or_default();
    assert_eq!(row, [format, &parsed.to_string(), "0"], "{stats}");
}

fn normalize_both(tsv: &str, json: &str, expected: usize, names: &[&str]) {
    let (from_tsv, output) = common::normalize(&zeek(tsv), &["--stats"]);
    assert_stats(&output, "zeek", expected);
    let (from_json, output) = common::normalize(&zeek(json), &["--stats"]);
    assert_stats(&output, "json", expected);
    assert_eq!(from_tsv.len(), expected);
    let (a, b) = (key_fields(&from_tsv, names), key_fields(&from_json, names));
    for (i, (x, y)) in a.iter().zip(&b).enumerate() {
        assert_eq!(x, y, "record {i}: {names:?}");
    }
    assert!(from_tsv.iter().all(|e| e["event_src.title"] == "zeek"));
}

#[test]
fn dns_log_in_both_forms() {
    normalize_both(
        "zeek-default/dns.log.gz",
        "zeek-json/dns.json.gz",
        53_615,
        &[
            "time",
            "src.ip",
            "src.port",
            "dst.ip",
            "dst.port",
            "protocol",
            "msgid",
            "object.query",
            "dns.type",
            "dns.class",
            "dns.query_id",
            "dns.recursion_desired",
            "dns.answers",
        ],
    );
}

#[test]
fn ssl_log_in_both_forms() {
    normalize_both(
        "zeek-default/ssl.log.gz",
        "zeek-json/ssl.json.gz",
        49_474,
        &[
            "time", "src.ip", "src.port", "dst.ip", "dst.port", "dst.host", "msgid",
        ],
    );
}

/// (rule title, `field` of the alert's event) -> alerts, from `hunt` over `file`.
fn hunt_counts(file: &str, field: &str) -> BTreeMap<(String, String), usize> {
    common::hunt_counts(&zeek(file), field)
}

fn expected(title: &str, counts: &[(&str, usize)]) -> BTreeMap<(String, String), usize> {
    counts
        .iter()
        .map(|(value, n)| ((title.to_owned(), (*value).to_owned()), *n))
        .collect()
}

#[test]
fn dns_rules_see_the_sensors_queries() {
    let want = expected(
        "DNS query for a web service abused as a command channel",
        &[
            ("docs.google.com", 760),
            ("drive.google.com", 112),
            ("api.github.com", 36),
            ("pastebin.com", 22),
            ("raw.githubusercontent.com", 10),
        ],
    );
    for file in ["zeek-default/dns.log.gz", "zeek-json/dns.json.gz"] {
        assert_eq!(hunt_counts(file, "object.query"), want, "{file}");
    }
}

#[test]
fn tls_rule_sees_the_sensors_server_names() {
    let want = expected(
        "TLS session to a web service abused as a command channel",
        &[
            ("api.github.com", 40),
            ("drive.google.com", 10),
            ("raw.githubusercontent.com", 7),
            ("docs.google.com", 5),
        ],
    );
    for file in ["zeek-default/ssl.log.gz", "zeek-json/ssl.json.gz"] {
        assert_eq!(hunt_counts(file, "dst.host"), want, "{file}");
    }
}
