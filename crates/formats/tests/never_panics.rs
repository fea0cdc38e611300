//! Property tests: no input makes any format panic, whether random bytes or real log
//! lines with random damage (bytes replaced, cut, inserted), and for line formats every
//! line is either an event or a counted reject. Each input is also read with the
//! mapping deferred (as `hunt` reads), each event then completed: that must neither
//! panic nor change which records are events and which are rejects.

use std::io::Cursor;

use dozor_event::{Event, Timestamp};
use dozor_formats::{ReadContext, Reject, Sink};
use proptest::prelude::*;

#[derive(Default)]
struct Count {
    events: u64,
    rejects: u64,
}

impl Sink for Count {
    fn event(&mut self, mut event: Event) {
        event.complete();
        assert!(event.check_kinds().is_ok(), "{:?}", event.check_kinds());
        self.events += 1;
    }
    fn reject(&mut self, reject: Reject) {
        assert!(!reject.reason.is_empty());
        self.rejects += 1;
    }
}

fn run(format: &str, input: &[u8]) -> Count {
    let eager = read(format, input, false);
    let deferred = read(format, input, true);
    assert_eq!(
        (eager.events, eager.rejects),
        (deferred.events, deferred.rejects),
        "events and rejects with the mapping deferred"
    );
    eager
}

/// Reads `input` as `format`, with the mapping deferred or not.
fn read(format: &str, input: &[u8], defer_mapping: bool) -> Count {
    let parser = dozor_formats::find(format).expect("known format");
    let ctx = ReadContext {
        source: "proptest".to_owned(),
        received: Timestamp::UNIX_EPOCH,
        max_record: 4096,
        defer_mapping,
    };
    let mut sink = Count::default();
    parser
        .read(&mut Cursor::new(input), &ctx, &mut sink)
        .expect("in-memory input never fails to read");
    sink
}

/// Real lines of every fixture, as seeds for damage.
fn real_lines() -> Vec<Vec<u8>> {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata");
    let mut lines = Vec::new();
    for dir in [
        "bind",
        "dnsmasq",
        "syslog",
        "teamcity",
        "access-log",
        "squid",
        "suricata",
        "auditd",
        "windows",
        "windows-json",
        "zeek",
        "zeek-json",
    ] {
        for entry in std::fs::read_dir(format!("{root}/{dir}")).expect("fixture folder") {
            let text = std::fs::read(entry.expect("entry").path()).expect("fixture");
            lines.extend(text.split(|&b| b == b'\n').map(<[u8]>::to_vec));
        }
    }
    lines
}

/// A damaged real line: some bytes replaced, then a cut or an insertion.
fn damaged_line() -> impl Strategy<Value = Vec<u8>> {
    let lines = real_lines();
    (
        0..lines.len(),
        proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..4),
        any::<prop::sample::Index>(),
        proptest::collection::vec(any::<u8>(), 0..8),
    )
        .prop_map(move |(i, replace, cut, insert)| {
            let mut line = lines[i].clone();
            if line.is_empty() {
                return insert;
            }
            for (at, byte) in replace {
                let at = at.index(line.len());
                line[at] = byte;
            }
            let at = cut.index(line.len());
            if insert.is_empty() {
                line.truncate(at.max(1));
            } else {
                line.splice(at..at, insert);
            }
            line
        })
}

/// Formats whose records are lines, one event or reject each.
fn one_record_per_line(format: &str) -> bool {
    matches!(
        format,
        "bind" | "dnsmasq" | "syslog" | "access-log" | "squid"
    )
}

macro_rules! never_panics {
    ($($test:ident => $format:literal),* $(,)?) => {
        proptest! {
            #![proptest_config(ProptestConfig::with_cases(256))]
            $(
                #[test]
                fn $test(
                    random in proptest::collection::vec(any::<u8>(), 0..512),
                    damaged in proptest::collection::vec(damaged_line(), 1..8),
                ) {
                    run($format, &random);
                    let input = damaged.join(&b'\n');
                    let count = run($format, &input);
                    if one_record_per_line($format) {
                        let lines = input
                            .split(|&b| b == b'\n')
                            .filter(|l| !String::from_utf8_lossy(l).trim().is_empty())
                            .count() as u64;
                        prop_assert_eq!(count.events + count.rejects, lines);
                    }
                }
            )*
        }
    };
}

never_panics! {
    bind_never_panics => "bind",
    dnsmasq_never_panics => "dnsmasq",
    syslog_never_panics => "syslog",
    teamcity_never_panics => "teamcity",
    access_log_never_panics => "access-log",
    squid_never_panics => "squid",
    auditd_never_panics => "auditd",
    json_never_panics => "json",
    windows_xml_never_panics => "windows-xml",
    evtx_never_panics => "evtx",
    zeek_never_panics => "zeek",
}

#[test]
fn every_format_has_a_property_test() {
    let tested = [
        "bind",
        "dnsmasq",
        "syslog",
        "teamcity",
        "access-log",
        "squid",
        "auditd",
        "json",
        "windows-xml",
        "evtx",
        "zeek",
    ];
    for format in dozor_formats::FORMATS {
        assert!(
            tested.contains(&format.name()),
            "{} has no property test",
            format.name()
        );
    }
}
