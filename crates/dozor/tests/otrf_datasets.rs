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
    let rules = tempfile::tempdir().expect("temp dir");
    std::fs::write(
        rules.path().join("sysmon_mapped_events.yml"),
        "title: Sysmon process creations, connections and DNS queries\n\
         id: 5b0c7a52-3f0e-4a55-9d6a-2f1d0c9e8a11\n\
         logsource: {product: windows, service: sysmon}\n\
         detection:\n  selection:\n    EventID: [1, 3, 22]\n  condition: selection\n\
         level: informational\n",
    )
    .expect("rule file");
    let (normalized, _) = common::normalize(&capture, &[]);
    let by_body: std::collections::HashMap<&str, &serde_json::Value> = normalized
        .iter()
        .filter_map(|event| Some((event["body"].as_str()?, event)))
        .collect();
    for threads in ["1", "2"] {
        let output = common::dozor(&[
            "hunt",
            "--no-builtin",
            "--rules",
            rules.path().to_str().expect("UTF-8 path"),
            "--threads",
            threads,
            "--output",
            "jsonl",
            capture.to_str().expect("UTF-8 path"),
        ]);
        assert_eq!(output.status.code(), Some(1), "{output:?}");
        let mut by_type = std::collections::BTreeMap::new();
        for line in String::from_utf8_lossy(&output.stdout).lines() {
            let alert: serde_json::Value = serde_json::from_str(line).expect("JSON alert");
            let event = &alert["events"][0];
            let body = event["body"].as_str().expect("body");
            assert_eq!(Some(&event), by_body.get(body), "with {threads} threads");
            *by_type.entry(event["msgid"].to_string()).or_insert(0) += 1;
        }
        // The capture holds process creations, network connections and DNS queries.
        assert_eq!(by_type.len(), 3, "{by_type:?}");
    }
}
