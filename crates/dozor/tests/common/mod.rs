//! Helpers shared by the integration tests: where the shared material is, and how to
//! run the `dozor` binary.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The shared test material beside the repository (`../shared`). Fails with a clear
/// message when it is missing.
pub fn shared_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared");
    assert!(
        dir.join("testdata").is_dir(),
        "the shared test material is missing: expected it at {} (a `shared` folder beside the repository)",
        dir.display()
    );
    dir.canonicalize().unwrap_or(dir)
}

/// Runs `dozor` with `args` and returns its output.
pub fn dozor(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_dozor"))
        .args(args)
        .env("RUST_BACKTRACE", "0")
        .output()
        .expect("the dozor binary runs")
}

/// The alerts `dozor hunt --output jsonl` printed: every line of its output, as JSON.
pub fn alerts(output: &Output) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).expect("JSON alert"))
        .collect()
}

/// Runs `dozor hunt --output jsonl` on `path` (which must raise alerts) and counts its
/// alerts by (rule title, `field` of the alert's first event, as text).
pub fn hunt_counts(
    path: &Path,
    field: &str,
) -> std::collections::BTreeMap<(String, String), usize> {
    let output = dozor(&[
        "hunt",
        "--output",
        "jsonl",
        path.to_str().expect("UTF-8 path"),
    ]);
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let mut counts = std::collections::BTreeMap::new();
    for alert in alerts(&output) {
        let title = alert["rule"]["title"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let value = match &alert["events"][0][field] {
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Null => String::new(),
            other => other.to_string(),
        };
        *counts.entry((title, value)).or_default() += 1;
    }
    counts
}

/// Runs `dozor normalize` on `path` and parses every output line as JSON.
pub fn normalize(path: &Path, extra: &[&str]) -> (Vec<serde_json::Value>, Output) {
    let path = path.to_str().expect("UTF-8 path");
    let mut args = vec!["normalize"];
    args.extend_from_slice(extra);
    args.push(path);
    let output = dozor(&args);
    assert!(
        output.status.success(),
        "dozor normalize {path} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let events = String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).expect("every output line is JSON"))
        .collect();
    (events, output)
}

/// Runs `dozor hunt --output jsonl` on `capture` with one rule that matches every
/// Sysmon process creation, network connection and DNS query (a rule on the source's
/// own fields, so `hunt` defers the Sysmon mapping of each event and completes the
/// ones that match), on one thread and on two. Asserts that every event in the alerts
/// is the event `dozor normalize` gives for that record (found by its `body`), and
/// returns how many alerts each Sysmon event type (`msgid`) raised.
pub fn assert_hunted_events_are_normalized(
    capture: &Path,
) -> std::collections::BTreeMap<String, usize> {
    let rules = tempfile::tempdir().expect("temp dir");
    std::fs::write(
        rules.path().join("sysmon_mapped_events.yml"),
        "title: Sysmon process creations, connections and DNS queries\n\
         id: 5b0c7a52-3f0e-4a55-9d6a-2f1d0c9e8a11\n\
         logsource: {product: windows, service: sysmon}\n\
         detection:\n  selection:\n    EventID: [1, 3, 22]\n  condition: selection\n\
         level: informational\n",
    )
    .expect("rule file");
    let (normalized, _) = normalize(capture, &[]);
    let by_body: std::collections::HashMap<&str, &serde_json::Value> = normalized
        .iter()
        .filter_map(|event| Some((event["body"].as_str()?, event)))
        .collect();
    let mut counts = Vec::new();
    for threads in ["1", "2"] {
        let output = dozor(&[
            "hunt",
            "--no-builtin",
            "--rules",
            rules.path().to_str().expect("UTF-8 path"),
            "--threads",
            threads,
            "--output",
            "jsonl",
            capture.to_str().expect("UTF-8 path"),
        ]);
        assert_eq!(output.status.code(), Some(1), "{output:?}");
        let mut by_type = std::collections::BTreeMap::new();
        for alert in alerts(&output) {
            let event = &alert["events"][0];
            let body = event["body"].as_str().expect("body");
            assert_eq!(Some(&event), by_body.get(body), "with {threads} threads");
            let msgid = event["msgid"].as_str().unwrap_or_default().to_owned();
            *by_type.entry(msgid).or_insert(0) += 1;
        }
        counts.push(by_type);
    }
    assert_eq!(
        counts[0], counts[1],
        "alerts by event type, 1 and 2 threads"
    );
    counts.swap_remove(0)
}

/// The `--stats` table of a run, as (format, parsed, rejected) rows.
pub fn stats(output: &Output) -> Vec<(String, u64, u64)> {
    String::from_utf8_lossy(&output.stderr)
        .lines()
        .skip_while(|l| !l.starts_with("format"))
        .skip(1)
        .filter_map(|l| {
            let mut cols = l.split_whitespace();
            Some((
                cols.next()?.to_owned(),
                cols.next()?.parse().ok()?,
                cols.next()?.parse().ok()?,
            ))
        })
        .collect()
}
pub mod server;
