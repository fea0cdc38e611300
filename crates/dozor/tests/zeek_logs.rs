//! Real Zeek logs (`../shared/testdata/zeek`: WRCCDC 2018 traffic, brimdata/zed-sample-data,
//! CC BY-SA 4.0), as Zeek wrote them in its default tab-separated form and in JSON: every
//! record is normalized, both forms give the same taxonomy fields, and the DNS rules
//! see the network sensor's queries.

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

#[test]
fn dns_rules_see_the_sensors_queries() {
    let mut per_form = Vec::new();
    for file in ["zeek-default/dns.log.gz", "zeek-json/dns.json.gz"] {
        let path = zeek(file);
        let output = common::dozor(&[
            "hunt",
            "--output",
            "jsonl",
            path.to_str().expect("UTF-8 path"),
        ]);
        assert_eq!(output.status.code(), Some(1));
        let mut by_query: BTreeMap<(String, String), usize> = BTreeMap::new();
        for line in String::from_utf8_lossy(&output.stdout).lines() {
            let alert: Value = serde_json::from_str(line).expect("JSON alert");
            let title = alert["rule"]["title"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            let query = alert["events"][0]["object.query"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            *by_query.entry((title, query)).or_default() += 1;
        }
        per_form.push(by_query);
    }
    let c2 = "DNS query for a web service abused as a command channel".to_owned();
    let expected: BTreeMap<(String, String), usize> = [
        ("docs.google.com", 760),
        ("drive.google.com", 112),
        ("api.github.com", 36),
        ("pastebin.com", 22),
        ("raw.githubusercontent.com", 10),
    ]
    .into_iter()
    .map(|(q, n)| ((c2.clone(), q.to_owned()), n))
    .collect();
    assert_eq!(per_form[0], expected);
    assert_eq!(per_form[1], expected);
}
