//! Parsing throughput of the high-volume text formats, in lines per second, on real
//! log lines (the fixtures written by real BIND 9 and dnsmasq) replicated in memory.

use std::io::Cursor;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use dozor_event::{Event, Timestamp};
use dozor_formats::{ReadContext, Reject, Sink};

/// Counts what a format produces without printing it.
#[derive(Default)]
struct Count {
    events: u64,
    rejects: u64,
}

impl Sink for Count {
    fn event(&mut self, event: Event) {
        std::hint::black_box(event);
        self.events += 1;
    }
    fn reject(&mut self, _: Reject) {
        self.rejects += 1;
    }
}

fn corpus(fixture: &str, lines: usize) -> Vec<u8> {
    let path = format!("{}/testdata/{fixture}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let sample: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    for line in sample.iter().cycle().take(lines) {
        out.extend_from_slice(line.as_bytes());
        out.push(b'\n');
    }
    out
}

fn bench(c: &mut Criterion) {
    const LINES: usize = 100_000;
    let ctx = ReadContext {
        source: "bench".to_owned(),
        received: Timestamp::now(),
        max_record: 1 << 20,
        defer_mapping: false,
    };
    let mut group = c.benchmark_group("parse");
    group.throughput(Throughput::Elements(LINES as u64));
    group.sample_size(20);
    for (format, fixture) in [
        ("bind", "bind/query-full.log"),
        ("dnsmasq", "dnsmasq/dnsmasq-queries-extra.log"),
        ("dnsmasq", "dnsmasq/dnsmasq-queries.log"),
        ("syslog", "syslog/syslog-rfc5424.log"),
    ] {
        let input = corpus(fixture, LINES);
        let parser = dozor_formats::find(format).unwrap_or_else(|| panic!("no format {format}"));
        group.bench_function(fixture, |b| {
            b.iter(|| {
                let mut sink = Count::default();
                let mut reader = Cursor::new(&input[..]);
                parser
                    .read(&mut reader, &ctx, &mut sink)
                    .expect("in-memory read");
                assert_eq!(sink.rejects, 0);
                sink.events
            });
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
