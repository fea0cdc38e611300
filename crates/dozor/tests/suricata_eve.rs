//! Real Suricata EVE output (`crates/formats/testdata/suricata/eve.json`, written by
//! Suricata 7.0.10 from loopback traffic by `capture-suricata.sh`: a Telegram bot's DNS
//! lookups, TLS handshakes and HTTP polls, a browser's, and the sensor's own alerts)
//! through the whole pipeline: every record is read, the pack's rules fire on the bot's
//! traffic and the sensor's alerts only, the resolved-service analytic joins the DNS
//! answer for `api.telegram.org` to the flows that went to its address, and the
//! attribution analytic joins the sensor's TLS records to an endpoint's records of the
//! same connections.

mod common;

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde_json::Value;

fn eve() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../formats/testdata/suricata/eve.json")
}

/// Runs `dozor hunt --analytics` (the shipped rules) over `paths`, which must raise
/// alerts; returns them.
fn hunt(paths: &[&std::path::Path]) -> Vec<Value> {
    let mut args = vec!["hunt", "--analytics", "--output", "jsonl"];
    args.extend(paths.iter().map(|p| p.to_str().expect("UTF-8 path")));
    let output = common::dozor(&args);
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    common::alerts(&output)
}

#[test]
fn every_record_is_read_as_suricata() {
    let (events, output) = common::normalize(&eve(), &["--stats"]);
    assert_eq!(common::stats(&output), [("json".to_owned(), 33, 0)]);
    assert!(events.iter().all(|e| e["event_src.title"] == "suricata"));
}

#[test]
fn rules_and_the_resolved_service_analytic_on_the_sensor_s_records() {
    let alerts = hunt(&[&eve()]);
    let mut by_rule: BTreeMap<&str, usize> = BTreeMap::new();
    for alert in &alerts {
        *by_rule
            .entry(alert["rule"]["title"].as_str().unwrap_or_default())
            .or_default() += 1;
        // About the Bot API: its name asked of the DNS server, or its address reached.
        let event = &alert["events"][0];
        let about = if event["dst.port"] == 53 {
            (&event["object.query"], "api.telegram.org")
        } else {
            (&event["dst.ip"], "149.154.167.220")
        };
        assert_eq!(about.0, about.1, "{alert}");
    }
    assert_eq!(
        by_rule,
        BTreeMap::from([
            // Three DNS queries, two TLS handshakes and one HTTP poll, all the bot's.
            (
                "Network IDS alert on traffic to a web service abused as a command channel",
                6
            ),
            (
                "TLS session to a web service abused as a command channel",
                2
            ),
            (
                "Non-browser client reaches a web service abused as a command channel through the proxy",
                1
            ),
            (
                "Connection to an address of an abused web service, after resolving it",
                1
            ),
        ])
    );
    let resolved = alerts
        .iter()
        .find(|a| a["rule"]["id"] == "dozor-analytic-resolved-service-connection")
        .expect("the resolved-service finding");
    assert_eq!(resolved["events"][0]["msgid"], "flow");
    let details = &resolved["details"];
    assert_eq!(details["host"], "127.0.0.1");
    assert_eq!(details["address"], "149.154.167.220");
    assert_eq!(details["resolved name"], "api.telegram.org");
    assert_eq!(details["watched list"], "telegram_api_hosts");
}

/// A Sysmon EventID 3 record in the OTRF (NXLog) JSON layout of
/// `../shared/testdata/otrf`, for a connection from `src_port` at `utc`.
fn sysmon_connection(utc: &str, image: &str, src_port: u64, dst: &str) -> String {
    serde_json::json!({
        "SourceName": "Microsoft-Windows-Sysmon",
        "Channel": "Microsoft-Windows-Sysmon/Operational",
        "Hostname": "WS01.corp.example",
        "EventID": 3,
        "Task": "3",
        "RuleName": "-",
        "UtcTime": utc,
        "ProcessGuid": "{1978b227-5270-6077-9c00-000000000500}",
        "ProcessId": "4242",
        "Image": image,
        "User": "CORP\\alice",
        "Protocol": "tcp",
        "Initiated": "true",
        "SourceIsIpv6": "false",
        "SourceIp": "127.0.0.1",
        "SourceHostname": "-",
        "SourcePort": src_port.to_string(),
        "SourcePortName": "-",
        "DestinationIsIpv6": "false",
        "DestinationIp": dst,
        "DestinationHostname": "-",
        "DestinationPort": "443",
        "DestinationPortName": "https"
    })
    .to_string()
}

#[test]
fn the_sensor_s_tls_records_are_tied_to_the_endpoint_s_processes() {
    // The endpoint's records of the bot's TLS connections and of the browser's, a
    // moment before the sensor's (source ports and times from eve.json).
    let text = std::fs::read_to_string(eve()).expect("eve.json");
    let connections = |sni: &str| -> Vec<(u64, String)> {
        text.lines()
            .map(|l| serde_json::from_str::<Value>(l).expect("JSON"))
            .filter(|r| r["event_type"] == "tls" && r["tls"]["sni"] == sni)
            .map(|record| {
                let time = record["timestamp"].as_str().expect("timestamp");
                // `2026-11-28T09:05:01.313241+0000` -> Sysmon's `2026-11-28 09:05:01.300`.
                let utc = format!("{} {}00", &time[..10], &time[11..21]);
                (record["src_port"].as_u64().expect("port"), utc)
            })
            .collect()
    };
    let bot = r"C:\Users\alice\AppData\Local\Temp\svchost.exe";
    let browser = r"C:\Program Files\Mozilla Firefox\firefox.exe";
    let bot_connections = connections("api.telegram.org");
    assert_eq!(bot_connections.len(), 2);
    let mut records = String::new();
    for (port, time) in &bot_connections {
        records += &sysmon_connection(time, bot, *port, "149.154.167.220");
        records.push('\n');
    }
    for (port, time) in connections("www.example.test") {
        records += &sysmon_connection(&time, browser, port, "127.0.0.1");
        records.push('\n');
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let sysmon = dir.path().join("sysmon.ndjson");
    std::fs::write(&sysmon, records).expect("write");
    let alerts = hunt(&[&sysmon, &eve()]);
    let attributed: Vec<&Value> = alerts
        .iter()
        .filter(|a| a["rule"]["id"] == "dozor-analytic-attributed-web-service")
        .collect();
    assert_eq!(attributed.len(), 1, "{attributed:?}");
    let details = &attributed[0]["details"];
    // The Sysmon mapping writes paths in lowercase, as the reference taxonomy does.
    assert_eq!(details["process"], bot.to_lowercase());
    assert_eq!(details["destination"], "api.telegram.org");
    assert_eq!(details["address"], "149.154.167.220:443");
    assert_eq!(details["seen by"], "suricata");
    assert_eq!(details["host"], "127.0.0.1");
    // The TLS rule's alert on that connection names the process the endpoint saw.
    let tls_alert = alerts
        .iter()
        .find(|a| {
            a["rule"]["title"] == "TLS session to a web service abused as a command channel"
                && a["events"][0]["src.port"] == bot_connections[0].0
        })
        .expect("the TLS rule's alert on the bot's connection");
    assert_eq!(
        tls_alert["events"][0]["subject.process.name"],
        "svchost.exe"
    );
    // The sensor's flow record of that connection names only the address; the DNS
    // answer names it, and it is attributed too (the resolved-service finding's event).
    let resolved = alerts
        .iter()
        .find(|a| a["rule"]["id"] == "dozor-analytic-resolved-service-connection")
        .expect("the resolved-service finding");
    let flow = &resolved["events"][0];
    assert_eq!(flow["msgid"], "flow");
    assert_eq!(flow["dst.host"], "api.telegram.org", "{flow}");
    assert_eq!(flow["subject.process.name"], "svchost.exe", "{flow}");
    // The endpoint rule sees the bot's connection to Telegram's network by itself.
    assert!(alerts.iter().any(|a| a["rule"]["title"]
        == "Process other than a Telegram client or browser reaches the Telegram Bot API"));
}
