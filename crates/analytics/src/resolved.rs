//! Resolved services: DNS answers for the watched web services, remembered per host, so
//! that a later connection to one of those addresses (a flow record, Sysmon 3, an audit
//! `connect`, which name only the address) is known for what it reaches. The event gets
//! the name (`dst.host`, when it has none), so rules on names apply to it, and a first
//! such connection per host, client and address raises a finding saying which answer
//! it follows.

use std::collections::BTreeMap;
use std::net::IpAddr;

use dozor_event::{Event, Value, taxonomy as t};
use dozor_rules::Alert;
use serde::{Deserialize, Serialize};

use crate::network::{host_of, name_destination};
use crate::{NetworkUse, Watched, alert, human_duration, rule_ref};

/// How long an answer is remembered, ms (longer than the TTLs of these services).
const REMEMBER_MS: i64 = 24 * 3600 * 1000;
/// A connection to the same address by the same client is reported again after this, ms.
const REPORT_AGAIN_MS: i64 = 24 * 3600 * 1000;
/// The most answers remembered; when full, expired ones make room.
const MAX_ANSWERS: usize = 100_000;

/// Rule id of the finding.
pub const RESOLVED_RULE: &str = "dozor-analytic-resolved-service-connection";

/// Answers and reports, by host.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Resolved {
    /// `host \u{1f} address` -> (name, list, when answered).
    answers: BTreeMap<String, (String, String, i64)>,
    /// `host \u{1f} client \u{1f} address` -> when last reported.
    reported: BTreeMap<String, i64>,
}

/// A connection to an address a watched name resolved to.
#[derive(Debug, Clone, PartialEq)]
pub struct Connection {
    /// The host.
    pub host: String,
    /// The client, when the source names it.
    pub client: Option<String>,
    /// The address.
    pub address: String,
    /// The name it was the answer for.
    pub name: String,
    /// The watched list naming it.
    pub list: String,
    /// From the answer to the connection, ms.
    pub since_answer_ms: i64,
    /// Whether it is reported now.
    pub report: bool,
}

impl Resolved {
    /// Remembers the answers of `event` if it is a DNS answer for a watched name;
    /// whether it was one.
    pub fn learn(&mut self, event: &Event, watched: &Watched) -> bool {
        let Some(name) = event.get_str(t::OBJECT_QUERY) else {
            return false;
        };
        let name = name.trim_end_matches('.').to_ascii_lowercase();
        let Some(list) = watched.list_of(&name) else {
            return false;
        };
        let (Some(Value::List(answers)), Some(host), Some(time)) =
            (event.get(t::DNS_ANSWERS), host_of(event), event.time())
        else {
            return false;
        };
        let time = time.as_millisecond();
        if self.answers.len() >= MAX_ANSWERS {
            self.answers
                .retain(|_, (_, _, at)| time - *at < REMEMBER_MS);
            self.reported.retain(|_, at| time - *at < REPORT_AGAIN_MS);
        }
        for answer in answers {
            let address = match answer {
                Value::Ip(ip) => Some(*ip),
                Value::Str(s) => s.parse::<IpAddr>().ok(),
                _ => None,
            };
            if let Some(address) = address
                && self.answers.len() < MAX_ANSWERS
            {
                self.answers.insert(
                    format!("{host}\u{1f}{address}"),
                    (name.clone(), list.to_owned(), time),
                );
            }
        }
        true
    }

    /// The service `use_` reaches, if it is a connection to an address answered for a
    /// watched name on the same host within the last day.
    pub fn connection(&mut self, use_: &NetworkUse) -> Option<Connection> {
        let address: IpAddr = use_.destination.parse().ok()?;
        let (name, list, answered) = self
            .answers
            .get(&format!("{}\u{1f}{address}", use_.host))?
            .clone();
        let since = use_.time - answered;
        if !(0..REMEMBER_MS).contains(&since) {
            return None;
        }
        let client = use_.client.clone().unwrap_or_default();
        let key = format!("{}\u{1f}{client}\u{1f}{address}", use_.host);
        let report = self
            .reported
            .get(&key)
            .is_none_or(|at| use_.time - at >= REPORT_AGAIN_MS);
        if report {
            self.reported.insert(key, use_.time);
        }
        Some(Connection {
            host: use_.host.clone(),
            client: use_.client.clone(),
            address: address.to_string(),
            name,
            list,
            since_answer_ms: since,
            report,
        })
    }
}

impl Connection {
    /// Names the destination for rules, if the event has no name for it.
    pub fn mark(&self, event: &mut Event) {
        name_destination(event, &self.name);
    }

    /// The alert, when this connection is reported.
    pub fn alert(&self, event: &Event) -> Option<Alert> {
        if !self.report {
            return None;
        }
        let rule = rule_ref(
            RESOLVED_RULE,
            "Connection to an address of an abused web service, after resolving it",
            "low",
        );
        let mut details = vec![
            ("analytic".to_owned(), "resolved service".to_owned()),
            ("host".to_owned(), self.host.clone()),
            ("address".to_owned(), self.address.clone()),
            ("resolved name".to_owned(), self.name.clone()),
            ("watched list".to_owned(), self.list.clone()),
            (
                "answered before the connection".to_owned(),
                human_duration(self.since_answer_ms),
            ),
        ];
        if let Some(client) = &self.client {
            details.push(("client".to_owned(), client.clone()));
        }
        Some(alert(rule, event, details))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Analytics, AnalyticsConfig};
    use dozor_formats::{Collected, ReadContext};

    /// A Zeek `dns.log` record in Zeek's JSON form (the layout of the WRCCDC sample in
    /// `../shared/testdata/zeek/zeek-json/dns.json.gz`) with our names and addresses.
    fn dns(ts: &str, client: &str, query: &str, answers: &str) -> String {
        format!(
            r#"{{"_path":"dns","ts":"{ts}","uid":"CqKst53mF3det3eDV9","id.orig_h":"{client}","id.orig_p":41772,"id.resp_h":"10.0.0.100","id.resp_p":53,"proto":"udp","trans_id":36329,"query":"{query}","qclass":1,"qclass_name":"C_INTERNET","qtype":1,"qtype_name":"A","rcode":0,"rcode_name":"NOERROR","AA":false,"TC":false,"RD":true,"RA":true,"Z":0,"answers":[{answers}],"TTLs":[300.0],"rejected":false}}"#
        )
    }

    /// A Zeek `conn.log` record in Zeek's JSON form.
    fn conn(ts: &str, client: &str, server: &str) -> String {
        format!(
            r#"{{"_path":"conn","ts":"{ts}","uid":"C1XoZq2Yq1Qm7b0mTe","id.orig_h":"{client}","id.orig_p":50512,"id.resp_h":"{server}","id.resp_p":443,"proto":"tcp","service":"ssl","duration":0.43,"orig_bytes":517,"resp_bytes":4121,"conn_state":"SF","missed_bytes":0,"history":"ShADadFf","orig_pkts":9,"resp_pkts":8}}"#
        )
    }

    /// The findings (client address, details) and the name each conn record got.
    type Found = (Vec<(String, Vec<(String, String)>)>, Vec<Option<String>>);

    fn findings(lines: &[String]) -> Found {
        let text = lines.join("\n");
        let ctx = ReadContext {
            source: "zeek.json".into(),
            received: dozor_event::Timestamp::UNIX_EPOCH,
            max_record: 1 << 20,
            defer_mapping: false,
        };
        let mut sink = Collected::default();
        dozor_formats::find("json")
            .expect("json format")
            .read(&mut text.as_bytes(), &ctx, &mut sink)
            .expect("read");
        assert!(sink.rejects.is_empty(), "{:?}", sink.rejects);
        let lists = vec!["api.telegram.org".to_owned()];
        let watched = Watched::from_lists([("telegram_api_hosts", lists.as_slice())]);
        let mut analytics = Analytics::new(AnalyticsConfig::default(), watched);
        let mut alerts = Vec::new();
        let mut names = Vec::new();
        for mut event in sink.events {
            analytics.observe(&mut event, &mut alerts);
            if event.get_str(t::EVENT_SRC_SUBSYS) == Some("conn") {
                names.push(event.get_str(t::DST_HOST).map(str::to_owned));
            }
        }
        let alerts = alerts
            .into_iter()
            .map(|a| {
                let host = a.events[0].get(t::SRC_IP).map(ToString::to_string);
                (host.unwrap_or_default(), a.details)
            })
            .collect();
        (alerts, names)
    }

    #[test]
    fn a_connection_after_the_answer_is_named_and_reported_once() {
        let (found, names) = findings(&[
            dns(
                "2026-11-28T10:00:00Z",
                "10.0.0.7",
                "api.telegram.org",
                r#""149.154.167.220""#,
            ),
            dns(
                "2026-11-28T10:00:01Z",
                "10.0.0.7",
                "www.example.com",
                r#""93.184.216.34""#,
            ),
            conn("2026-11-28T10:00:02Z", "10.0.0.7", "149.154.167.220"),
            conn("2026-11-28T10:05:00Z", "10.0.0.7", "149.154.167.220"),
            // Another host did not resolve it; an unwatched name's address is nothing.
            conn("2026-11-28T10:06:00Z", "10.0.0.8", "149.154.167.220"),
            conn("2026-11-28T10:07:00Z", "10.0.0.7", "93.184.216.34"),
            // Two days later the answer is forgotten.
            conn("2026-11-30T10:07:00Z", "10.0.0.7", "149.154.167.220"),
        ]);
        assert_eq!(found.len(), 1, "{found:?}");
        // Connections within a day of the answer, from the host that asked, are named.
        let telegram = Some("api.telegram.org".to_owned());
        assert_eq!(names, [telegram.clone(), telegram, None, None, None]);
        let (host, details) = &found[0];
        assert_eq!(host, "10.0.0.7");
        let get = |name: &str| {
            details
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(get("resolved name"), Some("api.telegram.org"));
        assert_eq!(get("address"), Some("149.154.167.220"));
        assert_eq!(get("answered before the connection"), Some("2s"));
        assert_eq!(get("watched list"), Some("telegram_api_hosts"));
    }
}
