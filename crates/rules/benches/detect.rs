//! Detection throughput on one core, beside the cost of parsing the same events:
//! the Sysmon process-creation events (EventID 1) of the OTRF sample in
//! `../shared/testdata/otrf`, against the 1,183 SigmaHQ `process_creation` rules in
//! `../shared/testdata/sigmahq`. `bench/compare.py` runs the whole `hunt` beside RSigma;
//! this isolates the engine: `parse` is JSON decoding and normalization, `detect` is
//! `RuleSet::evaluate` over already-normalized events.

use std::io::Read;
use std::path::PathBuf;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use dozor_event::Timestamp;
use dozor_formats::{Collected, ReadContext};
use dozor_rules::{Alert, RuleSet, RuleSetOptions};
use shared_testdata::shared_testdata;

#[path = "../tests/shared_testdata/mod.rs"]
mod shared_testdata;

/// The JSON lines of the sample's Sysmon EventID 1 records.
fn process_creation_lines() -> Vec<u8> {
    let mut out = Vec::new();
    let mut zips: Vec<PathBuf> = std::fs::read_dir(shared_testdata().join("otrf"))
        .expect("otrf directory")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "zip"))
        .collect();
    zips.sort();
    for path in zips {
        let mut archive =
            zip::ZipArchive::new(std::fs::File::open(&path).expect("zip")).expect("zip archive");
        for i in 0..archive.len() {
            let mut member = archive.by_index(i).expect("member");
            if member.name().is_ok_and(|n| n.contains("__MACOSX")) || member.is_dir() {
                continue;
            }
            let mut text = Vec::new();
            if member.read_to_end(&mut text).is_err() {
                continue;
            }
            for line in text.split(|&b| b == b'\n') {
                let Ok(value) = serde_json::from_slice::<serde_json::Value>(line) else {
                    continue;
                };
                let sysmon = ["Channel", "SourceName"].iter().any(|k| {
                    value
                        .get(k)
                        .and_then(|v| v.as_str())
                        .is_some_and(|v| v.contains("Sysmon"))
                });
                let eid1 = value
                    .get("EventID")
                    .is_some_and(|v| v.as_i64() == Some(1) || v.as_str() == Some("1"));
                if sysmon && eid1 {
                    out.extend_from_slice(line);
                    out.push(b'\n');
                }
            }
        }
    }
    out
}

fn parse(lines: &[u8]) -> Collected {
    let format = dozor_formats::find("json").expect("json format");
    let ctx = ReadContext {
        source: "bench".into(),
        received: Timestamp::UNIX_EPOCH,
        max_record: 1 << 20,
        defer_mapping: false,
    };
    let mut sink = Collected::default();
    format.read(&mut &lines[..], &ctx, &mut sink).expect("read");
    sink
}

fn bench(c: &mut Criterion) {
    let lines = process_creation_lines();
    let events = parse(&lines).events;
    assert!(
        events.len() > 500,
        "expected the OTRF process-creation events, got {}",
        events.len()
    );
    let options = RuleSetOptions {
        builtin_rules: false,
        rule_paths: vec![shared_testdata().join("sigmahq/rules/windows/process_creation")],
        ..RuleSetOptions::default()
    };
    let mut rules = RuleSet::load(&options).expect("rules");
    let mut group = c.benchmark_group("process_creation");
    group.throughput(Throughput::Elements(events.len() as u64));
    group.sample_size(20);
    group.bench_function("parse", |b| {
        b.iter(|| std::hint::black_box(parse(&lines).events.len()))
    });
    let mut alerts: Vec<Alert> = Vec::new();
    group.bench_function("detect", |b| {
        b.iter(|| {
            alerts.clear();
            for event in &events {
                rules.evaluate(event, &mut alerts);
            }
            std::hint::black_box(alerts.len())
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
