//! The corpus test: every fixture under `testdata/<folder>/` is read by the format it
//! is detected as, and its normalized events are compared with a reviewed snapshot
//! (`tests/snapshots/`). A fixture must be detected as the format of its folder, and
//! must be read without a reject.

use std::io::{BufRead, BufReader};
use std::path::Path;

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
    ("zeek", "zeek"),
    ("zeek-json", "json"),
];

#[test]
fn fixtures_match_their_snapshots() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata");
    let received: Timestamp = "2026-11-28T00:00:00Z".parse().expect("valid time");
    for (folder, format_name) in FOLDERS {
        let mut files: Vec<_> = std::fs::read_dir(root.join(folder))
            .expect("fixture folder")
            .map(|e| e.expect("entry").path())
            .collect();
        files.sort();
        for path in files {
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
