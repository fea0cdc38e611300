//! Real Suricata EVE output (`crates/formats/testdata/suricata/eve.json`, written by
//! Suricata 7.0.10 from loopback traffic by `capture-suricata.sh`: a Telegram bot's DNS
//! lookups, TLS handshakes and HTTP polls, a browser's, and the sensor's own alerts)
//! through the whole pipeline: every record is read, the pack's rules fire on the bot's
//! traffic and the sensor's alerts only, and the resolved-service analytic joins the DNS
//! answer for `api.telegram.org` to the flows that went to its address.

mod common;

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde_json::Value;

fn eve() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../formats/testdata/suricata/eve.json")
}

#[test]
fn every_record_is_read_as_suricata() {
    let (events, output) = common::normalize(&eve(), &["--stats"]);
    assert_eq!(common::stats(&output), [("json".to_owned(), 33, 0)]);
    assert!(events.iter().all(|e| e["event_src.title"] == "suricata"));
}

#[test]
fn rules_and_the_resolved_service_analytic_on_the_sensor_s_records() {
    let path = eve();
    let output = common::dozor(&[
        "hunt",
        "--analytics",
        "--output",
        "jsonl",
        path.to_str().expect("UTF-8 path"),
    ]);
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let alerts: Vec<Value> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON alert"))
        .collect();
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
