//! The corpus test: every fixture under `testdata/<folder>/` is read by the format it
//! is detected as, and its normalized events are compared with a reviewed snapshot
//! (`tests/snapshots/`). A fixture must be detected as the format of its folder, and
//! must be read without a reject.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use dozor_event::Timestamp;
use dozor_formats::{Collected, ReadContext};

/// Which format each fixture folder holds.
const FOLDERS: &[(&str, &str)] = &[
    ("access-log", "access-log"),
    ("auditd", "auditd"),
    ("bind", "bind"),
    ("dnsmasq", "dnsmasq"),
    ("squid", "squid"),
    ("suricata", "json"),
    ("syslog", "syslog"),
    ("teamcity", "teamcity"),
    ("windows", "windows-xml"),
    ("windows-json", "json"),
    ("zeek", "zeek"),
    ("zeek-json", "json"),
];

/// The fixture files of `folder`, in name order.
fn fixtures(folder: &str) -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata");
    let mut files: Vec<_> = std::fs::read_dir(root.join(folder))
        .expect("fixture folder")
        .map(|e| e.expect("entry").path())
        .collect();
    files.sort();
    files
}

#[test]
fn fixtures_match_their_snapshots() {
    let received: Timestamp = "2026-11-28T00:00:00Z".parse().expect("valid time");
    for (folder, format_name) in FOLDERS {
        for path in fixtures(folder) {
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .expect("file name")
                .to_owned();
            let mut reader = BufReader::new(std::fs::File::open(&path).expect("fixture"));
            let format = dozor_formats::detect(reader.fill_buf().expect("read"))
                .unwrap_or_else(|| panic!("{folder}/{name}: not detected"));
            assert_eq!(
                format.name(),
                *format_name,
                "{folder}/{name} detected as {}",
                format.name()
            );
            let ctx = ReadContext {
                source: name.clone(),
                received,
                max_record: 1 << 20,
                defer_mapping: false,
            };
            let mut sink = Collected::default();
            format.read(&mut reader, &ctx, &mut sink).expect("read");
            assert!(
                sink.rejects.is_empty(),
                "{folder}/{name}: {:?}",
                sink.rejects
            );
            let lines: Vec<String> = sink
                .events
                .iter()
                .map(|event| {
                    let mut json = event.to_json();
                    if let Some(object) = json.as_object_mut() {
                        object.shift_remove("body");
                    }
                    json.to_string()
                })
                .collect();
            insta::assert_snapshot!(format!("{folder}__{name}"), lines.join("\n"));
        }
    }
}

/// Every fixture read with [`ReadContext::defer_mapping`]: the fields an event holds
/// before [`Event::complete`](dozor_event::Event::complete) are those it will keep
/// among [`dozor_formats::SET_BEFORE_DEFERRAL`], and completing it gives the event
/// read without deferring.
#[test]
fn deferred_mappings_complete_to_the_same_events() {
    let received: Timestamp = "2026-11-28T00:00:00Z".parse().expect("valid time");
    let mut deferred = 0;
    for (folder, _) in FOLDERS {
        for path in fixtures(folder) {
            let read = |defer_mapping: bool| {
                let mut reader = BufReader::new(std::fs::File::open(&path).expect("fixture"));
                let format =
                    dozor_formats::detect(reader.fill_buf().expect("read")).expect("detected");
                let ctx = ReadContext {
                    source: "fixture".to_owned(),
                    received,
                    max_record: 1 << 20,
                    defer_mapping,
                };
                let mut sink = Collected::default();
                format.read(&mut reader, &ctx, &mut sink).expect("read");
                sink.events
            };
            let eager = read(false);
            let mut lazy = read(true);
            assert_eq!(eager.len(), lazy.len(), "{}", path.display());
            for (eager, lazy) in eager.iter().zip(&mut lazy) {
                assert!(eager.is_complete());
                deferred += usize::from(!lazy.is_complete());
                for &field in dozor_formats::SET_BEFORE_DEFERRAL {
                    assert_eq!(
                        eager.get(field),
                        lazy.get(field),
                        "{field} in {}",
                        path.display()
                    );
                }
                lazy.complete();
                assert!(lazy.is_complete());
                assert_eq!(eager.to_json(), lazy.to_json(), "{}", path.display());
            }
        }
    }
    // The Sysmon fixture's process creations, connections and DNS queries.
    assert!(deferred > 0, "no fixture event had its mapping deferred");
}
