//! Squid's native access log (`logformat squid`, the default of `access_log`):
//! `time.ms elapsed client result/status bytes method URL user hierarchy/peer type`.
//! The proxy's view of every request: who asked (`src.ip`), for what destination
//! (`dst.host`/`dst.port` from the URL or the `CONNECT` target, `dst.ip` from the peer a
//! direct request went to), and what the proxy did (`raw.result_code`, `TCP_DENIED` a
//! refusal). Squid's `combined` layout is read by the access-log format.

use std::io::{self, BufRead};
use std::net::IpAddr;

use dozor_event::{Event, taxonomy as t};

use crate::format::{Format, ParseError, ReadContext, Sink};
use crate::http::set_destination;
use crate::lines::{line_score, read_lines};
use crate::text::epoch_seconds;

/// Squid's native access log.
pub(crate) struct SquidAccess;

impl Format for SquidAccess {
    fn name(&self) -> &'static str {
        "squid"
    }

    fn description(&self) -> &'static str {
        "Squid proxy access log, native layout (logformat squid)"
    }

    fn detect(&self, head: &[u8]) -> u8 {
        line_score(head, |line| parse(line, &mut Event::new()).is_ok())
    }

    /// Squid writes one request per line.
    fn splits_at_lines(&self, _head: &[u8]) -> bool {
        true
    }

    fn read(
        &self,
        input: &mut dyn BufRead,
        ctx: &ReadContext,
        sink: &mut dyn Sink,
    ) -> io::Result<()> {
        read_lines(self.name(), input, ctx, sink, parse)
    }
}

/// One native access-log line.
fn parse(line: &str, event: &mut Event) -> Result<(), ParseError> {
    let mut fields = line.split_ascii_whitespace();
    let mut next = |what: &str| {
        fields
            .next()
            .ok_or_else(|| ParseError(format!("truncated Squid line: no {what}")))
    };
    let time = next("time")?;
    let elapsed = next("elapsed time")?;
    let client = next("client address")?;
    let result = next("result code")?;
    let bytes = next("size")?;
    let method = next("method")?;
    let url = next("URL")?;
    let user = next("user")?;
    let hierarchy = next("hierarchy code")?;
    let content_type = next("content type")?;
    let extra: Vec<&str> = fields.collect();

    event.set(t::TIME, epoch_seconds(time).ok_or("bad Squid time")?);
    let elapsed: i64 = elapsed.parse().map_err(|_| "bad elapsed time")?;
    let (code, status) = result.split_once('/').ok_or("bad result code")?;
    if code.is_empty() || !code.bytes().all(|b| b.is_ascii_uppercase() || b == b'_') {
        return Err("bad result code".into());
    }
    let status: i64 = status.parse().map_err(|_| "bad HTTP status")?;
    let bytes: i64 = bytes.parse().map_err(|_| "bad size")?;

    event.set(t::DURATION, elapsed);
    match client.parse::<IpAddr>() {
        Ok(ip) => event.set(t::SRC_IP, ip),
        Err(_) => event.set(t::SRC_HOST, client),
    }
    set_request(event, method, url);
    set_destination(event, method, url);
    if status != 0 {
        event.set(t::HTTP_STATUS, status);
    }
    event.set(t::HTTP_BYTES, bytes);
    if user != "-" {
        event.set(t::SUBJECT_ACCOUNT_NAME, user);
    }
    let (hierarchy, peer) = hierarchy.split_once('/').unwrap_or((hierarchy, "-"));
    if let Ok(ip) = peer.parse::<IpAddr>()
        && event.get(t::DST_IP).is_none()
    {
        event.set(t::DST_IP, ip);
    }
    if content_type != "-" {
        event.set_raw("content_type", content_type);
    }
    if !extra.is_empty() {
        event.set_raw("extra", extra.join(" "));
    }
    set_outcome(event, code, hierarchy, status);
    Ok(())
}

/// The request's method and target, as every access log sets them.
pub(crate) fn set_request(event: &mut Event, method: &str, target: &str) {
    event.set(t::OBJECT_TYPE, method);
    event.set(t::HTTP_METHOD, method);
    event.set(t::OBJECT_QUERY, target);
    event.set(t::HTTP_URL, target);
}

/// What Squid did with the request (`code` such as `TCP_TUNNEL`, `hierarchy` such as
/// `HIER_DIRECT`) and the fields that say it came from Squid.
pub(crate) fn set_outcome(event: &mut Event, code: &str, hierarchy: &str, status: i64) {
    event.set_raw("result_code", code);
    event.set_raw("hierarchy", hierarchy);
    event.set(t::EVENT_SRC_VENDOR, "squid-cache");
    event.set(t::EVENT_SRC_TITLE, "squid");
    event.set(t::EVENT_SRC_CATEGORY, "Proxy server");
    event.set(t::MSGID, "access");
    event.set(t::IMPORTANCE, "info");
    event.set(t::ACTION, "execute");
    event.set(t::OBJECT, "request");
    let denied = code.starts_with("TCP_DENIED") || code.starts_with("UDP_DENIED");
    let failed = denied || status == 0 || status >= 400 || code.ends_with("_ABORTED");
    event.set(t::STATUS, if failed { "failure" } else { "success" });
    if denied {
        event.set(t::REASON, "denied by the proxy's access rules");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dozor_event::Value;

    fn parsed(line: &str) -> Event {
        let mut event = Event::new();
        parse(line, &mut event).unwrap_or_else(|e| panic!("{line}: {e}"));
        assert!(event.check_kinds().is_ok());
        event
    }

    #[test]
    fn connect_tunnel() {
        let ev = parsed(
            "1795841121.092     12 127.0.0.1 TCP_TUNNEL/200 7167 CONNECT api.telegram.org:443 - HIER_DIRECT/127.0.0.1 -",
        );
        assert_eq!(
            ev.time().map(|t| t.to_string()).as_deref(),
            Some("2026-11-28T04:45:21.092Z")
        );
        assert_eq!(ev.get_str(t::DST_HOST), Some("api.telegram.org"));
        assert_eq!(ev.get(t::DST_PORT), Some(&Value::from(443u16)));
        assert_eq!(ev.get(t::HTTP_STATUS), Some(&Value::Int(200)));
        assert_eq!(ev.get(t::DURATION), Some(&Value::Int(12)));
        assert_eq!(ev.raw("result_code"), Some(&Value::from("TCP_TUNNEL")));
        assert_eq!(ev.get_str(t::STATUS), Some("success"));
        assert!(ev.get(t::DST_IP).is_some());
    }

    #[test]
    fn denied_and_aborted() {
        let ev = parsed(
            "1795841131.213      0 127.0.0.1 TCP_DENIED/403 3429 GET http://pastebin.com/raw/abc123 - HIER_NONE/- text/html",
        );
        assert_eq!(ev.get_str(t::STATUS), Some("failure"));
        assert_eq!(ev.get_str(t::DST_HOST), Some("pastebin.com"));
        assert!(ev.get(t::REASON).is_some());
        let ev = parsed(
            "1795841141.255  10001 127.0.0.1 TCP_MISS_ABORTED/000 0 GET http://nxdomain.example.test/ - HIER_NONE/- -",
        );
        assert_eq!(ev.get_str(t::STATUS), Some("failure"));
        assert_eq!(ev.get(t::HTTP_STATUS), None);
    }

    #[test]
    fn user_and_logged_headers() {
        let ev = parsed(
            "1795841131.144     14 10.0.0.5 TCP_MISS/200 298 GET http://files.example.test:18080/ alice HIER_DIRECT/10.0.0.80 text/html [Host: files.example.test] [HTTP/1.0 200 OK]",
        );
        assert_eq!(ev.get_str(t::SUBJECT_ACCOUNT_NAME), Some("alice"));
        assert!(ev.raw("extra").is_some());
    }

    #[test]
    fn bad_lines() {
        for line in [
            "1795841121.092 12 127.0.0.1 TCP_TUNNEL/200 7167 CONNECT api.telegram.org:443 - HIER_DIRECT/127.0.0.1",
            "yesterday 12 127.0.0.1 TCP_TUNNEL/200 7167 CONNECT a:443 - HIER_DIRECT/127.0.0.1 -",
            "1795841121.092 12 127.0.0.1 tcp/200 7167 CONNECT a:443 - HIER_DIRECT/127.0.0.1 -",
            "1795841121.092 12 127.0.0.1 TCP_MISS/2x0 7167 GET / - HIER_NONE/- -",
            "10.0.0.9 - - [04/Mar/2024:10:15:02 +0000] \"GET / HTTP/1.1\" 200 1",
        ] {
            assert!(parse(line, &mut Event::new()).is_err(), "{line} accepted");
        }
    }
}
