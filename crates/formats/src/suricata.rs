//! Suricata's EVE JSON output (`eve.json`, one object per line), read through the JSON
//! format. Every record is kept whole under its own dotted names (`raw.tls.ja4`,
//! `raw.alert.signature`; an array of objects becomes one list per member name, so
//! `raw.dns.answers.rdata` lists every answer), and what rules and the analytics use
//! goes to the taxonomy, as the other network sources set it:
//! - every record: the flow tuple (`src.*`, `dst.*`, `protocol`), `time`, the sensor
//!   (`event_src.host` from `host`) and the record type as `event_src.subsys`;
//! - `dns` (EVE DNS versions 1, 2 and 3; detailed and grouped answers): the name as
//!   `object.query`, `msgid` `query` or `answer`, the answers, type, id and flags;
//! - `tls`: the SNI as `dst.host` (JA3, JA3S and JA4 stay raw);
//! - `http`: host, URL, method, User-Agent, status, referrer and size;
//! - `flow`: a connection, dated from the flow's start, with its duration;
//! - `alert`: an NIDS detection: the signature as `reason`, its id as
//!   `event_src.rule`, the severity as `importance`, and the application fields the
//!   alert carries mapped as in their own records, so that rules see what it was about;
//! - any other type (`stats`, `fileinfo`, `anomaly`, ...): kept, with its type as `msgid`.

use std::net::IpAddr;

use dozor_event::{Event, Value, taxonomy as t};
use serde_json::{Map, Value as Json};

use crate::bind::dns_request;
use crate::format::ParseError;
use crate::http::{Transaction, set_destination_name};
use crate::json::to_value;

/// A decoded JSON object.
type Object = Map<String, Json>;

/// Whether `object` is an EVE record: an `event_type` and a `timestamp`, with a flow
/// (`flow_id`, `src_ip`) or statistics.
pub(crate) fn is_eve(object: &Object) -> bool {
    object.get("event_type").is_some_and(Json::is_string)
        && object.get("timestamp").is_some_and(Json::is_string)
        && ["flow_id", "src_ip", "stats"]
            .iter()
            .any(|k| object.contains_key(*k))
}

/// Maps an EVE record to the taxonomy, keeping every field under its own name.
pub(crate) fn normalize(object: &Object, event: &mut Event) -> Result<(), ParseError> {
    keep_raw("", object, event);
    let kind = text(object, "event_type").unwrap_or_default();
    event.set(t::EVENT_SRC_VENDOR, "oisf");
    event.set(t::EVENT_SRC_TITLE, "suricata");
    event.set(t::EVENT_SRC_CATEGORY, "Network sensor");
    event.set(t::EVENT_SRC_SUBSYS, kind);
    event.set(t::IMPORTANCE, "info");
    if let Some(sensor) = text(object, "host") {
        event.set(t::EVENT_SRC_HOST, sensor);
    }
    let stamp = text(object, "timestamp").ok_or("EVE record without timestamp")?;
    event.set(
        t::TIME,
        crate::windows::parse_time(stamp).ok_or("bad EVE timestamp")?,
    );
    set_tuple(object, event)?;
    let child = |name: &str| object.get(name).and_then(Json::as_object);
    match kind {
        "dns" => dns(child("dns").ok_or("EVE dns record without dns")?, event),
        "tls" => {
            event.set(t::MSGID, "tls");
            event.set(t::ACTION, "connect");
            if let Some(tls) = child("tls") {
                set_sni(tls, event);
            }
        }
        "http" => {
            event.set(t::MSGID, "http");
            http(child("http").ok_or("EVE http record without http")?, event);
        }
        "flow" => flow(child("flow"), event),
        "alert" => alert(object, event)?,
        other => {
            event.set(t::MSGID, other);
            event.set(t::ACTION, "info");
        }
    }
    Ok(())
}

/// The flow tuple: addresses, ports and transport protocol.
fn set_tuple(object: &Object, event: &mut Event) -> Result<(), ParseError> {
    for (ip_key, port_key, ip, port) in [
        ("src_ip", "src_port", t::SRC_IP, t::SRC_PORT),
        ("dest_ip", "dest_port", t::DST_IP, t::DST_PORT),
    ] {
        if let Some(addr) = text(object, ip_key) {
            let addr: IpAddr = addr
                .parse()
                .map_err(|_| format!("bad address in {ip_key}"))?;
            event.set(ip, addr);
        }
        if let Some(number) = object
            .get(port_key)
            .and_then(Json::as_u64)
            .and_then(|p| u16::try_from(p).ok())
        {
            event.set(port, number);
        }
    }
    if let Some(proto) = text(object, "proto") {
        event.set(t::PROTOCOL, proto.to_ascii_lowercase());
    }
    Ok(())
}

/// A DNS record: a query or an answer, in any of EVE's DNS versions.
fn dns(dns: &Object, event: &mut Event) {
    let answer = matches!(text(dns, "type"), Some("answer" | "response"));
    match question(dns, "rrname") {
        Some(name) => dns_request(event, if answer { "answer" } else { "query" }, name),
        None => {
            event.set(t::MSGID, "dns");
            event.set(t::ACTION, "info");
        }
    }
    if let Some(rrtype) = question(dns, "rrtype") {
        event.set(t::DNS_TYPE, rrtype);
    }
    if let Some(id) = dns.get("id").and_then(Json::as_i64) {
        event.set(t::DNS_QUERY_ID, id);
    }
    if let Some(rd) = dns.get("rd").and_then(Json::as_bool) {
        event.set(t::DNS_RECURSION_DESIRED, rd);
    }
    if let Some(flags) = text(dns, "flags") {
        event.set(t::DNS_FLAGS, flags);
    }
    if event.get_str(t::PROTOCOL).is_some() {
        event.set(t::DNS_TCP, event.get_str(t::PROTOCOL) == Some("tcp"));
    }
    if !answer {
        return;
    }
    event.set(t::ACTION, "respond");
    if let Some(rcode) = text(dns, "rcode").filter(|r| *r != "NOERROR") {
        event.set(t::STATUS, "failure");
        event.set(t::REASON, rcode);
    }
    let answers = answers(dns);
    if !answers.is_empty() {
        event.set(t::DNS_ANSWERS, answers);
    }
}

/// An answer's data: detailed (`answers[].rdata`), grouped (`grouped.A[]`, ...) or, in
/// version 1, one answer per record (`rdata`). Addresses as addresses.
fn answers(dns: &Object) -> Vec<Value> {
    let data: Vec<&str> = if let Some(detailed) = dns.get("answers").and_then(Json::as_array) {
        detailed
            .iter()
            .filter_map(|a| a.get("rdata").and_then(Json::as_str))
            .collect()
    } else if let Some(grouped) = dns.get("grouped").and_then(Json::as_object) {
        grouped
            .values()
            .filter_map(Json::as_array)
            .flatten()
            .filter_map(Json::as_str)
            .collect()
    } else {
        text(dns, "rdata").into_iter().collect()
    };
    data.into_iter()
        .map(|d| {
            d.parse::<IpAddr>()
                .map_or_else(|_| Value::from(d), Value::Ip)
        })
        .collect()
}

/// The server name a TLS client asked for, as the destination's name.
fn set_sni(tls: &Object, event: &mut Event) {
    if let Some(sni) = text(tls, "sni") {
        set_destination_name(event, sni);
    }
}

/// An HTTP transaction, as the access logs map a request.
fn http(http: &Object, event: &mut Event) {
    Transaction {
        host: text(http, "hostname"),
        method: text(http, "http_method"),
        url: text(http, "url"),
        user_agent: text(http, "http_user_agent"),
        referrer: text(http, "http_refer"),
        version: text(http, "protocol").map(str::to_owned),
        bytes: http.get("length").and_then(Json::as_i64),
        status: http.get("status").and_then(Json::as_i64),
    }
    .set(event);
}

/// A flow: one connection, dated from its start, lasting until its last packet.
fn flow(flow: Option<&Object>, event: &mut Event) {
    event.set(t::MSGID, "flow");
    event.set(t::ACTION, "connect");
    event.set(t::OBJECT, "connection");
    let Some(flow) = flow else {
        return;
    };
    let time = |key: &str| text(flow, key).and_then(crate::windows::parse_time);
    if let Some(start) = time("start") {
        event.set(t::TIME, start);
        if let Some(end) = time("end") {
            let ms = end.as_millisecond() - start.as_millisecond();
            event.set(t::DURATION, ms.max(0));
        }
    }
}

/// An alert: the signature that matched, and what the traffic was about.
fn alert(object: &Object, event: &mut Event) -> Result<(), ParseError> {
    let alert = object
        .get("alert")
        .and_then(Json::as_object)
        .ok_or("EVE alert record without alert")?;
    // What the alert was about, mapped as in the application's own records; the
    // alert's own fields, set after, take precedence.
    if let Some(tls) = object.get("tls").and_then(Json::as_object) {
        set_sni(tls, event);
    }
    if let Some(http_fields) = object.get("http").and_then(Json::as_object) {
        http(http_fields, event);
    }
    if let Some(dns) = object.get("dns").and_then(Json::as_object)
        && let Some(name) = question(dns, "rrname")
    {
        event.set(t::OBJECT_QUERY, name);
    }
    event.set(t::MSGID, "alert");
    event.set(t::ACTION, "detect");
    event.set(t::OBJECT, "attack");
    if let Some(signature) = text(alert, "signature") {
        event.set(t::REASON, signature);
    }
    if let Some(id) = alert.get("signature_id").and_then(Json::as_i64) {
        event.set(t::EVENT_SRC_RULE, id.to_string());
    }
    if let Some(category) = text(alert, "category") {
        event.set(t::OBJECT_NAME, category);
    }
    let importance = match alert.get("severity").and_then(Json::as_i64) {
        Some(1) => "high",
        Some(2) => "medium",
        _ => "low",
    };
    event.set(t::IMPORTANCE, importance);
    let blocked = matches!(text(alert, "action"), Some("blocked"));
    event.set(t::STATUS, if blocked { "blocked" } else { "allowed" });
    Ok(())
}

/// The text of `object[key]`.
fn text<'a>(object: &'a Object, key: &str) -> Option<&'a str> {
    object.get(key).and_then(Json::as_str)
}

/// A field of a DNS record's question: on the record itself (versions 1 and 2), or
/// in its first query (`queries`, version 3; `query`, version 2 inside an alert).
fn question<'a>(dns: &'a Object, key: &str) -> Option<&'a str> {
    text(dns, key)
        .or_else(|| first_member(dns, "queries", key))
        .or_else(|| first_member(dns, "query", key))
}

/// The text of `object[array][0][key]`.
fn first_member<'a>(object: &'a Object, array: &str, key: &str) -> Option<&'a str> {
    object.get(array)?.as_array()?.first()?.get(key)?.as_str()
}

/// Keeps every field of `object` under its dotted name (below `prefix`); the members
/// of an array of objects become one list per member name.
fn keep_raw(prefix: &str, object: &Object, event: &mut Event) {
    for (key, value) in object {
        let name = dotted(prefix, key);
        match value {
            Json::Object(child) => keep_raw(&name, child, event),
            Json::Array(items) if items.iter().any(Json::is_object) => {
                let mut lists: Vec<(String, Vec<Value>)> = Vec::new();
                for item in items.iter().filter_map(Json::as_object) {
                    collect_members(&name, item, &mut lists);
                }
                for (member, list) in lists {
                    event.set_raw(member, Value::List(list));
                }
            }
            other => {
                if let Some(value) = to_value(other) {
                    event.set_raw(name, value);
                }
            }
        }
    }
}

/// Appends the fields of one array element to the lists of their dotted names.
fn collect_members(prefix: &str, object: &Object, lists: &mut Vec<(String, Vec<Value>)>) {
    for (key, value) in object {
        let name = dotted(prefix, key);
        if let Json::Object(child) = value {
            collect_members(&name, child, lists);
            continue;
        }
        let values: Vec<Value> = match value {
            Json::Array(items) => items.iter().filter_map(to_value).collect(),
            other => to_value(other).into_iter().collect(),
        };
        match lists.iter_mut().find(|(n, _)| *n == name) {
            Some((_, list)) => list.extend(values),
            None => lists.push((name, values)),
        }
    }
}

fn dotted(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_owned()
    } else {
        format!("{prefix}.{key}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Collected;

    /// The real EVE output of `testdata/capture-suricata.sh`.
    const EVE: &str = include_str!("../testdata/suricata/eve.json");
    const GROUPED: &str = include_str!("../testdata/suricata/eve-grouped.json");

    fn read(text: &str) -> Collected {
        crate::format::read_text(&crate::json::JsonEvents, text)
    }

    fn of_type<'a>(events: &'a [Event], kind: &str) -> Vec<&'a Event> {
        events
            .iter()
            .filter(|e| e.get_str(t::EVENT_SRC_SUBSYS) == Some(kind))
            .collect()
    }

    #[test]
    fn every_record_of_the_real_output_is_read() {
        let got = read(EVE);
        assert!(got.rejects.is_empty(), "{:?}", got.rejects);
        assert_eq!(got.events.len(), EVE.lines().count());
        for event in &got.events {
            assert_eq!(event.get_str(t::EVENT_SRC_TITLE), Some("suricata"));
            assert!(event.time().is_some());
            assert!(event.check_kinds().is_ok(), "{event:?}");
        }
        let count = |kind| of_type(&got.events, kind).len();
        assert_eq!(
            [
                count("alert"),
                count("dns"),
                count("tls"),
                count("http"),
                count("flow")
            ],
            [7, 10, 3, 2, 10]
        );
        assert_eq!(count("stats"), 1);
    }

    #[test]
    fn dns_queries_and_answers() {
        let got = read(EVE);
        let dns = of_type(&got.events, "dns");
        let queries: Vec<_> = dns
            .iter()
            .filter(|e| e.get_str(t::MSGID) == Some("query"))
            .collect();
        assert_eq!(queries.len(), 5);
        assert!(
            queries
                .iter()
                .all(|e| e.get_str(t::OBJECT_QUERY).is_some() && e.get(t::DNS_TYPE).is_some())
        );
        let telegram = dns
            .iter()
            .find(|e| {
                e.get_str(t::MSGID) == Some("answer")
                    && e.get_str(t::OBJECT_QUERY) == Some("api.telegram.org")
                    && e.get_str(t::DNS_TYPE) == Some("A")
            })
            .expect("the answer for api.telegram.org");
        assert_eq!(
            telegram.get(t::DNS_ANSWERS),
            Some(&Value::List(vec![Value::Ip(
                "149.154.167.220".parse().expect("ip")
            )]))
        );
        assert_eq!(
            telegram.raw("dns.answers.rdata"),
            Some(&Value::List(vec![Value::from("149.154.167.220")]))
        );
        let nx = dns
            .iter()
            .find(|e| e.get_str(t::REASON) == Some("NXDOMAIN"))
            .expect("the NXDOMAIN answer");
        assert_eq!(nx.get_str(t::STATUS), Some("failure"));
        assert_eq!(nx.get_str(t::OBJECT_QUERY), Some("nx.example.test"));
        assert!(
            dns.iter()
                .any(|e| e.get(t::DNS_TCP) == Some(&Value::Bool(true)))
        );
    }

    #[test]
    fn grouped_answers_alone() {
        let got = read(GROUPED);
        assert!(got.rejects.is_empty(), "{:?}", got.rejects);
        let answer = got
            .events
            .iter()
            .find(|e| {
                e.get_str(t::MSGID) == Some("answer")
                    && e.get_str(t::OBJECT_QUERY) == Some("www.example.test")
            })
            .expect("an answer");
        assert_eq!(answer.raw("dns.answers.rdata"), None);
        assert_eq!(
            answer.get(t::DNS_ANSWERS),
            Some(&Value::List(vec![Value::Ip(
                "127.0.0.1".parse().expect("ip")
            )]))
        );
    }

    #[test]
    fn tls_http_and_flows() {
        let got = read(EVE);
        let tls = of_type(&got.events, "tls");
        let hosts: Vec<_> = tls.iter().filter_map(|e| e.get_str(t::DST_HOST)).collect();
        assert_eq!(
            hosts.iter().filter(|h| **h == "api.telegram.org").count(),
            2
        );
        assert!(hosts.contains(&"www.example.test"));
        for e in &tls {
            assert!(matches!(e.raw("tls.ja4"), Some(Value::Str(_))));
            assert!(matches!(e.raw("tls.ja3.hash"), Some(Value::Str(_))));
            assert_eq!(e.get(t::DST_PORT), Some(&Value::Int(443)));
            assert_eq!(e.get_str(t::PROTOCOL), Some("tcp"));
        }
        let bot = of_type(&got.events, "http")
            .into_iter()
            .find(|e| e.get_str(t::HTTP_USER_AGENT) == Some("python-requests/2.31.0"))
            .expect("the bot's request");
        assert_eq!(bot.get_str(t::DST_HOST), Some("api.telegram.org"));
        assert_eq!(bot.get_str(t::HTTP_METHOD), Some("GET"));
        assert_eq!(bot.get(t::HTTP_STATUS), Some(&Value::Int(404)));
        assert!(
            bot.get_str(t::HTTP_URL)
                .is_some_and(|u| u.ends_with("/getUpdates?offset=0"))
        );
        for flow in of_type(&got.events, "flow") {
            assert_eq!(flow.get_str(t::ACTION), Some("connect"));
            let start = flow
                .raw("flow.start")
                .and_then(|v| match v {
                    Value::Str(s) => crate::windows::parse_time(s),
                    _ => None,
                })
                .expect("flow start");
            assert_eq!(flow.time(), Some(start));
            assert!(matches!(flow.get(t::DURATION), Some(Value::Int(ms)) if *ms >= 0));
        }
    }

    #[test]
    fn alerts_carry_the_signature_and_what_it_was_about() {
        let got = read(EVE);
        let alerts = of_type(&got.events, "alert");
        for e in &alerts {
            assert_eq!(e.get_str(t::ACTION), Some("detect"));
            assert_eq!(e.get_str(t::STATUS), Some("allowed"));
            assert!(
                e.get_str(t::REASON)
                    .is_some_and(|r| r.starts_with("DOZOR "))
            );
            // Severity 1 for the Telegram rules, 3 for the benign one.
            let benign = e.get_str(t::EVENT_SRC_RULE) == Some("9000004");
            let importance = if benign { "low" } else { "high" };
            assert_eq!(e.get_str(t::IMPORTANCE), Some(importance));
        }
        let by_sid = |sid: &str| {
            alerts
                .iter()
                .filter(|e| e.get_str(t::EVENT_SRC_RULE) == Some(sid))
                .collect::<Vec<_>>()
        };
        assert_eq!(by_sid("9000001").len(), 3);
        assert!(
            by_sid("9000001")
                .iter()
                .all(|e| e.get_str(t::OBJECT_QUERY) == Some("api.telegram.org"))
        );
        assert_eq!(by_sid("9000002").len(), 2);
        assert!(
            by_sid("9000002")
                .iter()
                .all(|e| e.get_str(t::DST_HOST) == Some("api.telegram.org"))
        );
        let http = by_sid("9000003");
        assert_eq!(http.len(), 1);
        assert_eq!(
            http[0].get_str(t::HTTP_USER_AGENT),
            Some("python-requests/2.31.0")
        );
        assert_eq!(
            by_sid("9000004")[0].get_str(t::DST_HOST),
            Some("www.example.test")
        );
    }

    #[test]
    fn bad_records_are_rejected_and_the_rest_kept() {
        let good = EVE.lines().next().expect("a line");
        let text = format!(
            "{good}\n{{\"timestamp\":\"yesterday\",\"event_type\":\"flow\",\"flow_id\":1}}\n\
             {{\"timestamp\":\"2026-11-28T08:46:19.784594+0000\",\"event_type\":\"tls\",\"flow_id\":1,\"src_ip\":\"not-an-ip\"}}\n\
             {{\"timestamp\":\"2026-11-28T08:46:19.784594+0000\",\"event_type\":\"dns\",\"flow_id\":1}}\n{good}\n"
        );
        let got = read(&text);
        assert_eq!(got.rejects.len(), 3, "{:?}", got.rejects);
        assert_eq!(got.events.len(), 2);
    }
}
