//! Real BIND 9 and dnsmasq logs: `shared/tools/gen-real-dns-logs.sh` starts the real
//! servers on loopback, fires scripted queries and leaves their logs and the ground
//! truth (`queries.tsv`). Every BIND, dnsmasq and syslog file it writes must be read
//! without a single reject, every query line must become exactly one DNS query event,
//! and every query the script fired must be found with its client address, name and
//! type.

mod common;

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;

/// (client, name, type) of one query.
type Key = (String, String, String);

/// Decodes BIND-style `\DDD` escapes, as dig was given them.
fn unescape(name: &str) -> String {
    let mut out = String::new();
    let mut rest = name;
    while let Some(at) = rest.find('\\') {
        out.push_str(&rest[..at]);
        let code = rest.get(at + 1..at + 4).and_then(|d| d.parse::<u8>().ok());
        match code {
            Some(byte) => {
                out.push(char::from(byte));
                rest = &rest[at + 4..];
            }
            None => {
                out.push_str(&rest[at + 1..at + 2]);
                rest = &rest[at + 2..];
            }
        }
    }
    out + rest
}

fn ground_truth(dir: &Path) -> HashMap<String, Vec<Key>> {
    let tsv = std::fs::read_to_string(dir.join("queries.tsv")).expect("queries.tsv exists");
    let mut by_server: HashMap<String, Vec<Key>> = HashMap::new();
    for line in tsv.lines().skip(1) {
        let cols: Vec<&str> = line.split('\t').collect();
        let (server, src, qname, qtype) = (cols[1], cols[3], cols[4], cols[5]);
        by_server.entry(server.to_owned()).or_default().push((
            src.to_owned(),
            unescape(qname),
            qtype.to_owned(),
        ));
    }
    by_server
}

fn query_lines(path: &Path) -> usize {
    std::fs::read_to_string(path)
        .expect("log is readable")
        .lines()
        .filter(|l| l.contains(" query: ") || l.contains(" query["))
        .count()
}

#[test]
fn real_bind_and_dnsmasq_logs_normalize_completely() {
    let shared = common::shared_dir();
    let out = tempfile::tempdir().expect("temp dir");
    let status = Command::new("bash")
        .arg(shared.join("tools/gen-real-dns-logs.sh"))
        .arg(out.path())
        .status()
        .expect("the generator runs");
    assert!(status.success(), "gen-real-dns-logs.sh failed");
    let truth = ground_truth(out.path());

    let mut files: Vec<(String, Vec<&str>)> = Vec::new();
    for name in [
        "query.log",
        "query-time.log",
        "query-full.log",
        "query-iso8601.log",
        "query-iso8601-utc.log",
        "rpz.log",
        "named-general.log",
    ] {
        let servers = if name.starts_with("query") {
            vec!["named"]
        } else {
            vec![]
        };
        files.push((format!("bind/{name}"), servers));
    }
    files.push(("dnsmasq/dnsmasq-queries.log".into(), vec!["dnsmasq-plain"]));
    files.push((
        "dnsmasq/dnsmasq-queries-extra.log".into(),
        vec!["dnsmasq-extra"],
    ));
    for name in [
        "syslog-traditional.log",
        "syslog-rfc3339.log",
        "syslog-rfc5424.log",
        "syslog-rfc3164-wire.log",
    ] {
        files.push((format!("syslog/{name}"), vec!["named", "dnsmasq-syslog"]));
    }

    let mut report = Vec::new();
    for (file, servers) in &files {
        let path = out.path().join(file);
        let (events, output) = common::normalize(&path, &["--stats"]);
        let rejected: u64 = common::stats(&output).iter().map(|r| r.2).sum();
        assert_eq!(
            rejected,
            0,
            "{file}: rejected records:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let mut found: HashMap<Key, usize> = HashMap::new();
        let mut queries = 0;
        for event in &events {
            if event["msgid"] != "query" || event["object.type"] != "DNS" {
                continue;
            }
            queries += 1;
            let field = |name: &str| event[name].as_str().unwrap_or_default().to_owned();
            *found
                .entry((field("src.ip"), field("object.query"), field("dns.type")))
                .or_default() += 1;
        }
        assert_eq!(
            queries,
            query_lines(&path),
            "{file}: query events vs query lines"
        );
        let mut expected = 0;
        for server in servers {
            for key in &truth[*server] {
                expected += 1;
                let left = found.get_mut(key).filter(|n| **n > 0);
                let Some(left) = left else {
                    panic!("{file}: no query event for {key:?} fired at {server}");
                };
                *left -= 1;
            }
        }
        report.push(format!(
            "{file:<40} {:>4} events {queries:>4} queries {expected:>4} matched to queries.tsv",
            events.len()
        ));
    }
    println!("{}", report.join("\n"));
    hunt_finds_every_bot_api_query(out.path(), &files);
}

/// `dozor hunt` raises one BIND (PT-CR-2186) or dnsmasq (PT-CR-2201) alert per query
/// for the Bot API host, and none for any other name.
fn hunt_finds_every_bot_api_query(dir: &Path, files: &[(String, Vec<&str>)]) {
    assert!(!files.is_empty());
    for (file, _) in files {
        let path = dir.join(file);
        let output = common::dozor(&[
            "hunt",
            "--output",
            "jsonl",
            path.to_str().expect("UTF-8 path"),
        ]);
        assert!(
            matches!(output.status.code(), Some(0 | 1)),
            "{file}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let mut by_rule: HashMap<String, usize> = HashMap::new();
        for alert in common::alerts(&output) {
            if let Some(reference) = alert["rule"]["reference_rule"].as_str() {
                let code = reference.split(' ').next().unwrap_or_default().to_owned();
                let query = alert["events"][0]["object.query"]
                    .as_str()
                    .unwrap_or_default();
                if code == "PT-CR-2186" || code == "PT-CR-2201" {
                    assert!(
                        query.eq_ignore_ascii_case("api.telegram.org"),
                        "{file}: {code} fired for {query}"
                    );
                }
                *by_rule.entry(code).or_default() += 1;
            }
        }
        let text = std::fs::read_to_string(&path)
            .expect("log")
            .to_ascii_lowercase();
        let count = |pattern: &str| text.lines().filter(|l| l.contains(pattern)).count();
        let bind = count(" query: api.telegram.org in ");
        let dnsmasq = count("] api.telegram.org from ");
        assert_eq!(
            by_rule.get("PT-CR-2186").copied().unwrap_or(0),
            bind,
            "{file}: BIND alerts"
        );
        assert_eq!(
            by_rule.get("PT-CR-2201").copied().unwrap_or(0),
            dnsmasq,
            "{file}: dnsmasq alerts"
        );
    }
}
