//! Real Linux audit and Squid logs (`crates/formats/testdata/auditd`, `squid`,
//! `access-log/squid-combined.log`, written by auditd 3.0.9 and Squid 5.7 by the capture
//! scripts beside them): every record is normalized, the two layouts of each program
//! agree, and `hunt` raises exactly the T1102.002 alerts of the traffic they recorded.

mod common;

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde_json::Value;

fn fixture(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../formats/testdata")
        .join(path)
}

/// (rule title, the alert's key field) -> count, from `hunt --output jsonl`.
fn hunt(path: &str, key: &str) -> BTreeMap<(String, String), usize> {
    common::hunt_counts(&fixture(path), key)
}

/// What one audit event says, without the values that differ between two runs
/// (process ids, times, serials).
fn audit_summary(events: &[Value]) -> BTreeMap<String, usize> {
    let mut summary = BTreeMap::new();
    for e in events {
        let key = [
            "msgid",
            "action",
            "status",
            "reason",
            "dst.ip",
            "dst.port",
            "object.path",
            "subject.process.fullpath",
            "object.process.cmdline",
        ]
        .map(|name| e[name].to_string())
        .join(" | ");
        *summary.entry(key).or_default() += 1;
    }
    summary
}

#[test]
fn audit_layouts_normalize_alike() {
    let (raw, output) = common::normalize(&fixture("auditd/audit-raw.log"), &["--stats"]);
    assert_eq!(common::stats(&output), [("auditd".to_owned(), 111, 0)]);
    let (enriched, output) = common::normalize(&fixture("auditd/audit-enriched.log"), &["--stats"]);
    assert_eq!(common::stats(&output), [("auditd".to_owned(), 111, 0)]);
    assert_eq!(audit_summary(&raw), audit_summary(&enriched));
    let connects: Vec<(&str, u64)> = raw
        .iter()
        .filter(|e| e["action"] == "connect" && e["dst.ip"].is_string())
        .map(|e| {
            (
                e["dst.ip"].as_str().unwrap_or_default(),
                e["dst.port"].as_u64().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        connects,
        [
            ("127.0.0.1", 18443),
            ("127.0.0.1", 18443),
            ("149.154.167.220", 443),
            ("127.0.0.1", 18081),
            ("::1", 18082),
        ]
    );
    // Every execve that succeeded names its program and command line.
    let started: Vec<&str> = raw
        .iter()
        .filter(|e| e["action"] == "start" && e["status"] == "success")
        .map(|e| e["object.process.name"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(
        started,
        [
            "python3.11",
            "curl",
            "curl",
            "python3.11",
            "curl",
            "curl",
            "dash",
            "dash",
            "id",
            "uname"
        ]
    );
}

#[test]
fn audit_alerts() {
    let title = "Linux process reaches the Telegram Bot API".to_owned();
    let url = "curl -sk --resolve api.telegram.org:18443:127.0.0.1 https://api.telegram.org:18443/bot6023848128:AAHn1lS8fkVn0J3T5mkK_2QqvTwwHF8bOwo/getUpdates?offset=";
    let expected: BTreeMap<(String, String), usize> = [
        (String::new(), 1),
        (format!("{url}0"), 1),
        (format!("{url}1"), 1),
    ]
    .into_iter()
    .map(|(cmdline, n)| ((title.clone(), cmdline), n))
    .collect();
    for file in ["auditd/audit-raw.log", "auditd/audit-enriched.log"] {
        assert_eq!(hunt(file, "object.process.cmdline"), expected, "{file}");
    }
}

#[test]
fn squid_layouts_normalize_alike() {
    let (native, output) = common::normalize(&fixture("squid/access.log"), &["--stats"]);
    assert_eq!(common::stats(&output), [("squid".to_owned(), 12, 0)]);
    let (combined, output) =
        common::normalize(&fixture("access-log/squid-combined.log"), &["--stats"]);
    assert_eq!(common::stats(&output), [("access-log".to_owned(), 12, 0)]);
    for (a, b) in native.iter().zip(&combined) {
        for name in [
            "src.ip",
            "dst.host",
            "dst.port",
            "http.method",
            "http.url",
            "http.status",
            "http.bytes",
            "status",
            "event_src.title",
        ] {
            assert_eq!(a[name], b[name], "{name} of {a} and {b}");
        }
        assert_eq!(a["raw"]["result_code"], b["raw"]["result_code"]);
    }
}

#[test]
fn proxy_alerts() {
    let title =
        "Non-browser client reaches a web service abused as a command channel through the proxy"
            .to_owned();
    let alerts = |pairs: &[(&str, usize)]| -> BTreeMap<(String, String), usize> {
        pairs
            .iter()
            .map(|(host, n)| ((title.clone(), (*host).to_owned()), *n))
            .collect()
    };
    // The native layout has no User-Agent: the browser's tunnel counts too.
    assert_eq!(
        hunt("squid/access.log", "dst.host"),
        alerts(&[("api.telegram.org", 3), ("pastebin.com", 2)])
    );
    assert_eq!(
        hunt("access-log/squid-combined.log", "dst.host"),
        alerts(&[("api.telegram.org", 2), ("pastebin.com", 2)])
    );
}
