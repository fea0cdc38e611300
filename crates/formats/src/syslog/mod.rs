//! Syslog: the envelope fills `event_src.*` and the time, and the message goes on to
//! the parser of its program (see [`crate::programs`]). Messages of other programs
//! are kept as generic events with their text under `raw.message`.

mod envelope;

use std::collections::HashMap;
use std::io::{self, BufRead};

use dozor_event::{Event, Timestamp, taxonomy as t};

use crate::format::{Format, ParseError, ReadContext, Sink};
use crate::lines::{line_score, read_lines};
use crate::message::{MessageContext, MessageParser};
use crate::programs;
use crate::text::set_host;

pub(crate) use envelope::{Envelope, parse as parse_envelope};

/// Syslog in any of its common forms, from a file or a stream.
pub(crate) struct Syslog;

impl Format for Syslog {
    fn name(&self) -> &'static str {
        "syslog"
    }

    fn description(&self) -> &'static str {
        "syslog: RFC 5424, RFC 3164, rsyslog traditional and RFC 3339 files; messages of named, dnsmasq and TeamCity are parsed further"
    }

    fn detect(&self, head: &[u8]) -> u8 {
        let now = Timestamp::now();
        line_score(head, |line| parse_envelope(line, now).is_ok())
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

/// Reads syslog lines as the format `format` (syslog itself, or a program's own log
/// file written in syslog's layout).
pub(crate) fn read_syslog(
    format: &'static str,
    input: &mut dyn BufRead,
    ctx: &ReadContext,
    sink: &mut dyn Sink,
) -> io::Result<()> {
    let mut reader = SyslogReader::new(ctx.received);
    read_lines(format, input, ctx, sink, |line, event| {
        reader.parse(line, event)
    })
}

/// How many per-program parser states one stream keeps before starting afresh.
const MAX_PROGRAM_STATES: usize = 4096;

/// Parses syslog lines of one stream, keeping one message-parser state per
/// (host, program).
pub(crate) struct SyslogReader {
    received: Timestamp,
    parsers: HashMap<String, Option<Box<dyn MessageParser>>>,
    key: String,
}

impl SyslogReader {
    /// A reader whose year-less timestamps are resolved against `received`.
    pub(crate) fn new(received: Timestamp) -> Self {
        Self {
            received,
            parsers: HashMap::new(),
            key: String::new(),
        }
    }

    /// Parses one line into `event`.
    pub(crate) fn parse(&mut self, line: &str, event: &mut Event) -> Result<(), ParseError> {
        let envelope = parse_envelope(line, self.received)?;
        fill_envelope(&envelope, event);
        let Some(app) = envelope.app else {
            event.set_raw("message", envelope.message);
            return Ok(());
        };
        self.key.clear();
        self.key.push_str(envelope.host.unwrap_or_default());
        self.key.push('\u{0}');
        self.key.push_str(app);
        if !self.parsers.contains_key(&self.key) {
            if self.parsers.len() >= MAX_PROGRAM_STATES {
                self.parsers.clear();
            }
            self.parsers
                .insert(self.key.clone(), programs::parser_for(app));
        }
        let Some(parser) = self.parsers.get_mut(&self.key) else {
            return Err("internal: program state vanished".into());
        };
        let ctx = MessageContext {
            received: self.received,
            envelope_time: envelope.time,
        };
        match parser {
            Some(parser) => parser.parse(envelope.message, event, &ctx),
            None => {
                event.set(t::EVENT_SRC_TITLE, app.to_ascii_lowercase());
                event.set_raw("message", envelope.message);
                Ok(())
            }
        }
    }
}

/// Sets what the envelope says: time, reporting host, and the header fields as raw
/// `syslog.*` fields.
fn fill_envelope(envelope: &Envelope<'_>, event: &mut Event) {
    if let Some(time) = envelope.time {
        event.set(t::TIME, time);
    }
    if let Some(host) = envelope.host {
        event.set(t::EVENT_SRC_HOST, host);
        set_host(
            event,
            host,
            t::EVENT_SRC_HOSTNAME,
            t::EVENT_SRC_FQDN,
            Some(t::EVENT_SRC_IP),
        );
    }
    if let Some(pri) = envelope.pri {
        event.set_raw("syslog.facility", i64::from(pri / 8));
        event.set_raw("syslog.severity", i64::from(pri % 8));
    }
    for (name, value) in [
        ("syslog.appname", envelope.app),
        ("syslog.procid", envelope.procid),
        ("syslog.msgid", envelope.msgid),
        ("syslog.structured_data", envelope.structured),
    ] {
        if let Some(value) = value {
            event.set_raw(name, value);
        }
    }
}
