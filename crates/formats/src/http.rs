//! Pieces of HTTP requests that the access-log formats share: where a request goes.

use std::net::IpAddr;

use dozor_event::{Event, taxonomy as t};

/// Sets `dst.host` (lowercase) or `dst.ip`, and `dst.port`, from a request's target
/// when it names its destination: the `host:port` of a `CONNECT` (a proxy tunnel) or
/// the authority of an absolute URL (a proxied request). An origin-form target
/// (`/path`) names none and sets nothing.
pub(crate) fn set_destination(event: &mut Event, method: &str, target: &str) {
    let (authority, default_port) = if method.eq_ignore_ascii_case("CONNECT") {
        (target, None)
    } else {
        let Some((scheme, rest)) = target.split_once("://") else {
            return;
        };
        let port = match scheme.to_ascii_lowercase().as_str() {
            "http" | "ws" => Some(80),
            "https" | "wss" => Some(443),
            "ftp" => Some(21),
            _ => None,
        };
        let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let authority = &rest[..end];
        let authority = authority.rsplit_once('@').map_or(authority, |(_, a)| a);
        (authority, port)
    };
    let (host, port) = split_authority(authority);
    if host.is_empty() {
        return;
    }
    match host.parse::<IpAddr>() {
        Ok(ip) => event.set(t::DST_IP, ip),
        Err(_) => event.set(t::DST_HOST, host.to_ascii_lowercase()),
    }
    if let Some(port) = port.or(default_port) {
        event.set(t::DST_PORT, port);
    }
}

/// Sets `dst.host` from a name a client asked for (a TLS server name, an HTTP `Host`
/// that may carry a port): lowercase, without a trailing dot or the port. An address
/// is left to `dst.ip`, which the connection already gives.
pub(crate) fn set_destination_name(event: &mut Event, name: &str) {
    let (host, _) = split_authority(name);
    let host = host.trim_end_matches('.');
    if !host.is_empty() && host.parse::<IpAddr>().is_err() {
        event.set(t::DST_HOST, host.to_ascii_lowercase());
    }
}

/// One HTTP request and its response as a network sensor logs it (Zeek's `http.log`,
/// Suricata's `http` records): every part optional.
#[derive(Default)]
pub(crate) struct Transaction<'a> {
    /// The `Host` header.
    pub host: Option<&'a str>,
    /// The method.
    pub method: Option<&'a str>,
    /// The request target.
    pub url: Option<&'a str>,
    /// The `User-Agent` header.
    pub user_agent: Option<&'a str>,
    /// The `Referer` header.
    pub referrer: Option<&'a str>,
    /// The protocol version (`HTTP/1.1`).
    pub version: Option<String>,
    /// The response body's size.
    pub bytes: Option<i64>,
    /// The response status.
    pub status: Option<i64>,
}

impl Transaction<'_> {
    /// Maps the transaction as the access logs map a request: the destination's name,
    /// method and target, headers, size, and the status with its outcome.
    pub(crate) fn set(&self, event: &mut Event) {
        event.set(t::ACTION, "execute");
        event.set(t::OBJECT, "request");
        if let Some(host) = self.host {
            set_destination_name(event, host);
        }
        if let (Some(method), Some(url)) = (self.method, self.url) {
            crate::squid::set_request(event, method, url);
        }
        for (field, value) in [
            (t::HTTP_USER_AGENT, self.user_agent),
            (t::HTTP_REFERRER, self.referrer),
            (t::HTTP_VERSION, self.version.as_deref()),
        ] {
            if let Some(value) = value {
                event.set(field, value);
            }
        }
        if let Some(bytes) = self.bytes {
            event.set(t::HTTP_BYTES, bytes);
        }
        if let Some(status) = self.status {
            event.set(t::HTTP_STATUS, status);
            event.set(t::STATUS, if status >= 400 { "failure" } else { "success" });
        }
    }
}

/// `host`, `host:port`, `[v6]` or `[v6]:port`.
fn split_authority(authority: &str) -> (&str, Option<u16>) {
    if let Some(rest) = authority.strip_prefix('[') {
        return match rest.split_once(']') {
            Some((host, tail)) => (host, tail.strip_prefix(':').and_then(|p| p.parse().ok())),
            None => ("", None),
        };
    }
    match authority.rsplit_once(':') {
        // A bare IPv6 address has colons but no port.
        Some((host, port)) if !host.contains(':') => (host, port.parse().ok()),
        Some(_) => (authority, None),
        None => (authority, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dozor_event::Value;

    fn destination(method: &str, target: &str) -> (Option<String>, Option<Value>) {
        let mut event = Event::new();
        set_destination(&mut event, method, target);
        let host = event
            .get_str(t::DST_HOST)
            .map(str::to_owned)
            .or_else(|| event.get(t::DST_IP).map(|ip| ip.to_string()));
        (host, event.get(t::DST_PORT).cloned())
    }

    #[test]
    fn targets() {
        let port = |n: u16| Some(Value::from(n));
        assert_eq!(
            destination("CONNECT", "api.telegram.org:443"),
            (Some("api.telegram.org".into()), port(443))
        );
        assert_eq!(
            destination("GET", "http://Files.Example.test:18080/a?b=c"),
            (Some("files.example.test".into()), port(18080))
        );
        assert_eq!(
            destination("GET", "https://user:pw@pastebin.com/raw/x"),
            (Some("pastebin.com".into()), port(443))
        );
        assert_eq!(
            destination("CONNECT", "[2001:db8::1]:8443"),
            (Some("2001:db8::1".into()), port(8443))
        );
        assert_eq!(
            destination("GET", "http://10.1.2.3/"),
            (Some("10.1.2.3".into()), port(80))
        );
        assert_eq!(destination("GET", "/index.html"), (None, None));
        assert_eq!(destination("GET", "error:invalid-request"), (None, None));
        assert_eq!(destination("CONNECT", ":443"), (None, None));
    }

    #[test]
    fn names_asked_for() {
        let name = |text: &str| {
            let mut event = Event::new();
            set_destination_name(&mut event, text);
            event.get_str(t::DST_HOST).map(str::to_owned)
        };
        assert_eq!(name("API.Telegram.org."), Some("api.telegram.org".into()));
        assert_eq!(
            name("files.example.test:18080"),
            Some("files.example.test".into())
        );
        assert_eq!(name("10.1.2.3:80"), None);
        assert_eq!(name("[2001:db8::1]"), None);
        assert_eq!(name(""), None);
    }
}
