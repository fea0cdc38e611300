//! Parsers of one program's messages, shared by the program's own log file format and
//! the syslog envelope.

use dozor_event::{Event, Timestamp};

use crate::format::ParseError;

/// Parses the message part of one program's log lines into an event that the caller
/// has already filled with what the envelope says (time, reporting host).
///
/// A parser keeps state across the messages of one stream (for example dnsmasq links
/// answers to queries), so one instance serves one input and one reporting program.
pub trait MessageParser: Send {
    /// Fills `event` from `message`.
    fn parse(
        &mut self,
        message: &str,
        event: &mut Event,
        ctx: &MessageContext,
    ) -> Result<(), ParseError>;
}

/// What the envelope tells a [`MessageParser`].
#[derive(Debug, Clone, Copy)]
pub struct MessageContext {
    /// The reference time for timestamps without a year.
    pub received: Timestamp,
    /// The time the envelope gave, if any.
    pub envelope_time: Option<Timestamp>,
}
