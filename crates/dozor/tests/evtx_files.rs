//! Real EVTX files: every record of a Sysmon log is read (and hunted over with the
//! Sysmon mapping deferred, to the same events), and a file with a corrupt chunk yields
//! its readable records plus counted errors instead of failing.

mod common;

fn parsed_and_rejected(output: &std::process::Output) -> (u64, u64) {
    let rows = common::stats(output);
    (
        rows.iter().map(|r| r.1).sum(),
        rows.iter().map(|r| r.2).sum(),
    )
}

#[test]
fn sysmon_evtx_yields_every_record() {
    let path = common::shared_dir().join("testdata/evtx/sysmon.evtx");
    let (events, output) = common::normalize(&path, &["--stats"]);
    assert_eq!(events.len(), 358);
    assert_eq!(parsed_and_rejected(&output).0, 358);
    let sysmon_1 = events
        .iter()
        .filter(|e| e["event_src.title"] == "sysmon" && e["msgid"] == "1")
        .count();
    assert!(sysmon_1 > 0, "no Sysmon process creation events");
    for event in &events {
        assert!(event["time"].is_string() && event["raw"]["EventID"].is_string());
    }
}

/// `hunt` over an EVTX file defers and completes the Sysmon mapping as over JSON
/// lines: the events of its alerts are `normalize`'s.
#[test]
fn hunted_evtx_events_are_the_normalized_events() {
    let path = common::shared_dir().join("testdata/evtx/sysmon.evtx");
    let by_type = common::assert_hunted_events_are_normalized(&path);
    let expected: std::collections::BTreeMap<String, usize> =
        [("1".to_owned(), 227), ("3".to_owned(), 2)].into();
    assert_eq!(by_type, expected);
}

#[test]
fn corrupt_chunk_is_skipped_and_counted() {
    let path = common::shared_dir().join("testdata/evtx/bad-chunk-magic.evtx");
    let rejects = tempfile::NamedTempFile::new().expect("temp file");
    let rejects_path = rejects.path().to_str().expect("UTF-8 path");
    let (events, output) = common::normalize(&path, &["--stats", "--rejects", rejects_path]);
    assert_eq!(events.len(), 301);
    let (parsed, rejected) = parsed_and_rejected(&output);
    assert_eq!(parsed, 301);
    assert!(rejected >= 1, "the corrupt chunk was not counted");
    let text = std::fs::read_to_string(rejects.path()).expect("rejects file");
    assert_eq!(text.lines().count() as u64, rejected);
    assert!(text.contains("chunk header magic"), "{text}");
}

/// The same records read from the EVTX file (through the `evtx` crate) and from their
/// XML rendering by another implementation (python-evtx) normalize to the same fields.
#[test]
fn evtx_and_its_xml_rendering_agree() {
    let evtx = common::shared_dir().join("testdata/evtx/sysmon.evtx");
    let xml = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../formats/testdata/windows/sysmon-events.xml");
    let (from_evtx, _) = common::normalize(&evtx, &[]);
    let (from_xml, output) = common::normalize(&xml, &["--stats"]);
    assert_eq!(common::stats(&output), [("windows-xml".to_owned(), 11, 0)]);
    for event in &from_xml {
        let id = &event["raw"]["EventRecordID"];
        let twin = from_evtx
            .iter()
            .find(|e| &e["raw"]["EventRecordID"] == id)
            .unwrap_or_else(|| panic!("record {id} is not in the EVTX file"));
        let (a, b) = (
            event.as_object().expect("object"),
            twin.as_object().expect("object"),
        );
        for (key, value) in a {
            if ["body", "format", "recv_time"].contains(&key.as_str()) {
                continue;
            }
            if key == "raw" {
                for (name, raw) in value.as_object().expect("raw object") {
                    // python-evtx writes SystemTime in its own layout, and hex numbers
                    // zero-padded: compare those by value.
                    if name != "TimeCreated" {
                        let other = b["raw"].get(name);
                        let hex = |v: Option<&serde_json::Value>| {
                            let text = v?.as_str()?.strip_prefix("0x")?;
                            u64::from_str_radix(text, 16).ok()
                        };
                        let equal = Some(raw) == other
                            || hex(Some(raw)).is_some_and(|h| Some(h) == hex(other));
                        assert!(equal, "record {id}: raw {name}: {raw} vs {other:?}");
                    }
                }
                continue;
            }
            assert_eq!(Some(value), b.get(key), "record {id}: {key}");
        }
        assert_eq!(a.len(), b.len(), "record {id}: field count");
    }
}
