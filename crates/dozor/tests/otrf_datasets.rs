//! The OTRF Security-Datasets sample: 90 zipped JSON-lines captures of Windows
//! telemetry during attack simulations (~400k events). Every JSON event is
//! normalized; the only inputs refused are the macOS AppleDouble files (`__MACOSX/._*`,
//! binary, not UTF-8) that some archives carry, and those are counted, not skipped.

mod common;

use std::io::{BufRead, BufReader};

#[test]
fn every_otrf_event_is_normalized() {
    let dir = common::shared_dir().join("testdata/otrf");
    let events = tempfile::NamedTempFile::new().expect("temp file");
    let rejects = tempfile::NamedTempFile::new().expect("temp file");
    let output = common::dozor(&[
        "normalize",
        "--stats",
        "--output",
        events.path().to_str().expect("UTF-8 path"),
        "--rejects",
        rejects.path().to_str().expect("UTF-8 path"),
        dir.to_str().expect("UTF-8 path"),
    ]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stats = common::stats(&output);
    let json = stats.iter().find(|r| r.0 == "json").expect("json row");
    // The sample's own line count: every line of every JSON member.
    assert_eq!(json.1, 412_521);
    assert_eq!(json.2, 0, "JSON records were rejected");

    let rejected = std::fs::read_to_string(rejects.path()).expect("rejects file");
    for line in rejected.lines() {
        let reject: serde_json::Value = serde_json::from_str(line).expect("JSON");
        let source = reject["source"].as_str().unwrap_or_default();
        assert!(
            source.ends_with("SOURCE")
                || source.ends_with("LICENSE")
                || source.contains("__MACOSX/._"),
            "unexpected reject: {line}"
        );
    }

    let (mut sysmon_1, mut sysmon_3, mut with_time) = (0u64, 0u64, 0u64);
    let reader = BufReader::new(std::fs::File::open(events.path()).expect("events file"));
    for line in reader.lines() {
        let event: serde_json::Value = serde_json::from_str(&line.expect("line")).expect("JSON");
        with_time += u64::from(event["time"].is_string());
        if event["event_src.title"] == "sysmon" {
            match event["msgid"].as_str() {
                Some("1") => {
                    assert!(event["object.process.fullpath"].is_string(), "{event}");
                    sysmon_1 += 1;
                }
                Some("3") => {
                    assert!(
                        event["dst.ip"].is_string() || event["dst.hostname"].is_string(),
                        "{event}"
                    );
                    sysmon_3 += 1;
                }
                _ => {}
            }
        }
    }
    assert_eq!(with_time, json.1, "events without a time");
    assert_eq!(
        (sysmon_1, sysmon_3),
        (585, 2162),
        "Sysmon process and network events"
    );
}

/// `hunt` with rules that read only the source's own fields leaves the Sysmon
/// mapping of events no rule matches undone, and completes the events that match:
/// every event in its alerts is the event `normalize` gives for that record, on one
/// thread and on several.
#[test]
fn hunted_events_are_the_normalized_events() {
    let capture = common::shared_dir().join("testdata/otrf/cmd_bitsadmin_download_psh_script.zip");
    let by_type = common::assert_hunted_events_are_normalized(&capture);
    // The capture holds process creations, network connections and DNS queries.
    assert_eq!(
        by_type.keys().map(String::as_str).collect::<Vec<_>>(),
        ["1", "22", "3"],
        "{by_type:?}"
    );
}
