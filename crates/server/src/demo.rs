//! `--demo`: the bundled sample attack records (the attack cases of the rule pack's
//! tests: BIND and dnsmasq Bot API lookups, Sysmon process and network events, the
//! TeamCity debug-API chain) are ingested once, so a new installation shows real
//! T1102.002 incidents at once.

use std::path::Path;

use crate::journal::{Appender, Kind, Record};
use crate::rule_tests;

/// The demo records: every shipped test case that expects alerts.
pub fn records() -> Vec<Record> {
    let mut out = Vec::new();
    for (source, text) in rule_tests::shipped_files() {
        let Ok(file) = rule_tests::parse(&source, &text) else {
            continue;
        };
        for case in file.cases.into_iter().filter(|c| c.expect > 0) {
            out.push(Record {
                kind: Kind::Lines,
                received: crate::ingest::now_ms(),
                source: format!("demo {}: {}", file.rule, case.name),
                format: case.format,
                data: case.records.into_bytes(),
            });
        }
    }
    out
}

/// Ingests the demo records unless this data directory already has them; returns how
/// many records were added.
pub async fn load(appender: &Appender, data_dir: &Path) -> anyhow::Result<usize> {
    let marker = data_dir.join("demo-loaded");
    if marker.exists() {
        return Ok(0);
    }
    let records = records();
    let count = records.len();
    appender.append(records).await?;
    std::fs::write(&marker, b"the demo records were ingested\n")?;
    Ok(count)
}
