//! Linux audit logs as auditd writes them (`/var/log/audit/audit.log`), in both
//! `log_format = RAW` and `ENRICHED` (which adds, after a 0x1d byte, the daemon's
//! interpretation of numeric fields: `SYSCALL=connect UID="alice"`, decoded socket
//! addresses).
//!
//! The kernel reports one event as several records sharing one `msg=audit(time:serial)`
//! (`SYSCALL`, then `EXECVE`, `CWD`, `PATH`, `SOCKADDR`, `PROCTITLE`, ...), and auditd
//! writes them one after the other; consecutive records with the same id become one
//! event. Every field is kept raw under its own name (the first record's value when
//! several records carry one; `type` is the list of record types), so Sigma rules for
//! `product: linux, service: auditd` find `type`, `SYSCALL`, `a0`, `exe`, `key` as they
//! expect; a `RAW` log gets `SYSCALL` named from the syscall number. The taxonomy gets:
//! the process and account (`exe`, `pid`, `uid`, `PROCTITLE`), the peer of `connect`
//! (`dst.ip`/`dst.port` decoded from `SOCKADDR`), the started program of `execve`
//! (`object.process.*` from `EXECVE` and `CWD`), and the outcome (`success`, `res`).

use std::borrow::Cow;
use std::io::{self, BufRead};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use dozor_event::{Event, Value, taxonomy as t};

use crate::format::{Format, ParseError, ReadContext, Sink};
use crate::lines::{line_score, read_multiline};
use crate::text::epoch_seconds;

/// auditd's log file.
pub(crate) struct Auditd;

impl Format for Auditd {
    fn name(&self) -> &'static str {
        "auditd"
    }

    fn description(&self) -> &'static str {
        "Linux audit logs (auditd, RAW and ENRICHED), one event per audit serial"
    }

    fn detect(&self, head: &[u8]) -> u8 {
        line_score(head, |line| header(line).is_some())
    }

    fn read(
        &self,
        input: &mut dyn BufRead,
        ctx: &ReadContext,
        sink: &mut dyn Sink,
    ) -> io::Result<()> {
        let mut last_id = String::new();
        let starts_event = move |line: &str| match header(line) {
            Some(record) if record.id == last_id => false,
            Some(record) => {
                last_id.clear();
                last_id.push_str(record.id);
                true
            }
            None => {
                last_id.clear();
                true
            }
        };
        read_multiline(self.name(), input, ctx, sink, starts_event, parse_event)
    }
}

/// The head of one audit record: `[node=N ]type=T msg=audit(SECONDS:SERIAL): body`.
struct Header<'a> {
    node: Option<&'a str>,
    kind: &'a str,
    /// `SECONDS:SERIAL`.
    id: &'a str,
    body: &'a str,
}

fn header(line: &str) -> Option<Header<'_>> {
    let (node, rest) = match line.strip_prefix("node=") {
        Some(rest) => {
            let (node, rest) = rest.split_once(' ')?;
            (Some(node), rest)
        }
        None => (None, line),
    };
    let (kind, rest) = rest.strip_prefix("type=")?.split_once(' ')?;
    let rest = rest.strip_prefix("msg=audit(")?;
    let (id, body) = rest.split_once("):")?;
    let (seconds, serial) = id.split_once(':')?;
    if kind.is_empty()
        || !kind.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        || epoch_seconds(seconds).is_none()
        || serial.is_empty()
        || !serial.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    Some(Header {
        node,
        kind,
        id,
        body: body.trim_start(),
    })
}

/// One field of a record: its name and its text (unquoted, hex decoded).
type Field<'a> = (&'a str, Cow<'a, str>);

/// The fields of a record body, the interpreted ones of `ENRICHED` (after 0x1d) too;
/// the `msg='...'` of user-space records is opened into its own fields.
fn fields(body: &str) -> Result<Vec<Field<'_>>, ParseError> {
    let mut out = Vec::new();
    for part in body.split('\u{1d}') {
        split_fields(part, &mut out)?;
    }
    Ok(out)
}

fn split_fields<'a>(mut rest: &'a str, out: &mut Vec<Field<'a>>) -> Result<(), ParseError> {
    loop {
        rest = rest.trim_start();
        if rest.is_empty() {
            return Ok(());
        }
        let Some((name, after)) = rest.split_once('=') else {
            // A word without a value (some kernels' `audit_enabled` notes): kept as a flag.
            let end = rest.find(' ').unwrap_or(rest.len());
            rest = &rest[end..];
            continue;
        };
        if name.is_empty() || name.contains(' ') {
            return Err(format!("bad audit field near {:?}", truncate(rest)).into());
        }
        let (value, after) = match after.as_bytes().first() {
            Some(b'"') => quoted(&after[1..], '"')?,
            Some(b'\'') => {
                let (inner, after) = quoted(&after[1..], '\'')?;
                if name == "msg" {
                    split_fields(inner, out)?;
                    rest = after;
                    continue;
                }
                (inner, after)
            }
            Some(b'{') => {
                let (inner, after) = quoted(&after[1..], '}')?;
                split_fields(inner, out)?;
                rest = after;
                continue;
            }
            _ => {
                let end = after.find(' ').unwrap_or(after.len());
                let value = &after[..end];
                out.push((name, decode_untrusted(name, value)));
                rest = &after[end..];
                continue;
            }
        };
        out.push((name, Cow::Borrowed(value)));
        rest = after;
    }
}

/// The text up to `close`, and what follows it.
fn quoted(s: &str, close: char) -> Result<(&str, &str), ParseError> {
    s.split_once(close)
        .ok_or_else(|| ParseError(format!("unterminated {close} in audit record")))
}

fn truncate(s: &str) -> &str {
    let end = s.char_indices().nth(40).map_or(s.len(), |(i, _)| i);
    &s[..end]
}

/// The kernel writes strings that could hold spaces or quotes as hex (`proctitle`,
/// `EXECVE` arguments, path names): those are decoded, NUL separators as spaces.
fn decode_untrusted<'a>(name: &str, value: &'a str) -> Cow<'a, str> {
    let untrusted = matches!(
        name,
        "proctitle" | "name" | "cwd" | "comm" | "exe" | "acct" | "cmd" | "data" | "path"
    ) || is_execve_argument(name);
    if !untrusted || value.len() < 2 {
        return Cow::Borrowed(value);
    }
    match hex_bytes(value) {
        Some(mut bytes) => {
            while bytes.last() == Some(&0) {
                bytes.pop();
            }
            for b in &mut bytes {
                if *b == 0 {
                    *b = b' ';
                }
            }
            Cow::Owned(String::from_utf8_lossy(&bytes).into_owned())
        }
        None => Cow::Borrowed(value),
    }
}

/// The bytes of a hex string, if it is one.
fn hex_bytes(hex: &str) -> Option<Vec<u8>> {
    if !hex.len().is_multiple_of(2) {
        return None;
    }
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
        .collect()
}

/// `a0`, `a1`, ... (and `a0[1]` pieces of long arguments).
fn is_execve_argument(name: &str) -> bool {
    name.strip_prefix('a').is_some_and(|n| {
        let n = n.split('[').next().unwrap_or(n);
        !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit())
    })
}

/// One audit event: the consecutive records of one serial, joined by newlines.
fn parse_event(text: &str, event: &mut Event) -> Result<(), ParseError> {
    let mut kinds: Vec<Value> = Vec::new();
    let mut records = Vec::new();
    let mut first = None;
    for line in text.lines() {
        let record = header(line).ok_or("not an audit record")?;
        if first.is_none() {
            first = Some((record.node, record.kind, record.id));
        }
        if !kinds.iter().any(|k| k.as_str() == Some(record.kind)) {
            kinds.push(Value::from(record.kind));
        }
        records.push((record.kind, fields(record.body)?));
    }
    let (node, kind, id) = first.ok_or("empty audit event")?;
    let seconds = id.split_once(':').map_or(id, |(s, _)| s);
    event.set(t::TIME, epoch_seconds(seconds).ok_or("bad audit time")?);
    event.set_raw("audit_id", id);
    event.set_raw("type", Value::List(kinds));
    let mut get = Lookup::default();
    for (record_kind, fields) in &records {
        for (name, value) in fields {
            if event.raw(name).is_none() {
                event.set_raw(*name, value.as_ref());
            }
            get.note(record_kind, name, value);
        }
    }
    if let Some(node) = node {
        event.set(t::EVENT_SRC_HOST, node);
    }
    event.set(t::EVENT_SRC_VENDOR, "linux");
    event.set(t::EVENT_SRC_TITLE, "auditd");
    event.set(t::EVENT_SRC_CATEGORY, "Operating system");
    event.set(t::EVENT_SRC_SUBSYS, kind);
    event.set(t::MSGID, kind);
    event.set(t::IMPORTANCE, "info");

    let syscall = event
        .raw("SYSCALL")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let syscall = syscall.or_else(|| {
        let name = syscall_name(get.syscall_arch.as_deref()?, get.syscall_number.as_deref()?)?;
        event.set_raw("SYSCALL", name);
        Some(name.to_owned())
    });
    subject(event, &get);
    match syscall.as_deref() {
        Some("connect") => connect(event, &get),
        Some("execve" | "execveat") => execve(event, &get, &records),
        _ => {}
    }
    // A non-blocking connect returns EINPROGRESS: the connection was started.
    let in_progress = syscall.as_deref() == Some("connect") && get.exit.as_deref() == Some("-115");
    let outcome = get
        .success
        .as_deref()
        .map(|s| s == "yes" || in_progress)
        .or_else(|| get.res.as_deref().map(|r| matches!(r, "success" | "1")));
    if let Some(ok) = outcome {
        event.set(t::STATUS, if ok { "success" } else { "failure" });
    }
    if let Some(exit) = get
        .exit
        .as_deref()
        .filter(|_| outcome == Some(false) || in_progress)
        && let Some(number) = exit.strip_prefix('-')
    {
        let reason = match errno_name(number) {
            Some(name) => format!("{name} (exit {exit})"),
            None => format!("exit {exit}"),
        };
        event.set(t::REASON, reason);
    }
    Ok(())
}

/// The Linux name of the error numbers that connect and execve return most.
fn errno_name(number: &str) -> Option<&'static str> {
    Some(match number {
        "1" => "EPERM",
        "2" => "ENOENT",
        "8" => "ENOEXEC",
        "13" => "EACCES",
        "22" => "EINVAL",
        "97" => "EAFNOSUPPORT",
        "99" => "EADDRNOTAVAIL",
        "101" => "ENETUNREACH",
        "110" => "ETIMEDOUT",
        "111" => "ECONNREFUSED",
        "113" => "EHOSTUNREACH",
        "115" => "EINPROGRESS",
        _ => return None,
    })
}

/// The fields the taxonomy mapping reads, from whichever record has them.
#[derive(Default)]
struct Lookup {
    syscall_arch: Option<String>,
    syscall_number: Option<String>,
    success: Option<String>,
    exit: Option<String>,
    res: Option<String>,
    pid: Option<String>,
    ppid: Option<String>,
    uid: Option<String>,
    user: Option<String>,
    exe: Option<String>,
    proctitle: Option<String>,
    cwd: Option<String>,
    saddr: Option<String>,
}

impl Lookup {
    fn note(&mut self, record: &str, name: &str, value: &str) {
        let slot = match (record, name) {
            ("SYSCALL", "arch") => &mut self.syscall_arch,
            ("SYSCALL", "syscall") => &mut self.syscall_number,
            ("SYSCALL", "success") => &mut self.success,
            ("SYSCALL", "exit") => &mut self.exit,
            (_, "res") => &mut self.res,
            (_, "pid") => &mut self.pid,
            (_, "ppid") => &mut self.ppid,
            (_, "uid") => &mut self.uid,
            (_, "UID") => &mut self.user,
            (_, "exe") => &mut self.exe,
            ("PROCTITLE", "proctitle") => &mut self.proctitle,
            ("CWD", "cwd") => &mut self.cwd,
            ("SOCKADDR", "saddr") => &mut self.saddr,
            _ => return,
        };
        if slot.is_none() {
            *slot = Some(value.to_owned());
        }
    }
}

/// The process and account that acted.
fn subject(event: &mut Event, get: &Lookup) {
    if let Some(uid) = get.uid.as_deref() {
        event.set(t::SUBJECT_ACCOUNT_ID, uid);
    }
    if let Some(user) = get.user.as_deref() {
        event.set(t::SUBJECT_ACCOUNT_NAME, user);
    }
    if let Some(pid) = get.pid.as_deref() {
        event.set(t::SUBJECT_PROCESS_ID, pid);
    }
    if let Some(exe) = get.exe.as_deref().filter(|e| e.starts_with('/')) {
        set_path(
            event,
            exe,
            t::SUBJECT_PROCESS_FULLPATH,
            t::SUBJECT_PROCESS_PATH,
        );
        event.set(t::SUBJECT_PROCESS_NAME, file_name(exe));
    }
    if let Some(title) = get.proctitle.as_deref() {
        event.set(t::SUBJECT_PROCESS_CMDLINE, title);
    }
}

/// A `connect`: the peer from the socket address.
fn connect(event: &mut Event, get: &Lookup) {
    event.set(t::ACTION, "connect");
    event.set(t::CATEGORY_GENERIC, "Connection");
    match get.saddr.as_deref().and_then(socket_address) {
        Some(SocketAddress::Inet(ip, port)) => {
            event.set(t::OBJECT, "connection");
            event.set(t::DST_IP, ip);
            event.set(t::DST_PORT, port);
        }
        Some(SocketAddress::Unix(path)) => {
            event.set(t::OBJECT, "socket");
            event.set(t::OBJECT_PATH, path);
        }
        None => event.set(t::OBJECT, "socket"),
    }
}

/// An `execve`: the program the process became.
fn execve(event: &mut Event, get: &Lookup, records: &[(&str, Vec<Field<'_>>)]) {
    event.set(t::ACTION, "start");
    event.set(t::OBJECT, "process");
    event.set(t::CATEGORY_GENERIC, "Process");
    if let Some(exe) = get.exe.as_deref().filter(|e| e.starts_with('/')) {
        set_path(
            event,
            exe,
            t::OBJECT_PROCESS_FULLPATH,
            t::OBJECT_PROCESS_PATH,
        );
        event.set(t::OBJECT_PROCESS_NAME, file_name(exe));
    }
    if let Some(pid) = get.pid.as_deref() {
        event.set(t::OBJECT_PROCESS_ID, pid);
    }
    if let Some(ppid) = get.ppid.as_deref() {
        event.set(t::OBJECT_PROCESS_PARENT_ID, ppid);
    }
    if let Some(cwd) = get.cwd.as_deref() {
        event.set(t::OBJECT_PROCESS_CWD, cwd);
    }
    if let Some((_, args)) = records.iter().find(|(kind, _)| *kind == "EXECVE") {
        let cmdline: Vec<&str> = args
            .iter()
            .filter(|(name, _)| is_execve_argument(name))
            .map(|(_, value)| value.as_ref())
            .collect();
        event.set(t::OBJECT_PROCESS_CMDLINE, cmdline.join(" "));
    }
}

fn set_path(event: &mut Event, path: &str, full: dozor_event::Field, folder: dozor_event::Field) {
    event.set(full, path);
    if let Some(at) = path.rfind('/') {
        event.set(folder, &path[..=at]);
    }
}

fn file_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// A decoded `SOCKADDR`.
enum SocketAddress {
    Inet(IpAddr, u16),
    Unix(String),
}

/// Decodes the hex `struct sockaddr` of a `SOCKADDR` record (family in host order,
/// little-endian on the architectures auditd runs on; port in network order).
fn socket_address(hex: &str) -> Option<SocketAddress> {
    let bytes = hex_bytes(hex)?;
    let family = u16::from_le_bytes([*bytes.first()?, *bytes.get(1)?]);
    let port = || Some(u16::from_be_bytes([*bytes.get(2)?, *bytes.get(3)?]));
    match family {
        2 => {
            let a: [u8; 4] = bytes.get(4..8)?.try_into().ok()?;
            Some(SocketAddress::Inet(IpAddr::V4(Ipv4Addr::from(a)), port()?))
        }
        10 => {
            let a: [u8; 16] = bytes.get(8..24)?.try_into().ok()?;
            let ip = Ipv6Addr::from(a);
            let ip = ip.to_ipv4_mapped().map_or(IpAddr::V6(ip), IpAddr::V4);
            Some(SocketAddress::Inet(ip, port()?))
        }
        1 => {
            let path = bytes.get(2..)?;
            // An abstract socket starts with NUL; a path ends at its NUL.
            let path = match path.first() {
                Some(0) => {
                    let name = &path[1..];
                    let end = name.iter().position(|&b| b == 0).unwrap_or(name.len());
                    format!("@{}", String::from_utf8_lossy(&name[..end]))
                }
                _ => {
                    let end = path.iter().position(|&b| b == 0).unwrap_or(path.len());
                    String::from_utf8_lossy(&path[..end]).into_owned()
                }
            };
            Some(SocketAddress::Unix(path))
        }
        _ => None,
    }
}

/// The name of the network and process system calls, by audit architecture and
/// number, for `RAW` logs (`ENRICHED` names every call itself).
fn syscall_name(arch: &str, number: &str) -> Option<&'static str> {
    let number: u32 = number.parse().ok()?;
    let table: &[(u32, &str)] = match arch {
        // x86_64
        "c000003e" => &[
            (41, "socket"),
            (42, "connect"),
            (43, "accept"),
            (44, "sendto"),
            (49, "bind"),
            (50, "listen"),
            (59, "execve"),
            (288, "accept4"),
            (322, "execveat"),
        ],
        // aarch64
        "c00000b7" => &[
            (198, "socket"),
            (200, "bind"),
            (201, "listen"),
            (202, "accept"),
            (203, "connect"),
            (206, "sendto"),
            (221, "execve"),
            (242, "accept4"),
            (281, "execveat"),
        ],
        // i386
        "40000003" => &[
            (11, "execve"),
            (359, "socket"),
            (361, "bind"),
            (362, "connect"),
            (363, "listen"),
            (364, "accept4"),
            (358, "execveat"),
        ],
        _ => return None,
    };
    table
        .iter()
        .find(|(n, _)| *n == number)
        .map(|(_, name)| *name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Collected;

    fn read(text: &str) -> Collected {
        crate::format::read_text(&Auditd, text)
    }

    const CONNECT_RAW: &str = "node=vm type=SYSCALL msg=audit(1795843655.604:1240): arch=c000003e syscall=42 success=no exit=-101 a0=3 a1=7ffc a2=10 a3=0 items=0 ppid=8180 pid=8181 auid=4294967295 uid=995 gid=995 euid=995 suid=995 fsuid=995 egid=995 sgid=995 fsgid=995 tty=(none) ses=4294967295 comm=\"python3\" exe=\"/usr/bin/python3.11\" key=\"dozor_net\"
node=vm type=SOCKADDR msg=audit(1795843655.604:1240): saddr=020001BB959AA7DC0000000000000000
node=vm type=PROCTITLE msg=audit(1795843655.604:1240): proctitle=707974686F6E33002D63
";

    #[test]
    fn records_of_one_serial_are_one_event() {
        let sink = read(CONNECT_RAW);
        assert!(sink.rejects.is_empty(), "{:?}", sink.rejects);
        let [ev] = sink.events.as_slice() else {
            panic!("{} events", sink.events.len());
        };
        assert_eq!(ev.get_str(t::ACTION), Some("connect"));
        assert_eq!(
            ev.get(t::DST_IP).map(ToString::to_string).as_deref(),
            Some("149.154.167.220")
        );
        assert_eq!(ev.get(t::DST_PORT), Some(&Value::from(443u16)));
        assert_eq!(ev.get_str(t::SUBJECT_PROCESS_NAME), Some("python3.11"));
        assert_eq!(ev.get_str(t::SUBJECT_PROCESS_CMDLINE), Some("python3 -c"));
        assert_eq!(ev.get_str(t::STATUS), Some("failure"));
        assert_eq!(ev.get_str(t::REASON), Some("ENETUNREACH (exit -101)"));
        assert_eq!(ev.get_str(t::EVENT_SRC_HOST), Some("vm"));
        assert_eq!(ev.raw("SYSCALL"), Some(&Value::from("connect")));
        assert_eq!(ev.raw("key"), Some(&Value::from("dozor_net")));
        assert!(ev.check_kinds().is_ok());
    }

    #[test]
    fn enriched_fields_and_user_messages() {
        let sink = read(
            "node=vm type=USER_START msg=audit(1795843655.196:1082): pid=8117 uid=0 auid=4294967295 ses=4294967295 msg='op=PAM:session_open grantors=pam_keyinit,pam_limits,pam_unix acct=\"dozorbot\" exe=\"/usr/sbin/runuser\" hostname=? addr=? terminal=? res=success'\u{1d}UID=\"root\" AUID=\"unset\"
node=vm type=SOCKADDR msg=audit(1795843655.636:1272): saddr=0A0046A2000000000000000000000000000000000000000100000000\u{1d}SADDR={ saddr_fam=inet6 laddr=::1 lport=18082 }
",
        );
        assert!(sink.rejects.is_empty(), "{:?}", sink.rejects);
        let [user, sock] = sink.events.as_slice() else {
            panic!("{} events", sink.events.len());
        };
        assert_eq!(user.raw("op"), Some(&Value::from("PAM:session_open")));
        assert_eq!(user.get_str(t::SUBJECT_ACCOUNT_NAME), Some("root"));
        assert_eq!(user.get_str(t::STATUS), Some("success"));
        assert_eq!(sock.raw("laddr"), Some(&Value::from("::1")));
    }

    #[test]
    fn socket_addresses() {
        let Some(SocketAddress::Inet(ip, port)) =
            socket_address("0A0046A2000000000000000000000000000000000000000100000000")
        else {
            panic!("inet6 not decoded");
        };
        assert_eq!((ip.to_string().as_str(), port), ("::1", 18082));
        let Some(SocketAddress::Unix(path)) =
            socket_address("01002F7661722F72756E2F6E7363642F736F636B657400004CBA")
        else {
            panic!("unix not decoded");
        };
        assert_eq!(path, "/var/run/nscd/socket");
        assert!(socket_address("100000000000000000000000").is_none());
        assert!(socket_address("02").is_none());
        assert!(socket_address("zz").is_none());
    }

    #[test]
    fn bad_records_are_rejected_alone() {
        let text = format!(
            "type=SYSCALL msg=audit(17958:1): arch=c000003e syscall=42 comm=\"unterminated\n\
             garbage line\n\
             type=SYSCALL msg=audit(bad:1): arch=c000003e\n{CONNECT_RAW}"
        );
        let sink = read(&text);
        assert_eq!(sink.events.len(), 1);
        assert_eq!(sink.rejects.len(), 3);
    }
}
