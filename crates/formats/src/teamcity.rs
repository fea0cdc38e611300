//! JetBrains TeamCity server logs: `teamcity-activities.log` (audit and activity
//! lines), `teamcity-rest.log` (REST request completion), `teamcity-auth.log`
//! (request authentication), `teamcity-server.log` and the other log4j files, as
//! plain files or inside syslog. Field mapping follows the reference product's own
//! normalization tests.

use std::io::{self, BufRead};
use std::net::IpAddr;

use dozor_event::{Event, Field, taxonomy as t};

use crate::format::{Format, ParseError, ReadContext, Sink};
use crate::lines::{line_score, read_multiline};
use crate::message::{MessageContext, MessageParser};
use crate::text::iso_datetime;

/// TeamCity's own log files.
pub(crate) struct TeamCity;

impl Format for TeamCity {
    fn name(&self) -> &'static str {
        "teamcity"
    }

    fn description(&self) -> &'static str {
        "JetBrains TeamCity server logs: activities/audit, REST, auth, server (log4j layout)"
    }

    fn detect(&self, head: &[u8]) -> u8 {
        line_score(head, |line| split_line(line).is_ok())
    }

    fn read(
        &self,
        input: &mut dyn BufRead,
        ctx: &ReadContext,
        sink: &mut dyn Sink,
    ) -> io::Result<()> {
        let mut messages = TeamCityMessages::new("");
        let mctx = MessageContext {
            received: ctx.received,
            envelope_time: None,
        };
        read_multiline(
            self.name(),
            input,
            ctx,
            sink,
            |line| line.starts_with('[') && iso_datetime(&line.as_bytes()[1..]).is_some(),
            |record, event| messages.parse(record, event, &mctx),
        )
    }
}

/// The parts of one TeamCity log line.
struct LogLine<'a> {
    time: dozor_event::Timestamp,
    level: &'a str,
    thread: Option<&'a str>,
    logger: Option<&'a str>,
    message: &'a str,
}

/// `[yyyy-mm-dd hh:mm:ss,mmm]  LEVEL [thread] - logger - message`; the thread and the
/// logger are optional (the auth log has no logger).
fn split_line(line: &str) -> Result<LogLine<'_>, ParseError> {
    let rest = line.strip_prefix('[').ok_or("no [timestamp]")?;
    let (time, used) = iso_datetime(rest.as_bytes()).ok_or("bad timestamp")?;
    let rest = rest[used..]
        .strip_prefix(']')
        .ok_or("bad timestamp")?
        .trim_start();
    let (level, rest) = rest.split_once(' ').ok_or("truncated line: no level")?;
    if level.is_empty() || !level.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err("bad log level".into());
    }
    let rest = rest.trim_start();
    let (thread, rest) = match rest.strip_prefix('[') {
        Some(r) => {
            let (thread, after) = r.split_once("] - ").ok_or("unterminated [thread]")?;
            (Some(thread), after)
        }
        None => (
            None,
            rest.strip_prefix("- ").ok_or("no ' - ' after the level")?,
        ),
    };
    let rest = rest.trim_start();
    let (logger, message) = match rest.split_once(" - ") {
        Some((logger, message)) if !logger.is_empty() && !logger.contains(' ') => {
            (Some(logger), message)
        }
        _ => (None, rest),
    };
    Ok(LogLine {
        time,
        level,
        thread,
        logger,
        message,
    })
}

/// Parses TeamCity log lines; `program` is the syslog tag (the log file's name), if any.
pub(crate) struct TeamCityMessages {
    subsys: String,
}

impl TeamCityMessages {
    /// A parser for lines of the TeamCity log file named `program` (may be empty).
    pub(crate) fn new(program: &str) -> Self {
        Self {
            subsys: program.to_owned(),
        }
    }
}

impl MessageParser for TeamCityMessages {
    fn parse(
        &mut self,
        message: &str,
        event: &mut Event,
        _ctx: &MessageContext,
    ) -> Result<(), ParseError> {
        let line = split_line(message)?;
        event.set(t::TIME, line.time);
        event.set(t::EVENT_SRC_VENDOR, "jetbrains");
        event.set(t::EVENT_SRC_TITLE, "teamcity");
        event.set(t::EVENT_SRC_CATEGORY, "Other");
        event.set_nonempty(t::EVENT_SRC_SUBSYS, &self.subsys);
        event.set(t::IMPORTANCE, "medium");
        event.set_raw("level", line.level);
        if let Some(thread) = line.thread {
            event.set_raw("thread", thread);
        }
        if let Some(logger) = line.logger {
            event.set_raw("logger", logger);
        }
        let msg = line.message;
        if let Some(rest) = msg
            .strip_prefix("REST API  request processing finished in ")
            .or_else(|| msg.strip_prefix("REST API request processing finished in "))
        {
            return rest_finished(rest, event);
        }
        if let Some(rest) =
            msg.strip_prefix("Processing request with authorization header protocol: '")
        {
            return auth_request(rest, event);
        }
        if let Some(rest) = msg.strip_prefix("External process is launched by user ") {
            return external_process(rest, event);
        }
        if let Some(rest) = msg.strip_prefix("File edited: ") {
            let (path, user) = rest.rsplit_once(" by ").ok_or("truncated file edit")?;
            file_change(event, "file_edited", path, user);
            return Ok(());
        }
        if line.logger.is_some_and(|l| l.ends_with("ACTIVITIES.AUDIT")) {
            return audit(msg, event);
        }
        event.set(t::ACTION, "info");
        event.set(t::MSGID, line.logger.unwrap_or("message"));
        event.set_raw("message", msg);
        Ok(())
    }
}

/// `576ms, status code: 200, request: POST '/path?query', from client IP:PORT, META`
fn rest_finished(rest: &str, event: &mut Event) -> Result<(), ParseError> {
    let (duration, rest) = rest
        .split_once("ms, status code: ")
        .ok_or("truncated REST line")?;
    let (code, rest) = rest
        .split_once(", request: ")
        .ok_or("truncated REST line")?;
    let code: i64 = code.parse().map_err(|_| "bad status code")?;
    if let Ok(ms) = duration.parse::<i64>() {
        event.set(t::DURATION, ms);
    }
    event.set(t::HTTP_STATUS, code);
    // The reference normalization counts only 200 as success (204 is a failure there).
    event.set(t::STATUS, if code == 200 { "success" } else { "failure" });
    event.set(t::MSGID, "rest_request_finished");
    request(rest, event)
}

/// `Bearer': GET '/path', from client IP:PORT, META`
fn auth_request(rest: &str, event: &mut Event) -> Result<(), ParseError> {
    let (scheme, rest) = rest.split_once("': ").ok_or("truncated auth line")?;
    event.set_raw("auth_scheme", scheme);
    event.set(t::STATUS, "success");
    event.set(t::MSGID, "auth_request");
    request(rest, event)
}

/// `METHOD 'TARGET', from client IP:PORT, META`
fn request(rest: &str, event: &mut Event) -> Result<(), ParseError> {
    let (method, rest) = rest.split_once(" '").ok_or("truncated request")?;
    let (target, rest) = rest
        .split_once("', from client ")
        .ok_or("truncated request")?;
    let (client, meta) = rest.split_once(", ").unwrap_or((rest, ""));
    let (ip, port) = client.rsplit_once(':').ok_or("bad client address")?;
    let ip: IpAddr = ip
        .trim_matches(['[', ']'])
        .parse()
        .map_err(|_| "bad client address")?;
    let port: u16 = port.parse().map_err(|_| "bad client port")?;
    event.set(t::ACTION, "execute");
    event.set(t::OBJECT, "request");
    event.set(t::OBJECT_TYPE, method);
    event.set(t::HTTP_METHOD, method);
    event.set(t::OBJECT_QUERY, target);
    event.set(t::HTTP_URL, target);
    event.set(t::SRC_IP, ip);
    event.set(t::SRC_PORT, port);
    event.set_nonempty(t::OBJECT_PROCESS_META, meta);
    if let Some(user) = meta
        .split(", ")
        .find_map(|p| p.strip_prefix("authenticated as "))
    {
        set_account(event, ACCOUNT_OBJECT, user);
    }
    Ok(())
}

/// `USER. Command line: CMD`
fn external_process(rest: &str, event: &mut Event) -> Result<(), ParseError> {
    let (user, cmdline) = rest
        .split_once(". Command line: ")
        .ok_or("truncated external process line")?;
    event.set(t::SUBJECT, "account");
    event.set(t::ACTION, "start");
    event.set(t::OBJECT, "process");
    event.set(t::STATUS, "success");
    event.set(t::MSGID, "external_process_launched");
    event.set(t::OBJECT_PROCESS_CMDLINE, cmdline);
    if let Some(exe) = first_word(cmdline) {
        event.set(
            t::OBJECT_PROCESS_NAME,
            exe.rsplit(['/', '\\']).next().unwrap_or(exe).to_lowercase(),
        );
    }
    set_account(event, ACCOUNT_SUBJECT, user);
    Ok(())
}

fn first_word(cmdline: &str) -> Option<&str> {
    let cmdline = cmdline.trim_start();
    if let Some(quoted) = cmdline.strip_prefix('"') {
        return quoted.split('"').next();
    }
    cmdline.split_whitespace().next()
}

/// An audit line `action_name: text`.
fn audit(msg: &str, event: &mut Event) -> Result<(), ParseError> {
    let (action, text) = msg.split_once(": ").ok_or("audit line without an action")?;
    event.set(t::MSGID, action);
    event.set(t::STATUS, "success");
    match action {
        "create_token_for_user" | "create_restricted_token_for_user" => token_created(text, event),
        "delete_token_for_user" | "delete_tokens_by_system" => token_deleted(text, event),
        "server_file_change" => {
            let rest = text.strip_prefix("File ").ok_or("truncated file change")?;
            let (path, user) = rest
                .split_once(" was modified by ")
                .ok_or("truncated file change")?;
            file_change(event, action, path, user);
            Ok(())
        }
        _ => {
            event.set(t::ACTION, "info");
            if let Some((_, by)) = text.rsplit_once(" by \"") {
                set_account(event, ACCOUNT_SUBJECT, by.split('"').next().unwrap_or(by));
                event.set(t::SUBJECT, "account");
            }
            event.set_raw("message", text);
            Ok(())
        }
    }
}

/// `Created user-scoped token for user "U", token: "Token {name='N' identifier='I' expirationTime='E' restricted='R' }" by "U2"`
fn token_created(text: &str, event: &mut Event) -> Result<(), ParseError> {
    let (owner, rest) = quoted_after(text, "for user \"").ok_or("no token owner")?;
    let (token, rest) = quoted_after(rest, "token: \"").ok_or("no token")?;
    let (by, _) = quoted_after(rest, "by \"").ok_or("no acting user")?;
    token_common(event, "create", owner, by);
    for (key, field) in [
        ("name", t::OBJECT_NAME),
        ("identifier", t::OBJECT_ID),
        ("expirationTime", t::OBJECT_VALUE),
    ] {
        if let Some(value) = attr(token, key) {
            event.set(field, value);
        }
    }
    if event.get(t::OBJECT_VALUE).is_some() {
        event.set(t::OBJECT_PROPERTY, "expiration_time");
    }
    if let Some(restricted) = attr(token, "restricted") {
        event.set_raw("token_restricted", restricted);
    }
    Ok(())
}

/// `Deleted token "N" for user "U" by "U2"` or
/// `Deleted tokens of user "U" (...) by "U2" with comment "C"`
fn token_deleted(text: &str, event: &mut Event) -> Result<(), ParseError> {
    let name = text
        .strip_prefix("Deleted token \"")
        .and_then(|r| r.split_once('"'))
        .map(|(name, _)| name);
    let (owner, rest) = quoted_after(text, "user \"").ok_or("no token owner")?;
    let (by, rest) = quoted_after(rest, "by \"").ok_or("no acting user")?;
    token_common(event, "remove", owner, by);
    if let Some(name) = name {
        event.set(t::OBJECT_NAME, name);
    }
    if let Some((comment, _)) = quoted_after(rest, "with comment \"") {
        event.set(t::REASON, comment);
    }
    Ok(())
}

fn token_common(event: &mut Event, action: &str, owner: &str, by: &str) {
    event.set(t::SUBJECT, "account");
    event.set(t::ACTION, action);
    event.set(t::OBJECT, "resource");
    event.set(t::OBJECT_TYPE, "user_token");
    set_account(event, ACCOUNT_OBJECT, owner);
    set_account(event, ACCOUNT_SUBJECT, by);
}

/// A change of a server file, such as `internal.properties`.
fn file_change(event: &mut Event, msgid: &str, path: &str, user: &str) {
    event.set(t::SUBJECT, "account");
    event.set(t::ACTION, "modify");
    event.set(t::OBJECT, "file");
    event.set(t::STATUS, "success");
    event.set(t::MSGID, msgid);
    event.set(t::OBJECT_FULLPATH, path);
    if let Some(at) = path.rfind(['/', '\\']) {
        event.set(t::OBJECT_PATH, &path[..=at]);
        event.set(t::OBJECT_NAME, &path[at + 1..]);
    } else {
        event.set(t::OBJECT_NAME, path);
    }
    set_account(event, ACCOUNT_SUBJECT, user.trim_matches('"'));
}

/// The text between `"` after `marker`, and what follows its closing quote.
fn quoted_after<'a>(text: &'a str, marker: &str) -> Option<(&'a str, &'a str)> {
    let start = text.find(marker)? + marker.len();
    let rest = &text[start..];
    let end = rest.find('"')?;
    Some((&rest[..end], &rest[end + 1..]))
}

/// The value of `key='value'` inside a token description.
fn attr<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    let marker = format!("{key}='");
    let start = text.find(&marker)? + marker.len();
    text[start..].split('\'').next()
}

/// The fields an account description fills: name, full name, id, privileges.
struct AccountFields {
    name: Field,
    fullname: Field,
    id: Field,
    privileges: Field,
}

const ACCOUNT_SUBJECT: AccountFields = AccountFields {
    name: t::SUBJECT_ACCOUNT_NAME,
    fullname: t::SUBJECT_ACCOUNT_FULLNAME,
    id: t::SUBJECT_ACCOUNT_ID,
    privileges: t::SUBJECT_ACCOUNT_PRIVILEGES,
};

const ACCOUNT_OBJECT: AccountFields = AccountFields {
    name: t::OBJECT_ACCOUNT_NAME,
    fullname: t::OBJECT_ACCOUNT_FULLNAME,
    id: t::OBJECT_ACCOUNT_ID,
    privileges: t::OBJECT_ACCOUNT_PRIVILEGES,
};

/// TeamCity's account descriptions: `'login' {id=1}`, `'login' (Full Name) {id=7}`,
/// `user with id=7`. The built-in super user has id -42.
fn set_account(event: &mut Event, fields: AccountFields, text: &str) {
    let text = text.trim();
    let id = text
        .rsplit_once("{id=")
        .and_then(|(_, r)| r.split_once('}'))
        .map(|(id, _)| id)
        .or_else(|| text.strip_prefix("user with id="));
    if let Some(login) = text
        .strip_prefix('\'')
        .and_then(|r| r.split_once('\''))
        .map(|(l, _)| l)
    {
        event.set(fields.name, login);
    }
    if let Some(full) = text
        .split_once("' (")
        .and_then(|(_, r)| r.rsplit_once(") {"))
        .map(|(f, _)| f)
    {
        event.set(fields.fullname, full);
    }
    if let Some(id) = id {
        event.set(fields.id, id);
        if id == "-42" {
            event.set(fields.privileges, "super_user");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dozor_event::Value;

    fn parse(line: &str) -> Result<Event, ParseError> {
        let mut event = Event::new();
        let ctx = MessageContext {
            received: dozor_event::Timestamp::UNIX_EPOCH,
            envelope_time: None,
        };
        TeamCityMessages::new("teamcity-activities.log").parse(line, &mut event, &ctx)?;
        assert!(event.check_kinds().is_ok());
        Ok(event)
    }

    #[test]
    fn internal_properties_change() -> Result<(), ParseError> {
        let ev = parse(
            r#"[2024-03-04 10:15:01,234]   INFO - s.buildServer.ACTIVITIES.AUDIT - server_file_change: File C:\ProgramData\JetBrains\TeamCity\config\internal.properties was modified by "user with id=12""#,
        )?;
        assert_eq!(ev.get_str(t::MSGID), Some("server_file_change"));
        assert_eq!(ev.get_str(t::OBJECT_NAME), Some("internal.properties"));
        assert_eq!(ev.get_str(t::SUBJECT_ACCOUNT_ID), Some("12"));
        Ok(())
    }

    #[test]
    fn external_process_launch() -> Result<(), ParseError> {
        let ev = parse(
            r#"[2023-10-02 10:00:00,000]   INFO -   jetbrains.buildServer.ACTIVITIES - External process is launched by user user with id=11. Command line: cmd.exe "/c whoami""#,
        )?;
        assert_eq!(
            ev.get_str(t::OBJECT_PROCESS_CMDLINE),
            Some(r#"cmd.exe "/c whoami""#)
        );
        assert_eq!(ev.get_str(t::OBJECT_PROCESS_NAME), Some("cmd.exe"));
        assert_eq!(ev.get_str(t::SUBJECT_ACCOUNT_ID), Some("11"));
        Ok(())
    }

    #[test]
    fn rest_request_with_query() -> Result<(), ParseError> {
        let ev = parse(
            "[2023-09-27 20:12:20,116]  DEBUG [p-nio-80-exec-8] - er.rest.APIController/rest-api - REST API  request processing finished in 5ms, status code: 400, request: POST '/app/rest/debug/processes?exePath=cmd.exe&params=/c', from client 10.0.0.9:4000, no user-agent, authenticated as 'admin' {id=1}",
        )?;
        assert_eq!(ev.get_str(t::STATUS), Some("failure"));
        assert_eq!(ev.get(t::HTTP_STATUS), Some(&Value::Int(400)));
        assert_eq!(
            ev.get_str(t::OBJECT_QUERY),
            Some("/app/rest/debug/processes?exePath=cmd.exe&params=/c")
        );
        assert_eq!(ev.get_str(t::OBJECT_ACCOUNT_NAME), Some("admin"));
        Ok(())
    }

    #[test]
    fn malformed_lines_are_errors() {
        for line in [
            "[2023-09-27 20:12:20,116",
            "[2023-09-27 20:12:20,116]",
            "[2023-09-27 20:12:20,116]  DEBUG [p-nio - x",
            "[2023-09-27 20:12:20,116]  DEBUG [t] - REST API  request processing finished in 5ms, status code: x, request: GET '/', from client 1.2.3.4:5, x",
        ] {
            assert!(parse(line).is_err(), "{line} accepted");
        }
    }
}
