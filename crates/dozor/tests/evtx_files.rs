//! Real EVTX files: every record of a Sysmon log is read, and a file with a corrupt
//! chunk yields its readable records plus counted errors instead of failing.

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
