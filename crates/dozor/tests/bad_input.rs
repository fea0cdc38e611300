//! Bad input is normal input: invalid UTF-8, truncated lines, a 10 MB line and binary
//! garbage between good records are rejected one by one with a reason, never a crash,
//! and the good records around them are all kept.

mod common;

use std::io::Write;

fn good_bind(n: usize) -> String {
    format!(
        "27-Nov-2026 19:25:10.{n:03} queries: info: client @0x7fa46de08098 127.0.0.{n}#5{n:04} (api.telegram.org): query: api.telegram.org IN A +E(0)K (127.0.0.1)\n"
    )
}

#[test]
fn bad_records_are_counted_and_good_ones_kept() {
    let mut file = tempfile::NamedTempFile::new().expect("temp file");
    let mut bytes = Vec::new();
    bytes.extend(good_bind(1).as_bytes());
    bytes.extend(b"27-Nov-2026 19:25:10.002 queries: info: client @0x7fa46de08098 127.0.0.2#5000 (caf\xe9.example): query: caf\xe9.example IN A + (127.0.0.1)\n");
    bytes.extend(good_bind(3).as_bytes());
    bytes.extend(b"27-Nov-2026 19:25:10.004 queries: info: client @0x7fa46de08098 127.0.0.4#5000 (a.example): query: a.exam\n");
    bytes.extend(good_bind(5).as_bytes());
    bytes.extend(vec![b'A'; 10 * 1024 * 1024]);
    bytes.push(b'\n');
    bytes.extend(good_bind(7).as_bytes());
    bytes.extend(b"\x00\x01\x02\xff\xfe garbage \x1b[31m\x7f\n");
    bytes.extend(good_bind(9).as_bytes());
    file.write_all(&bytes).expect("write");
    let rejects = tempfile::NamedTempFile::new().expect("temp file");
    let rejects_path = rejects.path().to_str().expect("UTF-8 path");
    let (events, output) = common::normalize(
        file.path(),
        &["--format", "bind", "--stats", "--rejects", rejects_path],
    );
    let clients: Vec<_> = events
        .iter()
        .map(|e| e["src.ip"].as_str().unwrap_or("").to_owned())
        .collect();
    assert_eq!(
        clients,
        [
            "127.0.0.1",
            "127.0.0.3",
            "127.0.0.5",
            "127.0.0.7",
            "127.0.0.9"
        ]
    );
    assert_eq!(common::stats(&output), [("bind".to_owned(), 5, 4)]);
    let reasons: Vec<String> = std::fs::read_to_string(rejects.path())
        .expect("rejects file")
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("JSON");
            format!("{}: {}", v["location"], v["reason"].as_str().unwrap_or(""))
        })
        .collect();
    assert_eq!(reasons.len(), 4, "{reasons:?}");
    assert!(reasons[0].starts_with("2: invalid UTF-8"), "{reasons:?}");
    assert!(reasons[1].starts_with("4: truncated query"), "{reasons:?}");
    assert!(
        reasons[2].starts_with("6: record of 10485760 bytes exceeds"),
        "{reasons:?}"
    );
    assert!(reasons[3].starts_with("8: "), "{reasons:?}");
}

#[test]
fn every_format_survives_garbage() {
    let mut file = tempfile::NamedTempFile::new().expect("temp file");
    let mut bytes: Vec<u8> = (0..=255u8).cycle().take(64 * 1024).collect();
    bytes.extend(b"\n{\"broken\": \n<Event><System>\n[2023-09-27 20:12:20,116]\n");
    file.write_all(&bytes).expect("write");
    let path = file.path().to_str().expect("UTF-8 path");
    let formats = common::dozor(&["formats"]);
    for line in String::from_utf8_lossy(&formats.stdout).lines() {
        let name = line.split_whitespace().next().expect("format name");
        let output = common::dozor(&["normalize", "--format", name, "--stats", path]);
        assert!(
            output.status.success(),
            "{name} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let rejected: u64 = common::stats(&output).iter().map(|r| r.2).sum();
        assert!(rejected > 0, "{name} rejected nothing");
    }
}
