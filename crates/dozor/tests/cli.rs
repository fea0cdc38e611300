//! The command line's contracts: stdin and gzip inputs, the format and field listings,
//! and errors that are errors.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};

const BIND_LINE: &str = "27-Nov-2026 19:25:11.687 queries: info: client @0x7fa469729098 127.0.0.17#50877 (api.telegram.org): query: api.telegram.org IN A +E(0)K (127.0.0.1) [ECS 198.51.100.0/24/0]\n";

#[test]
fn stdin_is_read_when_the_path_is_a_dash() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_dozor"))
        .args(["normalize", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("dozor runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(BIND_LINE.as_bytes())
        .expect("write");
    let output = child.wait_with_output().expect("dozor ends");
    assert!(output.status.success());
    let event: serde_json::Value = serde_json::from_slice(&output.stdout).expect("one JSON event");
    assert_eq!(event["object.query"], "api.telegram.org");
    assert_eq!(event["time"], "2026-11-27T19:25:11.687Z");
    assert_eq!(event["dns.ecs"], "198.51.100.0/24");
    assert_eq!(event["body"], BIND_LINE.trim_end());
}

#[test]
fn gzip_files_are_decoded() {
    let mut file = tempfile::Builder::new()
        .suffix(".log.gz")
        .tempfile()
        .expect("temp file");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(BIND_LINE.repeat(3).as_bytes())
        .expect("compress");
    file.write_all(&gz.finish().expect("compress"))
        .expect("write");
    let (events, output) = common::normalize(file.path(), &["--stats"]);
    assert_eq!(events.len(), 3);
    assert_eq!(common::stats(&output), [("bind".to_owned(), 3, 0)]);
}

#[test]
fn formats_and_fields_are_listed() {
    let formats = String::from_utf8(common::dozor(&["formats"]).stdout).expect("UTF-8");
    for name in [
        "evtx",
        "windows-xml",
        "json",
        "bind",
        "dnsmasq",
        "teamcity",
        "access-log",
        "syslog",
    ] {
        assert!(
            formats.lines().any(|l| l.starts_with(name)),
            "{name} not listed"
        );
    }
    let fields = String::from_utf8(common::dozor(&["fields"]).stdout).expect("UTF-8");
    for name in ["time ", "object.query ", "src.ip ", "subject.process.name "] {
        assert!(
            fields.lines().any(|l| l.starts_with(name)),
            "{name} not listed"
        );
    }
}

#[test]
fn usage_errors_fail() {
    let output = common::dozor(&["normalize", "--format", "no-such-format", "-"]);
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("unknown format"));
    let output = common::dozor(&["normalize", "/no/such/file"]);
    assert!(!output.status.success());
}

#[test]
fn hunt_gives_the_same_alerts_on_any_number_of_threads() {
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../formats/testdata");
    let paths: Vec<String> = [
        "bind",
        "dnsmasq",
        "syslog",
        "teamcity",
        "windows",
        "access-log",
    ]
    .iter()
    .map(|d| fixtures.join(d).display().to_string())
    .collect();
    let run = |threads: &str| {
        let mut args = vec!["hunt", "--output", "jsonl", "--threads", threads];
        args.extend(paths.iter().map(String::as_str));
        let output = common::dozor(&args);
        assert_eq!(
            output.status.code(),
            Some(1),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).expect("UTF-8")
    };
    let one = run("1");
    assert!(one.lines().count() >= 5, "{one}");
    assert!(
        one.contains("PT-CR-2186") && one.contains("PT-CR-2201") && one.contains("PT-CR-1963"),
        "{one}"
    );
    for threads in ["2", "3", "4"] {
        assert_eq!(run(threads), one, "{threads} threads");
    }
}

/// A large input is cut into parts that several threads normalize; alerts, counts of
/// events and of rejects (binary garbage, an over-long line) stay those of one thread.
#[test]
fn hunt_splits_large_line_inputs_without_changing_the_result() {
    let fixture = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../formats/testdata/bind/query-full.log");
    let lines = std::fs::read(&fixture).expect("BIND fixture");
    let mut input = Vec::new();
    for copy in 0..2000 {
        input.extend_from_slice(&lines);
        if copy == 700 {
            input.extend_from_slice(b"\x00\x01garbage\xff\n");
        }
        if copy == 1300 {
            input.extend_from_slice(&vec![b'a'; 2 * 1024 * 1024]);
            input.push(b'\n');
        }
    }
    assert!(input.len() > 4 * 1024 * 1024, "several parts");
    let mut file = tempfile::NamedTempFile::new().expect("temp file");
    file.write_all(&input).expect("write");
    let path = file.path().to_str().expect("UTF-8 path");
    let run = |threads: &str| {
        let output = common::dozor(&["hunt", "--output", "jsonl", "--threads", threads, path]);
        assert_eq!(output.status.code(), Some(1));
        let stderr = String::from_utf8_lossy(&output.stderr);
        let summary = stderr.lines().last().unwrap_or_default().to_owned();
        (String::from_utf8(output.stdout).expect("UTF-8"), summary)
    };
    let (alerts, summary) = run("1");
    assert!(alerts.lines().count() >= 2000, "{summary}");
    assert!(
        summary.ends_with(&format!(
            "2 rejected records, {} alerts",
            alerts.lines().count()
        )),
        "{summary}"
    );
    for threads in ["2", "3"] {
        let (other, other_summary) = run(threads);
        assert_eq!(other_summary, summary, "{threads} threads");
        assert!(other == alerts, "{threads} threads: alerts differ");
    }
}

#[test]
fn hunt_exits_zero_without_alerts() {
    let mut file = tempfile::NamedTempFile::new().expect("temp file");
    file.write_all(
        BIND_LINE
            .replace("api.telegram.org", "www.example.com")
            .as_bytes(),
    )
    .expect("write");
    let output = common::dozor(&["hunt", file.path().to_str().expect("UTF-8 path")]);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let output = common::dozor(&["hunt", "--format", "nope", "-"]);
    assert_eq!(output.status.code(), Some(2));
}
