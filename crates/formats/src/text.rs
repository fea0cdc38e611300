//! Small text helpers shared by the parsers: timestamps, host names, Windows paths.
//!
//! Timestamps are parsed by hand: each log format has one fixed layout, and a generic
//! `strptime` costs more than the rest of a DNS log line's parsing together.

use std::net::IpAddr;

use dozor_event::{Event, Field, Timestamp};
use jiff::civil::{Date, DateTime, Time};
use jiff::tz::TimeZone;
use jiff::{Span, ToSpan};

/// Parses `n` ASCII digits at the start of `s`.
pub(crate) fn digits(s: &[u8], n: usize) -> Option<i32> {
    if s.len() < n {
        return None;
    }
    s[..n].iter().try_fold(0i32, |acc, &b| {
        b.is_ascii_digit().then(|| acc * 10 + i32::from(b - b'0'))
    })
}

/// The month number of an English three-letter month name.
pub(crate) fn month_number(name: &[u8]) -> Option<i8> {
    const MONTHS: [&[u8; 3]; 12] = [
        b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov",
        b"Dec",
    ];
    let name = name.get(..3)?;
    MONTHS
        .iter()
        .position(|m| m.eq_ignore_ascii_case(name))
        .and_then(|i| i8::try_from(i + 1).ok())
}

/// Parses `hh:mm:ss` optionally followed by `.fff` or `,fff` (any number of digits);
/// returns the time and how many bytes it used.
pub(crate) fn clock(s: &[u8]) -> Option<(Time, usize)> {
    let h = digits(s, 2)?;
    let m = digits(s.get(3..)?, 2)?;
    let sec = digits(s.get(6..)?, 2)?;
    if s.get(2) != Some(&b':') || s.get(5) != Some(&b':') {
        return None;
    }
    let mut used = 8;
    let mut nanos: i32 = 0;
    if matches!(s.get(8), Some(b'.' | b',')) {
        let frac = &s[9..];
        let n = frac.iter().take_while(|b| b.is_ascii_digit()).count();
        if n == 0 {
            return None;
        }
        for (i, &b) in frac[..n].iter().enumerate().take(9) {
            nanos += i32::from(b - b'0') * 10i32.pow(8 - i as u32);
        }
        used += 1 + n;
    }
    let time = Time::new(
        i8::try_from(h).ok()?,
        i8::try_from(m).ok()?,
        i8::try_from(sec.min(59)).ok()?,
        nanos,
    )
    .ok()?;
    Some((time, used))
}

/// A civil date and time taken as UTC.
pub(crate) fn utc(date: Date, time: Time) -> Option<Timestamp> {
    DateTime::from_parts(date, time)
        .to_zoned(TimeZone::UTC)
        .ok()
        .map(|z| z.timestamp())
}

/// Parses `YYYY-MM-DD` then `T` or a space then a clock, then an optional `Z` or
/// `±hh:mm`/`±hhmm` offset. Without an offset the time is taken as UTC. Returns the
/// timestamp and how many bytes it used.
pub(crate) fn iso_datetime(s: &[u8]) -> Option<(Timestamp, usize)> {
    let y = digits(s, 4)?;
    let mo = digits(s.get(5..)?, 2)?;
    let d = digits(s.get(8..)?, 2)?;
    if s.get(4) != Some(&b'-') || s.get(7) != Some(&b'-') || !matches!(s.get(10), Some(b'T' | b' '))
    {
        return None;
    }
    let date = Date::new(
        i16::try_from(y).ok()?,
        i8::try_from(mo).ok()?,
        i8::try_from(d).ok()?,
    )
    .ok()?;
    let (time, n) = clock(&s[11..])?;
    let mut used = 11 + n;
    let mut ts = utc(date, time)?;
    match s.get(used) {
        Some(b'Z') => used += 1,
        Some(&sign @ (b'+' | b'-')) => {
            let rest = &s[used + 1..];
            let oh = digits(rest, 2)?;
            let (om, len) = if rest.get(2) == Some(&b':') {
                (digits(&rest[3..], 2)?, 5)
            } else {
                (digits(&rest[2..], 2)?, 4)
            };
            let offset: Span = (oh * 60 + om).minutes();
            ts = if sign == b'+' {
                ts.checked_sub(offset).ok()?
            } else {
                ts.checked_add(offset).ok()?
            };
            used += 1 + len;
        }
        _ => {}
    }
    Some((ts, used))
}

/// Parses a BSD syslog timestamp `Mmm dd hh:mm:ss` (day may be space-padded) and
/// gives it the year that puts it closest before `reference`: a record is never
/// more than a day in the future, so `Dec 31` read in January belongs to last year.
pub(crate) fn bsd_timestamp(s: &[u8], reference: Timestamp) -> Option<(Timestamp, usize)> {
    let month = month_number(s.get(..3)?)?;
    if s.get(3) != Some(&b' ') {
        return None;
    }
    let (day, at) = match (s.get(4), s.get(5)) {
        (Some(b' '), Some(d)) if d.is_ascii_digit() => (i32::from(d - b'0'), 6),
        (Some(_), _) => (digits(&s[4..], 2)?, 6),
        _ => return None,
    };
    if s.get(at) != Some(&b' ') {
        return None;
    }
    let (time, n) = clock(&s[at + 1..])?;
    let ref_date = reference.to_zoned(TimeZone::UTC).date();
    let day = i8::try_from(day).ok()?;
    let mut year = ref_date.year();
    let mut ts = Date::new(year, month, day).ok().and_then(|d| utc(d, time));
    // Feb 29 exists only in leap years; try the previous years before giving up.
    while ts.is_none() && year > ref_date.year() - 8 {
        year -= 1;
        ts = Date::new(year, month, day).ok().and_then(|d| utc(d, time));
    }
    let mut ts = ts?;
    if ts > reference.checked_add(24.hours()).ok()? {
        let previous = Date::new(year - 1, month, day)
            .ok()
            .and_then(|d| utc(d, time));
        ts = previous.unwrap_or(ts);
    }
    Some((ts, at + 1 + n))
}

/// Parses Unix epoch seconds with an optional fraction of up to nine digits
/// (`1795841121.092`), as Zeek, Squid and auditd write their times.
pub(crate) fn epoch_seconds(text: &str) -> Option<Timestamp> {
    let (seconds, fraction) = text.split_once('.').unwrap_or((text, ""));
    if seconds.is_empty()
        || seconds.len() > 12
        || !seconds.bytes().all(|b| b.is_ascii_digit())
        || fraction.len() > 9
        || !fraction.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let seconds: i64 = seconds.parse().ok()?;
    let nanos = fraction
        .bytes()
        .chain(std::iter::repeat(b'0'))
        .take(9)
        .fold(0i32, |acc, b| acc * 10 + i32::from(b - b'0'));
    Timestamp::new(seconds, nanos).ok()
}

/// Sets `hostname` and, when `host` has a dot and is not an address, `fqdn`, both
/// lowercase; an address goes to `ip` instead.
pub(crate) fn set_host(
    event: &mut Event,
    host: &str,
    hostname: Field,
    fqdn: Field,
    ip: Option<Field>,
) {
    if host.is_empty() || host == "-" {
        return;
    }
    if let Ok(addr) = host.parse::<IpAddr>() {
        if let Some(ip) = ip {
            event.set(ip, addr);
        }
        return;
    }
    let lower = host.to_ascii_lowercase();
    match lower.split_once('.') {
        Some((short, _)) => {
            event.set(hostname, short);
            event.set(fqdn, lower.as_str());
        }
        None => event.set(hostname, lower),
    }
}

/// The parts of a Windows executable path: full path, folder (with its trailing
/// backslash) and file name, all lowercase. A value that is not a path (such as
/// `<unknown process>`) is its own full path and name.
pub(crate) struct WinPath {
    /// The whole path, lowercase.
    pub fullpath: String,
    /// The folder with a trailing separator, if there is one.
    pub folder: Option<String>,
    /// The file name.
    pub name: String,
}

impl WinPath {
    /// Splits `path`.
    pub fn new(path: &str) -> Self {
        let fullpath = path.to_lowercase();
        match fullpath.rfind(['\\', '/']) {
            Some(at) => WinPath {
                folder: Some(fullpath[..=at].to_owned()),
                name: fullpath[at + 1..].to_owned(),
                fullpath,
            },
            None => WinPath {
                name: fullpath.clone(),
                folder: None,
                fullpath,
            },
        }
    }
}

/// Splits `addr:port` (IPv4) or `[addr]:port` / `addr#port` / `addr/port` forms.
pub(crate) fn ip_port(s: &str, sep: char) -> Option<(IpAddr, u16)> {
    let (addr, port) = s.rsplit_once(sep)?;
    let addr = addr.trim_start_matches('[').trim_end_matches(']');
    Some((addr.parse().ok()?, port.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        s.parse().expect("valid timestamp")
    }

    #[test]
    fn iso_forms() {
        let (t, n) = iso_datetime(b"2026-11-27T19:25:09.975Z rest").expect("parses");
        assert_eq!((t, n), (ts("2026-11-27T19:25:09.975Z"), 24));
        let (t, _) = iso_datetime(b"2026-11-27T19:25:09.949741+03:00").expect("parses");
        assert_eq!(t, ts("2026-11-27T16:25:09.949741Z"));
        let (t, _) = iso_datetime(b"2023-09-27 20:12:20,116]").expect("parses");
        assert_eq!(t, ts("2023-09-27T20:12:20.116Z"));
        assert!(iso_datetime(b"2023-13-27 20:12:20").is_none());
        assert!(iso_datetime(b"2023-09-27").is_none());
    }

    #[test]
    fn bsd_year_is_inferred_from_the_reference() {
        let reference = ts("2026-01-02T00:00:00Z");
        let (t, n) = bsd_timestamp(b"Dec 31 23:59:59 host", reference).expect("parses");
        assert_eq!((t, n), (ts("2025-12-31T23:59:59Z"), 15));
        let (t, _) = bsd_timestamp(b"Jan  2 10:00:00", reference).expect("parses");
        assert_eq!(t, ts("2026-01-02T10:00:00Z"));
        let (t, _) = bsd_timestamp(b"Feb 29 10:00:00", reference).expect("parses");
        assert_eq!(t, ts("2024-02-29T10:00:00Z"));
        assert!(bsd_timestamp(b"Foo 12 10:00:00", reference).is_none());
        assert!(bsd_timestamp(b"Jan 12 10:00", reference).is_none());
    }

    #[test]
    fn windows_paths_split() {
        let p = WinPath::new(r"C:\Windows\System32\cmd.exe");
        assert_eq!(p.fullpath, r"c:\windows\system32\cmd.exe");
        assert_eq!(p.folder.as_deref(), Some(r"c:\windows\system32\"));
        assert_eq!(p.name, "cmd.exe");
        let p = WinPath::new("<unknown process>");
        assert_eq!((p.name.as_str(), p.folder), ("<unknown process>", None));
    }

    #[test]
    fn epoch_forms() {
        assert_eq!(
            epoch_seconds("1795841121.092"),
            Some(ts("2026-11-28T04:45:21.092Z"))
        );
        assert_eq!(epoch_seconds("0"), Some(Timestamp::UNIX_EPOCH));
        assert_eq!(
            epoch_seconds("1.000000001"),
            Some(ts("1970-01-01T00:00:01.000000001Z"))
        );
        for bad in ["", ".5", "1.2.3", "12a", "1.0123456789", "99999999999999"] {
            assert_eq!(epoch_seconds(bad), None, "{bad}");
        }
    }

    #[test]
    fn address_and_port() {
        assert_eq!(
            ip_port("127.0.0.1#53", '#'),
            Some(("127.0.0.1".parse().expect("ip"), 53))
        );
        assert_eq!(ip_port("::1#5353", '#').map(|p| p.1), Some(5353));
        assert_eq!(ip_port("nope#1", '#'), None);
    }
}
