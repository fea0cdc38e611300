//! dnsmasq `log-queries` and `log-queries=extra` logs, from its own log file
//! (`log-facility=FILE`, host-less syslog lines) or from syslog.
//!
//! `query[TYPE] NAME from ADDR` becomes a DNS query event, like a BIND query.
//! `forwarded`, `reply`, `cached`, `config` and hosts-file lines become events linked
//! to their query: by the serial number in `extra` mode, otherwise by name and order.
//! The querying client and the query type are attached to an answer only when the
//! link is certain (the serial matched, exactly one unanswered query for that name, or
//! the continuation of a CNAME chain or multi-record answer already linked). Startup,
//! statistics and cache-dump lines are recognised as such; other dnsmasq messages are
//! kept as generic events.

use std::collections::VecDeque;
use std::io::{self, BufRead};
use std::net::IpAddr;

use dozor_event::{Event, Timestamp, Value, taxonomy as t};

use crate::bind::dns_request;
use crate::format::{Format, ParseError, ReadContext, Sink};
use crate::lines::line_score;
use crate::message::{MessageContext, MessageParser};
use crate::syslog::{parse_envelope, read_syslog};
use crate::text::ip_port;

/// dnsmasq's own log file (`log-facility=/path`).
pub(crate) struct Dnsmasq;

impl Format for Dnsmasq {
    fn name(&self) -> &'static str {
        "dnsmasq"
    }

    fn description(&self) -> &'static str {
        "dnsmasq log file (log-queries, log-queries=extra): queries, forwards, answers, statistics"
    }

    fn detect(&self, head: &[u8]) -> u8 {
        let now = Timestamp::now();
        line_score(head, |line| {
            parse_envelope(line, now).is_ok_and(|e| e.app.is_some_and(|a| a.starts_with("dnsmasq")))
        })
    }

    fn read(
        &self,
        input: &mut dyn BufRead,
        ctx: &ReadContext,
        sink: &mut dyn Sink,
    ) -> io::Result<()> {
        read_syslog(self.name(), input, ctx, sink)
    }
}

/// How many recent queries are remembered for linking answers.
const PENDING_QUERIES: usize = 64;

/// A query waiting for its answers.
#[derive(Debug)]
struct Pending {
    serial: Option<u64>,
    name: String,
    qtype: String,
    client: Option<IpAddr>,
    port: Option<u16>,
    answered: bool,
}

/// The query the previous answer line was linked to.
#[derive(Debug, Clone)]
struct LastAnswer {
    /// Index into the pending queue, counted from its front.
    at: usize,
    certain: bool,
    /// Whether the answer was a CNAME, so the next answer continues the chain.
    cname: bool,
    /// The name the answer line was about.
    name: String,
}

/// Parses dnsmasq messages of one stream.
#[derive(Default)]
pub(crate) struct DnsmasqMessages {
    pending: VecDeque<Pending>,
    last_answer: Option<LastAnswer>,
    in_cache_dump: bool,
}

impl MessageParser for DnsmasqMessages {
    fn parse(
        &mut self,
        message: &str,
        event: &mut Event,
        _ctx: &MessageContext,
    ) -> Result<(), ParseError> {
        event.set(t::EVENT_SRC_VENDOR, "thekelleys");
        event.set(t::EVENT_SRC_TITLE, "dnsmasq");
        event.set(t::EVENT_SRC_CATEGORY, "DNS server");
        event.set(t::IMPORTANCE, "info");
        let (extra, body) = split_extra(message);
        if let Some((serial, _, _)) = extra {
            event.set(t::DNS_QUERY_ID, i64::try_from(serial).unwrap_or(i64::MAX));
        }
        if let Some(rest) = body
            .strip_prefix("query[")
            .or_else(|| body.strip_prefix("auth["))
        {
            self.last_answer = None;
            self.in_cache_dump = false;
            return self.query(rest, extra, event);
        }
        if let Some(rest) = body.strip_prefix("forwarded ") {
            self.last_answer = None;
            return self.forwarded(rest, extra, event);
        }
        if let Some((source, name, value)) = answer_parts(body) {
            self.in_cache_dump = false;
            return self.answer(source, name, value, extra, event);
        }
        self.last_answer = None;
        let msgid = self.classify(body);
        event.set(t::ACTION, "info");
        event.set(t::MSGID, msgid);
        event.set_raw("message", body);
        Ok(())
    }
}

impl DnsmasqMessages {
    /// `TYPE] NAME from ADDR`
    fn query(
        &mut self,
        rest: &str,
        extra: Option<(u64, IpAddr, u16)>,
        event: &mut Event,
    ) -> Result<(), ParseError> {
        let (qtype, rest) = rest.split_once("] ").ok_or("truncated query")?;
        let (name, client) = rest
            .rsplit_once(" from ")
            .ok_or("truncated query: no client")?;
        let client: IpAddr = client.parse().map_err(|_| "bad client address")?;
        if name.is_empty() {
            return Err("query without a name".into());
        }
        dns_request(event, "query", name);
        event.set(t::DNS_TYPE, qtype);
        event.set(t::SRC_IP, client);
        let port = extra.map(|(_, _, port)| port);
        if let Some(port) = port {
            event.set(t::SRC_PORT, port);
        }
        if self.pending.len() == PENDING_QUERIES {
            self.pending.pop_front();
        }
        self.pending.push_back(Pending {
            serial: extra.map(|(serial, _, _)| serial),
            name: name.to_owned(),
            qtype: qtype.to_owned(),
            client: Some(client),
            port,
            answered: false,
        });
        Ok(())
    }

    /// `NAME to SERVER`
    fn forwarded(
        &mut self,
        rest: &str,
        extra: Option<(u64, IpAddr, u16)>,
        event: &mut Event,
    ) -> Result<(), ParseError> {
        let (name, server) = rest.rsplit_once(" to ").ok_or("truncated forward")?;
        dns_request(event, "forwarded", name);
        event.set(t::ACTION, "forward");
        if let Some((ip, port)) = ip_port(server, '#') {
            event.set(t::DST_IP, ip);
            event.set(t::DST_PORT, port);
        } else if let Ok(ip) = server.parse::<IpAddr>() {
            event.set(t::DST_IP, ip);
        }
        let found = match extra {
            Some((serial, _, _)) => self.by_serial(serial),
            None => self
                .unanswered(name)
                .filter(|(_, n)| *n == 1)
                .map(|(at, _)| at),
        };
        if let Some(at) = found {
            self.attach(at, event);
        }
        Ok(())
    }

    /// `SOURCE NAME is VALUE`
    fn answer(
        &mut self,
        source: &str,
        name: &str,
        value: &str,
        extra: Option<(u64, IpAddr, u16)>,
        event: &mut Event,
    ) -> Result<(), ParseError> {
        dns_request(event, "answer", name);
        event.set(t::ACTION, "respond");
        event.set(t::DNS_ANSWER_SOURCE, source);
        event.set(t::OBJECT_VALUE, value);
        let answer = value
            .parse::<IpAddr>()
            .map_or_else(|_| Value::from(value), Value::Ip);
        event.set(t::DNS_ANSWERS, vec![answer]);
        if let Some(reason) = ["NXDOMAIN", "REFUSED", "SERVFAIL"]
            .into_iter()
            .find(|r| value.starts_with(r))
        {
            event.set(t::STATUS, "failure");
            event.set(t::REASON, reason);
        }
        let link = match extra {
            Some((serial, _, _)) => self.by_serial(serial).map(|at| (at, true)),
            None => self.link_by_name(name),
        };
        self.last_answer = link.map(|(at, certain)| LastAnswer {
            at,
            certain,
            cname: value == "<CNAME>",
            name: name.to_owned(),
        });
        if let Some((at, true)) = link {
            self.pending[at].answered = true;
            self.attach(at, event);
        } else if let Some((at, false)) = link {
            self.pending[at].answered = true;
        }
        Ok(())
    }

    /// Links an answer without a serial to its query by name and order.
    fn link_by_name(&self, name: &str) -> Option<(usize, bool)> {
        if let Some(last) = &self.last_answer {
            let same = last.name.eq_ignore_ascii_case(name);
            if last.cname && !same {
                return Some((last.at, last.certain));
            }
            if same && self.unanswered(name).is_none() {
                return Some((last.at, last.certain));
            }
        }
        self.unanswered(name).map(|(at, count)| (at, count == 1))
    }

    /// The oldest unanswered query for `name`, and how many there are.
    fn unanswered(&self, name: &str) -> Option<(usize, usize)> {
        let mut found = None;
        let mut count = 0;
        for (at, p) in self.pending.iter().enumerate() {
            if !p.answered && p.name.eq_ignore_ascii_case(name) {
                count += 1;
                found.get_or_insert(at);
            }
        }
        found.map(|at| (at, count))
    }

    fn by_serial(&self, serial: u64) -> Option<usize> {
        self.pending.iter().rposition(|p| p.serial == Some(serial))
    }

    /// Copies the linked query's client, type and serial onto an answer or forward.
    fn attach(&self, at: usize, event: &mut Event) {
        let query = &self.pending[at];
        if let Some(client) = query.client {
            event.set(t::SRC_IP, client);
        }
        if let Some(port) = query.port {
            event.set(t::SRC_PORT, port);
        }
        event.set(t::DNS_TYPE, query.qtype.as_str());
        if let Some(serial) = query.serial {
            event.set(t::DNS_QUERY_ID, i64::try_from(serial).unwrap_or(i64::MAX));
        }
    }

    /// Names a message that is neither a query nor an answer.
    fn classify(&mut self, body: &str) -> &'static str {
        const KINDS: &[(&str, &str)] = &[
            ("started, version", "startup"),
            ("compile time options", "startup"),
            ("using nameserver", "startup"),
            ("using only locally-known", "startup"),
            ("using local addresses only", "startup"),
            ("using standard nameservers", "startup"),
            ("reading ", "startup"),
            ("read ", "startup"),
            ("cleared cache", "startup"),
            ("exiting on receipt", "shutdown"),
            ("time ", "statistics"),
            ("cache size ", "statistics"),
            ("queries forwarded", "statistics"),
            ("queries for authoritative", "statistics"),
            ("DNSSEC per-", "statistics"),
            ("pool memory", "statistics"),
            ("child processes", "statistics"),
            ("server ", "statistics"),
        ];
        if body.starts_with("Host ") && body.contains(" Address ") {
            self.in_cache_dump = true;
            return "cache-dump";
        }
        if let Some((_, kind)) = KINDS.iter().find(|(prefix, _)| body.starts_with(prefix)) {
            return kind;
        }
        if self.in_cache_dump {
            "cache-dump"
        } else {
            "message"
        }
    }
}

/// Splits the `SERIAL ADDR/PORT ` prefix of `log-queries=extra` lines.
fn split_extra(message: &str) -> (Option<(u64, IpAddr, u16)>, &str) {
    let Some((serial, rest)) = message.split_once(' ') else {
        return (None, message);
    };
    let Ok(serial) = serial.parse::<u64>() else {
        return (None, message);
    };
    let Some((client, rest)) = rest.split_once(' ') else {
        return (None, message);
    };
    match ip_port(client, '/') {
        Some((ip, port)) => (Some((serial, ip, port)), rest),
        None => (None, message),
    }
}

/// `SOURCE NAME is VALUE`, where SOURCE is a keyword or a hosts-file path.
fn answer_parts(body: &str) -> Option<(&str, &str, &str)> {
    const SOURCES: &[&str] = &[
        "reply",
        "cached",
        "cached-stale",
        "config",
        "validation",
        "DHCP",
        "auth",
        "ipset add",
    ];
    let (source, rest) = body.split_once(' ')?;
    if !(SOURCES.contains(&source) || source.starts_with('/')) {
        return None;
    }
    let (name, value) = rest.split_once(" is ")?;
    Some((source, name, value))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(lines: &[&str]) -> Vec<Event> {
        let mut parser = DnsmasqMessages::default();
        let ctx = MessageContext {
            received: Timestamp::UNIX_EPOCH,
            envelope_time: None,
        };
        lines
            .iter()
            .map(|line| {
                let mut event = Event::new();
                parser.parse(line, &mut event, &ctx).expect("parses");
                assert!(event.check_kinds().is_ok());
                event
            })
            .collect()
    }

    fn client(ev: &Event) -> Option<String> {
        ev.get(t::SRC_IP).map(ToString::to_string)
    }

    #[test]
    fn extra_mode_links_by_serial() {
        let evs = run(&[
            "113 127.0.0.11/50543 query[A] discord.com from 127.0.0.11",
            "114 127.0.0.12/50544 query[A] discord.com from 127.0.0.12",
            "113 127.0.0.11/50543 forwarded discord.com to 127.0.0.1#10053",
            "113 127.0.0.11/50543 reply discord.com is 162.159.138.232",
        ]);
        assert_eq!(evs[0].get(t::SRC_PORT), Some(&Value::Int(50543)));
        assert_eq!(evs[2].get_str(t::MSGID), Some("forwarded"));
        assert_eq!(client(&evs[3]).as_deref(), Some("127.0.0.11"));
        assert_eq!(evs[3].get_str(t::DNS_TYPE), Some("A"));
    }

    #[test]
    fn plain_mode_links_by_name_only_when_certain() {
        let evs = run(&[
            "query[A] www.discord.com from 127.0.0.11",
            "forwarded www.discord.com to 127.0.0.1#10053",
            "reply www.discord.com is <CNAME>",
            "reply discord.com is 162.159.138.232",
            "reply discord.com is 162.159.137.232",
            "query[A] pastebin.com from 127.0.0.12",
            "query[A] pastebin.com from 127.0.0.13",
            "cached pastebin.com is 104.22.68.199",
        ]);
        assert_eq!(client(&evs[2]).as_deref(), Some("127.0.0.11"));
        assert_eq!(client(&evs[3]).as_deref(), Some("127.0.0.11"));
        assert_eq!(client(&evs[4]).as_deref(), Some("127.0.0.11"));
        assert_eq!(
            client(&evs[7]),
            None,
            "two queries for one name: not certain"
        );
        assert_eq!(
            evs[3].get(t::DNS_ANSWERS),
            Some(&Value::List(vec![Value::Ip(
                "162.159.138.232".parse().expect("ip")
            )]))
        );
    }

    #[test]
    fn names_with_spaces_and_failures() {
        let evs = run(&[
            "query[A] white space.example.com from 127.0.0.17",
            "reply white space.example.com is NXDOMAIN",
        ]);
        assert_eq!(
            evs[0].get_str(t::OBJECT_QUERY),
            Some("white space.example.com")
        );
        assert_eq!(evs[1].get_str(t::STATUS), Some("failure"));
    }

    #[test]
    fn other_lines_are_recognised() {
        let evs = run(&[
            "started, version 2.90 cachesize 150",
            "cache size 150, 0/24 cache insertions re-used unexpired cache entries.",
            "Host                           Address                                  Flags      Expires                  Source",
            "www.example.com                192.0.2.10                               4F         Fri Nov 27 19:30:12 2026",
            "exiting on receipt of SIGTERM",
        ]);
        let kinds: Vec<_> = evs.iter().filter_map(|e| e.get_str(t::MSGID)).collect();
        assert_eq!(
            kinds,
            [
                "startup",
                "statistics",
                "cache-dump",
                "cache-dump",
                "shutdown"
            ]
        );
    }

    #[test]
    fn truncated_queries_are_errors() {
        let mut parser = DnsmasqMessages::default();
        let ctx = MessageContext {
            received: Timestamp::UNIX_EPOCH,
            envelope_time: None,
        };
        for line in [
            "query[A] example.com fro",
            "query[A] example.com from 999.1.1.1",
        ] {
            assert!(parser.parse(line, &mut Event::new(), &ctx).is_err());
        }
    }
}
