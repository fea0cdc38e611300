//! Zeek logs: the tab-separated files Zeek writes by default (`#separator`, `#fields`
//! and `#types` header lines, `-` for unset, `(empty)` for empty, `,` between set
//! members) and its JSON lines (`LogAscii::use_json`). One mapping for both: every
//! field is kept under its own name, and the connection tuple and time go to the
//! taxonomy, with, for `dns.log`, the query, type, class, answers and flags (so the DNS
//! rules that watch BIND and dnsmasq also watch the network sensor); for `ssl.log` the
//! server name; for `conn.log` the connection's duration and outcome; for `http.log`
//! the request as the access logs map it.

use std::borrow::Cow;
use std::io::{self, BufRead};
use std::net::IpAddr;

use dozor_event::{Event, Timestamp, Value, taxonomy as t};

use crate::bind::dns_request;
use crate::format::{Format, ParseError, ReadContext, Sink};
use crate::lines::read_lines_with_headers;

/// Zeek's tab-separated logs.
pub(crate) struct ZeekTsv;

/// One Zeek record: its fields by name, in log order.
pub(crate) struct ZeekRecord<'a> {
    /// The log (`dns`, `conn`, `ssl`, ...), from `#path` or `_path`.
    pub path: Cow<'a, str>,
    /// The fields that are set, each with its value or set/vector members.
    pub fields: Vec<(Cow<'a, str>, ZeekValue<'a>)>,
}

/// A field's value.
pub(crate) enum ZeekValue<'a> {
    /// A single value, as text.
    One(Cow<'a, str>),
    /// The members of a set or vector.
    Many(Vec<Cow<'a, str>>),
}

impl ZeekRecord<'_> {
    fn get(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(n, _)| n == name)
            .and_then(|(_, v)| match v {
                ZeekValue::One(text) => Some(text.as_ref()),
                ZeekValue::Many(_) => None,
            })
    }

    fn many(&self, name: &str) -> Option<&[Cow<'_, str>]> {
        self.fields
            .iter()
            .find(|(n, _)| n == name)
            .and_then(|(_, v)| match v {
                ZeekValue::Many(items) => Some(items.as_slice()),
                ZeekValue::One(_) => None,
            })
    }
}

/// The layout a TSV file's header declares.
#[derive(Default)]
struct Header {
    path: String,
    fields: Vec<String>,
    set_separator: String,
    unset: String,
    empty: String,
    /// Which fields are sets or vectors (`#types`).
    multi: Vec<bool>,
}

impl Format for ZeekTsv {
    fn name(&self) -> &'static str {
        "zeek"
    }

    fn description(&self) -> &'static str {
        "Zeek logs, tab-separated with their #fields header (dns, conn, ssl, http, ...)"
    }

    fn detect(&self, head: &[u8]) -> u8 {
        if head.starts_with(b"#separator \\x09") {
            95
        } else {
            0
        }
    }

    fn read(
        &self,
        input: &mut dyn BufRead,
        ctx: &ReadContext,
        sink: &mut dyn Sink,
    ) -> io::Result<()> {
        let mut header = Header {
            set_separator: ",".into(),
            unset: "-".into(),
            empty: "(empty)".into(),
            ..Header::default()
        };
        read_lines_with_headers(self.name(), input, ctx, sink, |line, event| {
            if let Some(directive) = line.strip_prefix('#') {
                header.apply(directive);
                return Ok(false);
            }
            normalize(&header.record(line)?, event).map(|()| true)
        })
    }
}

impl Header {
    /// Takes in one `#` line.
    fn apply(&mut self, directive: &str) {
        let (name, rest) = directive.split_once(['\t', ' ']).unwrap_or((directive, ""));
        let values = || rest.split('\t').map(str::to_owned);
        match name {
            "path" => self.path = rest.to_owned(),
            "fields" => self.fields = values().collect(),
            "types" => {
                self.multi = values()
                    .map(|t| t.starts_with("set[") || t.starts_with("vector["))
                    .collect();
            }
            "set_separator" => self.set_separator = rest.to_owned(),
            "unset_field" => self.unset = rest.to_owned(),
            "empty_field" => self.empty = rest.to_owned(),
            _ => {}
        }
    }

    /// One data line as a record.
    fn record<'a>(&'a self, line: &'a str) -> Result<ZeekRecord<'a>, ParseError> {
        if self.fields.is_empty() {
            return Err("Zeek record before any #fields header".into());
        }
        let values: Vec<&str> = line.split('\t').collect();
        if values.len() != self.fields.len() {
            return Err(format!(
                "{} values where the #fields header names {}",
                values.len(),
                self.fields.len()
            )
            .into());
        }
        let mut fields = Vec::with_capacity(values.len());
        for (i, (name, value)) in self.fields.iter().zip(values).enumerate() {
            if value == self.unset {
                continue;
            }
            let multi = self.multi.get(i).copied().unwrap_or(false);
            let value = if multi {
                let members = if value == self.empty {
                    Vec::new()
                } else {
                    value
                        .split(self.set_separator.as_str())
                        .map(|m| Cow::Owned(unescape(m)))
                        .collect()
                };
                ZeekValue::Many(members)
            } else if value == self.empty {
                ZeekValue::One(Cow::Borrowed(""))
            } else {
                ZeekValue::One(Cow::Owned(unescape(value)))
            };
            fields.push((Cow::Borrowed(name.as_str()), value));
        }
        Ok(ZeekRecord {
            path: Cow::Borrowed(self.path.as_str()),
            fields,
        })
    }
}

/// Zeek's ASCII writer escapes bytes it cannot print as `\xNN`.
fn unescape(value: &str) -> String {
    if !value.contains("\\x") {
        return value.to_owned();
    }
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\'
            && bytes.get(i + 1) == Some(&b'x')
            && let Some(byte) = bytes
                .get(i + 2..i + 4)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(byte);
            i += 4;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A Zeek JSON object (as `serde_json` reads it) as a record, if it is one: it has
/// Zeek's connection id (`id.orig_h`) and `uid`, or `_path`.
pub(crate) fn record_from_json(
    object: &serde_json::Map<String, serde_json::Value>,
) -> Option<ZeekRecord<'_>> {
    use serde_json::Value as Json;
    let path = object.get("_path").and_then(Json::as_str);
    if path.is_none() && !(object.contains_key("uid") && object.contains_key("id.orig_h")) {
        return None;
    }
    let text = |v: &Json| -> Option<String> {
        match v {
            Json::String(s) => Some(s.clone()),
            Json::Number(n) => Some(n.to_string()),
            Json::Bool(b) => Some(if *b { "T" } else { "F" }.to_owned()),
            _ => None,
        }
    };
    let mut fields = Vec::with_capacity(object.len());
    for (name, value) in object {
        let value = match value {
            Json::Array(items) => {
                ZeekValue::Many(items.iter().filter_map(text).map(Cow::Owned).collect())
            }
            other => match text(other) {
                Some(t) => ZeekValue::One(Cow::Owned(t)),
                None => continue,
            },
        };
        fields.push((Cow::Borrowed(name.as_str()), value));
    }
    let path = path.map_or_else(|| infer_path(&fields), str::to_owned);
    Some(ZeekRecord {
        path: Cow::Owned(path),
        fields,
    })
}

/// The log a JSON record without `_path` comes from, by its fields.
fn infer_path(fields: &[(Cow<'_, str>, ZeekValue<'_>)]) -> String {
    let has = |name: &str| fields.iter().any(|(n, _)| n == name);
    if has("query") && has("trans_id") {
        "dns"
    } else if has("server_name") || has("ja3") {
        "ssl"
    } else if has("method") && has("host") {
        "http"
    } else if has("conn_state") {
        "conn"
    } else {
        "zeek"
    }
    .to_owned()
}

/// Maps a Zeek record to the taxonomy, keeping every field under its own name.
pub(crate) fn normalize(record: &ZeekRecord<'_>, event: &mut Event) -> Result<(), ParseError> {
    for (name, value) in &record.fields {
        let value = match value {
            ZeekValue::One(text) => Value::from(text.as_ref()),
            ZeekValue::Many(items) => {
                Value::List(items.iter().map(|i| Value::from(i.as_ref())).collect())
            }
        };
        event.set_raw(name.as_ref(), value);
    }
    event.set(t::EVENT_SRC_VENDOR, "zeek");
    event.set(t::EVENT_SRC_TITLE, "zeek");
    event.set(t::EVENT_SRC_CATEGORY, "Network sensor");
    event.set(t::EVENT_SRC_SUBSYS, record.path.as_ref());
    event.set(t::IMPORTANCE, "info");
    let time = record.get("ts").ok_or("Zeek record without ts")?;
    event.set(t::TIME, zeek_time(time).ok_or("bad Zeek ts")?);
    for (field, ip, port) in [
        ("orig", t::SRC_IP, t::SRC_PORT),
        ("resp", t::DST_IP, t::DST_PORT),
    ] {
        if let Some(addr) = record.get(&format!("id.{field}_h")) {
            let addr: IpAddr = addr
                .parse()
                .map_err(|_| "bad address in the connection id")?;
            event.set(ip, addr);
        }
        if let Some(number) = record
            .get(&format!("id.{field}_p"))
            .and_then(|p| p.parse::<u16>().ok())
        {
            event.set(port, number);
        }
    }
    if let Some(proto) = record.get("proto") {
        event.set(t::PROTOCOL, proto.to_ascii_lowercase());
    }
    match record.path.as_ref() {
        "dns" => dns(record, event),
        "ssl" => {
            event.set(t::MSGID, "ssl");
            event.set(t::ACTION, "connect");
            if let Some(sni) = record.get("server_name") {
                crate::http::set_destination_name(event, sni);
            }
        }
        "conn" => conn(record, event),
        "http" => http(record, event),
        other => {
            event.set(t::MSGID, other);
            event.set(t::ACTION, "info");
        }
    }
    Ok(())
}

/// `dns.log`: one request with its answer, as the DNS servers' logs are mapped.
fn dns(record: &ZeekRecord<'_>, event: &mut Event) {
    match record.get("query") {
        Some(query) => dns_request(event, "query", query),
        None => {
            event.set(t::MSGID, "dns");
            event.set(t::ACTION, "info");
        }
    }
    if let Some(class) = record.get("qclass_name") {
        event.set(t::DNS_CLASS, class.strip_prefix("C_").unwrap_or(class));
    }
    if let Some(qtype) = record.get("qtype_name") {
        event.set(t::DNS_TYPE, qtype);
    }
    if let Some(id) = record.get("trans_id").and_then(|i| i.parse::<i64>().ok()) {
        event.set(t::DNS_QUERY_ID, id);
    }
    if let Some(rd) = record.get("RD") {
        event.set(t::DNS_RECURSION_DESIRED, rd == "T" || rd == "true");
    }
    if let Some(proto) = record.get("proto") {
        event.set(t::DNS_TCP, proto == "tcp");
    }
    if let Some(answers) = record.many("answers") {
        let answers: Vec<Value> = answers.iter().map(|a| Value::from(a.as_ref())).collect();
        event.set(t::DNS_ANSWERS, answers);
    }
}

/// `conn.log`: one connection, with its duration and whether it was answered.
fn conn(record: &ZeekRecord<'_>, event: &mut Event) {
    event.set(t::MSGID, "conn");
    event.set(t::ACTION, "connect");
    event.set(t::OBJECT, "connection");
    if let Some(seconds) = record.get("duration").and_then(|d| d.parse::<f64>().ok()) {
        // Whole milliseconds; a connection lasts far less than i64::MAX ms.
        event.set(t::DURATION, (seconds * 1000.0).round() as i64);
    }
    // Attempts the responder never answered; mid-stream states (OTH, SHR, RSTRH)
    // say nothing either way.
    let status = match record.get("conn_state") {
        Some("S0" | "REJ" | "RSTOS0" | "SH") => "failure",
        Some("SF" | "S1" | "S2" | "S3" | "RSTO" | "RSTR") => "success",
        _ => return,
    };
    event.set(t::STATUS, status);
}

/// `http.log`: one request and its response, as the access logs map them.
fn http(record: &ZeekRecord<'_>, event: &mut Event) {
    event.set(t::MSGID, "http");
    let number = |name: &str| record.get(name).and_then(|n| n.parse::<i64>().ok());
    crate::http::Transaction {
        host: record.get("host"),
        method: record.get("method"),
        url: record.get("uri"),
        user_agent: record.get("user_agent"),
        referrer: record.get("referrer"),
        version: record.get("version").map(|v| format!("HTTP/{v}")),
        bytes: number("response_body_len"),
        status: number("status_code"),
    }
    .set(event);
}

/// `ts`: seconds since the epoch with a fraction (TSV) or RFC 3339 (JSON).
fn zeek_time(text: &str) -> Option<Timestamp> {
    crate::text::epoch_seconds(text).or_else(|| crate::windows::parse_time(text))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Collected;

    fn read(text: &str) -> Collected {
        crate::format::read_text(&ZeekTsv, text)
    }

    const HEADER: &str = "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tdns\n#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\ttrans_id\trtt\tquery\tqclass\tqclass_name\tqtype\tqtype_name\trcode\trcode_name\tAA\tTC\tRD\tRA\tZ\tanswers\tTTLs\trejected\n#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tcount\tinterval\tstring\tcount\tstring\tcount\tstring\tcount\tstring\tbool\tbool\tbool\tbool\tcount\tvector[string]\tvector[interval]\tbool\n";

    #[test]
    fn dns_lines_of_the_real_log() {
        // Two records of the real WRCCDC 2018 dns.log in ../shared/testdata/zeek
        // (brimdata/zed-sample-data, CC BY-SA 4.0), header as Zeek wrote it.
        let text = format!(
            "{HEADER}1521911720.865716\tCqKst53mF3det3eDV9\t10.47.1.100\t41772\t10.0.0.100\t53\tudp\t36329\t0.000870\tise.wrccdc.org\t1\tC_INTERNET\t1\tA\t0\tNOERROR\tF\tF\tT\tT\t0\tise.wrccdc.cpp.edu,134.71.3.16\t2230.000000,41830.000000\tF\n\
             1521912990.151237\tCmc5423NLYRkHDxYDi\t172.31.255.5\t60878\t10.0.0.1\t53\tudp\t36243\t-\ttalk.google.com\t1\tC_INTERNET\t1\tA\t-\t-\tF\tF\tT\tF\t0\t-\t-\tF\n#close\t2024-04-12-19-34-07\n"
        );
        let got = read(&text);
        assert!(got.rejects.is_empty(), "{:?}", got.rejects);
        assert_eq!(got.events.len(), 2);
        let e = &got.events[0];
        assert_eq!(e.get_str(t::OBJECT_QUERY), Some("ise.wrccdc.org"));
        assert_eq!(e.get_str(t::MSGID), Some("query"));
        assert_eq!(
            e.get(t::SRC_IP),
            Some(&Value::Ip("10.47.1.100".parse().expect("ip")))
        );
        assert_eq!(e.get(t::DST_PORT), Some(&Value::Int(53)));
        assert_eq!(e.get_str(t::DNS_TYPE), Some("A"));
        assert_eq!(e.get_str(t::DNS_CLASS), Some("INTERNET"));
        assert_eq!(
            e.get(t::DNS_ANSWERS),
            Some(&Value::List(vec![
                Value::from("ise.wrccdc.cpp.edu"),
                Value::from("134.71.3.16")
            ]))
        );
        assert_eq!(
            e.time().map(|t| t.to_string()).as_deref(),
            Some("2018-03-24T17:15:20.865716Z")
        );
        assert!(e.check_kinds().is_ok());
        let unanswered = &got.events[1];
        assert_eq!(unanswered.raw("rcode_name"), None);
        assert_eq!(unanswered.get(t::DNS_ANSWERS), None);
    }

    #[test]
    fn bad_lines_are_rejected_and_the_rest_kept() {
        let text = format!(
            "1\tearly\n{HEADER}too\tfew\n1521911720.865716\tC\tnot-an-ip\t1\t10.0.0.1\t53\tudp\t1\t-\tx.example\t1\tC_INTERNET\t1\tA\t0\tNOERROR\tF\tF\tT\tT\t0\t-\t-\tF\n1521911720.9\tC\t10.0.0.2\t1\t10.0.0.1\t53\tudp\t1\t-\tok.example\t1\tC_INTERNET\t1\tA\t0\tNOERROR\tF\tF\tT\tT\t0\t(empty)\t-\tF\n"
        );
        let got = read(&text);
        assert_eq!(got.rejects.len(), 3);
        assert_eq!(got.events.len(), 1);
        assert_eq!(got.events[0].get_str(t::OBJECT_QUERY), Some("ok.example"));
        assert_eq!(
            got.events[0].get(t::DNS_ANSWERS),
            Some(&Value::List(Vec::new()))
        );
    }

    #[test]
    fn conn_and_http_logs() {
        // Zeek's own test baselines (`testdata/zeek`, core.tunnels.teredo).
        let conn = read(include_str!("../testdata/zeek/conn.log"));
        assert!(conn.rejects.is_empty(), "{:?}", conn.rejects);
        assert_eq!(conn.events.len(), 21);
        let http_conn = conn
            .events
            .iter()
            .find(|e| e.raw("uid") == Some(&Value::from("C7XEbhP654jzLoe3a")))
            .expect("a connection");
        assert_eq!(http_conn.get_str(t::ACTION), Some("connect"));
        assert_eq!(http_conn.get(t::DURATION), Some(&Value::Int(408)));
        assert_eq!(http_conn.get_str(t::STATUS), Some("success"));
        assert_eq!(http_conn.get_str(t::PROTOCOL), Some("tcp"));
        let unanswered = |state: &str| {
            conn.events
                .iter()
                .filter(|e| e.raw("conn_state") == Some(&Value::from(state)))
                .all(|e| e.get_str(t::STATUS) == Some("failure"))
        };
        assert!(unanswered("S0") && unanswered("SH") && unanswered("RSTOS0"));

        let http = read(include_str!("../testdata/zeek/http.log"));
        assert!(http.rejects.is_empty(), "{:?}", http.rejects);
        assert_eq!(http.events.len(), 4);
        let post = &http.events[0];
        assert_eq!(post.get_str(t::DST_HOST), Some("download913.avast.com"));
        assert_eq!(post.get_str(t::HTTP_METHOD), Some("POST"));
        assert_eq!(post.get_str(t::HTTP_URL), Some("/cgi-bin/iavs4stats.cgi"));
        assert_eq!(
            post.get_str(t::HTTP_USER_AGENT),
            Some("Syncer/4.80 (av_pro-1169;f)")
        );
        assert_eq!(post.get_str(t::HTTP_VERSION), Some("HTTP/1.1"));
        assert_eq!(post.get(t::HTTP_STATUS), Some(&Value::Int(204)));
        assert_eq!(post.get(t::HTTP_REFERRER), None);
        assert_eq!(
            http.events[2].get_str(t::HTTP_REFERRER),
            Some("http://ipv6.google.com/")
        );
        for event in conn.events.iter().chain(&http.events) {
            assert!(event.check_kinds().is_ok(), "{event:?}");
        }
    }

    #[test]
    fn conn_and_http_logs_in_json() {
        // Zeek's JSON output as its manual prints it (`testdata/zeek-json`).
        let json = |text: &str| crate::format::read_text(&crate::json::JsonEvents, text);
        let conn = json(include_str!("../testdata/zeek-json/conn.log"));
        assert!(conn.rejects.is_empty(), "{:?}", conn.rejects);
        let web = &conn.events[1];
        assert_eq!(web.get_str(t::EVENT_SRC_SUBSYS), Some("conn"));
        assert_eq!(web.get_str(t::ACTION), Some("connect"));
        assert_eq!(web.get(t::DURATION), Some(&Value::Int(254)));
        assert_eq!(web.get_str(t::STATUS), Some("success"));
        assert_eq!(
            web.time().map(|t| t.to_string()).as_deref(),
            Some("2020-06-05T14:39:59.430166Z")
        );
        let http = json(include_str!("../testdata/zeek-json/http.log"));
        assert!(http.rejects.is_empty(), "{:?}", http.rejects);
        let get = &http.events[0];
        assert_eq!(get.get_str(t::EVENT_SRC_SUBSYS), Some("http"));
        assert_eq!(get.get_str(t::DST_HOST), Some("testmyids.com"));
        assert_eq!(get.get_str(t::HTTP_USER_AGENT), Some("curl/7.47.0"));
        assert_eq!(get.get_str(t::HTTP_VERSION), Some("HTTP/1.1"));
        assert_eq!(get.get(t::HTTP_STATUS), Some(&Value::Int(200)));
        assert_eq!(get.get(t::HTTP_BYTES), Some(&Value::Int(39)));
    }

    #[test]
    fn escapes_are_decoded() {
        assert_eq!(unescape("a\\x09b"), "a\tb");
        assert_eq!(unescape("plain"), "plain");
        assert_eq!(unescape("bad\\xZZ"), "bad\\xZZ");
    }
}
