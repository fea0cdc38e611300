//! The analytics end to end through `dozor hunt --analytics`: a proxy's log (Squid's
//! combined layout, as `crates/formats/testdata/access-log/squid-combined.log` holds it)
//! of two hosts over nine days, benign browsing and updates during the learning week,
//! then a Telegram bot polling `getUpdates` from one of them and a first visit to
//! Pastebin. Exactly three findings are expected, with their explanations, and the same
//! three when the run is cut in two with the baselines saved in between (a restart), in
//! `hunt` and in `serve` (where the incident page shows the explanation).

mod common;

use common::server::Server;
use serde_json::Value;

const DAY: i64 = 86_400;
/// 2026-11-01T00:00:00Z.
const START: i64 = 1_793_491_200;

/// One line of Squid's combined log at `seconds` since the epoch.
fn line(seconds: i64, client: &str, request: &str, agent: &str) -> (i64, String) {
    let time = dozor_time(seconds);
    let (status, codes) = if request.starts_with("CONNECT") {
        (200, "TCP_TUNNEL:HIER_DIRECT")
    } else {
        (200, "TCP_MISS:HIER_DIRECT")
    };
    (
        seconds,
        format!(
            "{client} - - [{time}] \"{request} HTTP/1.1\" {status} 4120 \"-\" \"{agent}\" {codes}"
        ),
    )
}

/// `28/Nov/2026:05:06:41 +0000` for `seconds` since the epoch.
fn dozor_time(seconds: i64) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    // Days since 2026-11-01; the test stays within November.
    let day = (seconds - START).div_euclid(DAY);
    let rest = (seconds - START).rem_euclid(DAY);
    assert!((0..30).contains(&day), "the test's clock left November");
    format!(
        "{:02}/{}/2026:{:02}:{:02}:{:02} +0000",
        day + 1,
        MONTHS[10],
        rest / 3600,
        rest / 60 % 60,
        rest % 60
    )
}

const BROWSER: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36";
const APT: &str = "Debian APT-HTTP/1.3 (2.6.1)";
const BOT: &str = "python-requests/2.31.0";

/// The log, in time order.
fn traffic() -> Vec<(i64, String)> {
    let mut lines = Vec::new();
    // Nine days of ordinary use by both hosts, at irregular minutes.
    for day in 0..9 {
        let morning = START + day * DAY + 9 * 3600;
        for (k, minute) in [0, 7, 52, 95, 180, 260, 400, 455].into_iter().enumerate() {
            let at = morning + minute * 60 + (day * 13 % 50);
            let request = [
                "GET http://www.example.com/",
                "CONNECT docs.example.org:443",
                "CONNECT api.telegram.org:443",
                "CONNECT www.example.com:443",
            ][k % 4];
            lines.push(line(at, "10.0.0.7", request, BROWSER));
            lines.push(line(at + 11, "10.0.0.8", request, BROWSER));
        }
        lines.push(line(
            morning + 3600 * 3 + day * 17,
            "10.0.0.7",
            "GET http://deb.debian.org/debian/dists/bookworm/InRelease",
            APT,
        ));
        // A first visit during the learning week is not reported.
        if day == 3 {
            lines.push(line(
                morning + 600,
                "10.0.0.7",
                "CONNECT news.example.net:443",
                BROWSER,
            ));
        }
    }
    // Day 8, 10:00: the bot polls every 30 s with a few seconds of jitter.
    let bot = START + 8 * DAY + 10 * 3600;
    for i in 0..20 {
        lines.push(line(
            bot + i * 30 + (i * 7 % 5) - 2,
            "10.0.0.7",
            "CONNECT api.telegram.org:443",
            BOT,
        ));
    }
    // Day 8, 11:00: the browser's first visit to Pastebin.
    lines.push(line(
        START + 8 * DAY + 11 * 3600,
        "10.0.0.7",
        "CONNECT pastebin.com:443",
        BROWSER,
    ));
    lines.sort();
    lines
}

/// Where to cut `lines` for a restart: just after the bot's fifth poll, so the new
/// client is found before the cut and the beacon and the new destination after it.
fn after_fifth_poll(lines: &[(i64, String)]) -> usize {
    lines
        .iter()
        .enumerate()
        .filter(|(_, (_, l))| l.contains(BOT))
        .nth(4)
        .map(|(i, _)| i + 1)
        .expect("five polls")
}

/// Runs `hunt --no-builtin --analytics` over `lines`; returns the alerts.
fn hunt(dir: &std::path::Path, name: &str, lines: &[(i64, String)], extra: &[&str]) -> Vec<Value> {
    let path = dir.join(name);
    let text: String = lines.iter().map(|(_, l)| format!("{l}\n")).collect();
    std::fs::write(&path, text).expect("write log");
    let mut args = vec!["hunt", "--no-builtin", "--analytics", "--output", "jsonl"];
    args.extend_from_slice(extra);
    args.push(path.to_str().expect("UTF-8 path"));
    let output = common::dozor(&args);
    assert!(output.status.code().is_some_and(|c| c <= 1), "{output:?}");
    common::alerts(&output)
}

/// (rule id, time, details) of each alert.
fn summary(alerts: &[Value]) -> Vec<(String, String, Value)> {
    alerts
        .iter()
        .map(|a| {
            (
                a["rule"]["id"].as_str().unwrap_or_default().to_owned(),
                a["time"].as_str().unwrap_or_default().to_owned(),
                a["details"].clone(),
            )
        })
        .collect()
}

fn expected() -> Vec<(String, String, Value)> {
    vec![
        (
            "dozor-analytic-first-seen-client".into(),
            "2026-11-09T09:59:58.000Z".into(),
            serde_json::json!({
                "analytic": "first seen",
                "new": "first network use of this client on this host",
                "host": "10.0.0.7",
                "client": "agent:python-requests/2.31.0",
                "destination": "api.telegram.org",
                "baseline age": "8d 0h",
                "destinations known for the client": "0",
                "network clients known on the host": "2",
            }),
        ),
        (
            "dozor-analytic-beaconing".into(),
            "2026-11-09T10:04:31.000Z".into(),
            serde_json::json!({
                "analytic": "beaconing",
                "host": "10.0.0.7",
                "destination": "api.telegram.org",
                "watched list": "telegram_api_hosts",
                "client": "agent:python-requests/2.31.0",
                "contacts": "10",
                // Polls at -2, 30, 62, 89, 121, 148, 180, 212, 239, 271 s: intervals
                // 32 (six times) and 27 (three times).
                "median interval": "32.0s",
                "mean interval": "30.3s",
                "standard deviation": "2.4s",
                "coefficient of variation": "0.078",
                "jitter": "16%",
                "span": "4m 33s",
            }),
        ),
        (
            "dozor-analytic-first-seen-destination".into(),
            "2026-11-09T11:00:00.000Z".into(),
            serde_json::json!({
                "analytic": "first seen",
                "new": "first contact of this client with this destination",
                "host": "10.0.0.7",
                "client": format!("agent:{BROWSER}"),
                "destination": "pastebin.com",
                "baseline age": "8d 2h",
                "destinations known for the client": "4",
                "network clients known on the host": "3",
            }),
        ),
    ]
}

#[test]
fn findings_on_mixed_traffic() {
    let dir = tempfile::tempdir().expect("temp dir");
    let alerts = hunt(dir.path(), "access.log", &traffic(), &[]);
    assert_eq!(summary(&alerts), expected());
    // The evidence is the proxy's record of the contact.
    assert_eq!(alerts[1]["events"][0]["dst.host"], "api.telegram.org");
    assert_eq!(alerts[1]["events"][0]["beacon.interval"], 32_000);
    assert_eq!(alerts[0]["events"][0]["baseline.new_client"], true);
}

#[test]
fn baselines_survive_a_restart() {
    let dir = tempfile::tempdir().expect("temp dir");
    let lines = traffic();
    // Cut after the bot's fifth poll: the new client is found before the restart,
    // the beacon and the new destination after it.
    let fifth_poll = after_fifth_poll(&lines);
    let (before, after) = lines.split_at(fifth_poll);
    let state = dir.path().join("baselines.json");
    let state_arg = state.to_str().expect("UTF-8 path");
    let mut alerts = hunt(
        dir.path(),
        "a.log",
        before,
        &["--analytics-state", state_arg],
    );
    assert_eq!(summary(&alerts), expected()[..1]);
    assert!(state.exists());
    alerts.extend(hunt(
        dir.path(),
        "b.log",
        after,
        &["--analytics-state", state_arg],
    ));
    assert_eq!(summary(&alerts), expected());
    // Without the saved baselines the second half starts learning again (no first-seen
    // finding) and the beacon's series starts over (found five polls later).
    let fresh = summary(&hunt(dir.path(), "b2.log", after, &[]));
    let rules: Vec<&str> = fresh.iter().map(|(rule, _, _)| rule.as_str()).collect();
    assert_eq!(rules, ["dozor-analytic-beaconing"]);
    assert!(fresh[0].1.as_str() > expected()[1].1.as_str());
}

#[test]
fn real_network_logs_raise_no_findings() {
    // The WRCCDC sensor's TLS and DNS logs hold regular traffic (security appliances
    // and update checks polling every 30-120 s), none of it to a watched web service;
    // Zeek's own conn.log baseline (crates/formats/testdata/zeek) holds a Teredo tunnel.
    let zeek = common::shared_dir().join("testdata/zeek");
    let baseline =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../formats/testdata/zeek/conn.log");
    for path in [
        zeek.join("zeek-default/ssl.log.gz"),
        zeek.join("zeek-default/dns.log.gz"),
        baseline,
    ] {
        let file = path.display();
        let output = common::dozor(&[
            "hunt",
            "--no-builtin",
            "--analytics",
            "--output",
            "jsonl",
            path.to_str().expect("UTF-8 path"),
        ]);
        assert_eq!(
            output.status.code(),
            Some(0),
            "{file}: {}",
            String::from_utf8_lossy(&output.stdout)
        );
    }
}

/// The findings of the service's incidents: (rule id, details), by time.
fn served_findings(server: &mut Server) -> Vec<(String, String, Value)> {
    let list = server.get("/api/v1/incidents");
    let mut findings = Vec::new();
    for incident in list["incidents"].as_array().expect("incidents") {
        let id = incident["id"].as_str().expect("id");
        let detail = server.get(&format!("/api/v1/incidents/{id}"));
        for finding in detail["findings"].as_array().expect("findings") {
            findings.push((
                finding["rule_id"].as_str().unwrap_or_default().to_owned(),
                finding["time"].as_str().unwrap_or_default().to_owned(),
                finding["details"].clone(),
            ));
        }
    }
    findings.sort_by(|a, b| a.1.cmp(&b.1));
    findings
}

#[test]
fn the_service_keeps_baselines_across_a_restart_and_shows_findings() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).expect("data dir");
    let mut server = Server::start(&data, None, &["--no-builtin"]);
    let lines = traffic();
    let fifth_poll = after_fifth_poll(&lines);
    let body =
        |part: &[(i64, String)]| -> String { part.iter().map(|(_, l)| format!("{l}\n")).collect() };
    let ingest = |server: &mut Server, text: String| {
        let (status, reply) = server.post_raw(
            "/api/v1/ingest?format=access-log",
            "text/plain",
            text.as_bytes(),
        );
        assert_eq!(status, 200, "{reply}");
    };
    ingest(&mut server, body(&lines[..fifth_poll]));
    let count = |body: &Value| body["incidents"].as_array().map_or(0, Vec::len);
    server.wait_for("/api/v1/incidents", 20, |b| count(b) >= 1);
    assert_eq!(served_findings(&mut server), expected()[..1]);

    server.restart();
    ingest(&mut server, body(&lines[fifth_poll..]));
    server.wait_for("/api/v1/incidents", 20, |b| count(b) >= 3);
    assert_eq!(served_findings(&mut server), expected());

    // The incident page explains the beacon.
    let list = server.get("/api/v1/incidents");
    let beacon = list["incidents"]
        .as_array()
        .and_then(|l| {
            l.iter()
                .find(|i| i["rule"]["id"] == "dozor-analytic-beaconing")
        })
        .expect("the beaconing incident");
    let id = beacon["id"].as_str().expect("id");
    let html = server.console_page(&format!("/incidents/{id}"));
    for text in [
        "<h2>Analytics</h2>",
        "<dt>median interval</dt><dd>32.0s</dd>",
        "<dt>coefficient of variation</dt><dd>0.078</dd>",
        "<dt>watched list</dt><dd>telegram_api_hosts</dd>",
    ] {
        assert!(html.contains(text), "{text} missing from the incident page");
    }
}

#[test]
fn an_unreadable_state_file_stops_the_hunt_and_is_kept() {
    // Baselines are weeks of learning: a state file this version cannot read is an
    // error to look at, not something to overwrite with empty baselines.
    let dir = tempfile::tempdir().expect("temp dir");
    let state = dir.path().join("state.json");
    std::fs::write(&state, "{\"first_seen\": tru").expect("write state");
    let log = dir.path().join("proxy.log");
    let text: String = traffic().iter().map(|(_, l)| format!("{l}\n")).collect();
    std::fs::write(&log, text).expect("write log");
    let output = common::dozor(&[
        "hunt",
        "--no-builtin",
        "--analytics",
        "--analytics-state",
        state.to_str().expect("UTF-8 path"),
        log.to_str().expect("UTF-8 path"),
    ]);
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("analytics state is unreadable"),
        "{output:?}"
    );
    assert_eq!(
        std::fs::read_to_string(&state).expect("state kept"),
        "{\"first_seen\": tru"
    );
}
