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
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        let alert: serde_json::Value = serde_json::from_str(line).expect("JSON alert");
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
