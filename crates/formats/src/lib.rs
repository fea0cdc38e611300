//! Normalize: the second stage of the pipeline. Each supported log format turns raw
//! records into [`dozor_event::Event`]s in the reference taxonomy.
//!
//! Design (after ripgrep's one-trait-per-concern and its single flag list):
//! - one [`Format`] trait, one module per format, and one registry list,
//!   [`FORMATS`]; adding a format is one new file and one line there;
//! - programs that usually arrive inside syslog (BIND `named`, `dnsmasq`, TeamCity)
//!   implement [`MessageParser`] once and are reached both from their own file format
//!   and from the syslog envelope through the [`programs`] table;
//! - parsing is synchronous and pure; bad records become counted [`Reject`]s with a
//!   reason, never panics, and never stop the records around them.
//!
//! The parsers of the high-volume text formats (syslog, BIND, dnsmasq) are written by
//! hand over `&str` slices: they are our core, must run at well over 500k lines/s on
//! one core, and a regex or grammar crate would cost several times that. Standard
//! binary and structured formats use maintained crates (`evtx`, `roxmltree`,
//! `serde_json`).

mod auditd;
mod bind;
mod dnsmasq;
mod flat_json;
mod format;
mod http;
mod json;
mod lines;
mod message;
pub mod programs;
mod registry;
mod shipped;
mod squid;
mod suricata;
mod syslog;
mod teamcity;
mod text;
mod tomcat;
mod windows;
mod zeek;

pub use format::{Collected, Format, ParseError, ReadContext, Reject, Sink};
pub use message::MessageParser;
pub use registry::{FORMATS, detect, find};
pub use windows::SET_BEFORE_DEFERRAL;
