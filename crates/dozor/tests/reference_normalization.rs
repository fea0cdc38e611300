//! The reference product's own normalization tests: for each `raw_N.txt`, `dozor
//! normalize` must yield one event holding every field of `norm_N.js` with the same
//! value (`id`, `datafieldN` and `numfieldN` are the reference's internal fields and
//! are not compared). Addresses are compared as addresses, since the reference writes
//! IPv6 uncompressed.

mod common;

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use serde_json::Value;

const SUITES: &[&str] = &[
    "JetBrains/TeamCity/syslog/Activities_User_Token_Management",
    "JetBrains/TeamCity/syslog/Auth_Request_Processing",
    "JetBrains/TeamCity/syslog/Rest_Request_Finished",
    "Microsoft/Windows/eventlog/Sysmon/1_Process_creation",
    "Microsoft/Windows/eventlog/Sysmon/3_Network_connection",
    "Microsoft/Windows/eventlog/Sysmon/22_DNS_query",
];

fn skipped(field: &str) -> bool {
    field == "id"
        || ["datafield", "numfield"].iter().any(|p| {
            field
                .strip_prefix(p)
                .is_some_and(|n| n.bytes().all(|b| b.is_ascii_digit()))
        })
}

fn same(want: &Value, got: &Value) -> bool {
    if want == got {
        return true;
    }
    match (want.as_str(), got.as_str()) {
        (Some(w), Some(g)) => match (w.parse::<IpAddr>(), g.parse::<IpAddr>()) {
            (Ok(w), Ok(g)) => w == g,
            _ => false,
        },
        _ => false,
    }
}

fn cases(suite: &Path) -> Vec<(PathBuf, PathBuf)> {
    let dir = suite.join("tests");
    let mut cases: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .filter_map(|entry| {
            let path = entry.ok()?.path();
            let name = path.file_name()?.to_str()?;
            let n = name.strip_prefix("raw_")?.strip_suffix(".txt")?.to_owned();
            Some((path.clone(), dir.join(format!("norm_{n}.js"))))
        })
        .collect();
    cases.sort();
    cases
}

#[test]
fn reference_normalization_tests_pass() {
    let root = common::shared_dir().join("testdata/xp-normalization");
    let mut table = Vec::new();
    let mut failures = Vec::new();
    for suite in SUITES {
        let cases = cases(&root.join(suite));
        assert!(!cases.is_empty(), "no cases in {suite}");
        for (raw, norm) in cases {
            let want: serde_json::Map<String, Value> = serde_json::from_str(
                &std::fs::read_to_string(&norm).expect("norm file is readable"),
            )
            .expect("norm file is JSON");
            let (events, _) = common::normalize(&raw, &[]);
            let name = format!(
                "{suite}/{}",
                raw.file_name().and_then(|n| n.to_str()).unwrap_or("?")
            );
            let mut problems = Vec::new();
            if events.len() != 1 {
                problems.push(format!("{} events instead of 1", events.len()));
            }
            let got = events.first().and_then(Value::as_object);
            let mut compared = 0;
            for (field, value) in want.iter().filter(|(f, _)| !skipped(f)) {
                compared += 1;
                match got.and_then(|g| g.get(field)) {
                    Some(v) if same(value, v) => {}
                    Some(v) => problems.push(format!("{field}: want {value}, got {v}")),
                    None => problems.push(format!("{field}: want {value}, missing")),
                }
            }
            table.push(format!(
                "{:<70} {:>3} fields  {}",
                name,
                compared,
                if problems.is_empty() { "pass" } else { "FAIL" }
            ));
            if !problems.is_empty() {
                failures.push(format!("{name}:\n  {}", problems.join("\n  ")));
            }
        }
    }
    println!("{}", table.join("\n"));
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
