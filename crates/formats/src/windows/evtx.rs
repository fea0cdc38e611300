//! EVTX files through the `evtx` crate. A corrupt chunk or record is counted as a
//! reject and the records around it are still read.

use std::io::{self, BufRead, Read};

use dozor_event::Event;
use evtx::EvtxParser;

use super::{normalize, record_from_json};
use crate::format::{Format, ReadContext, Reject, Sink};
use crate::lines::stamp;

/// Windows EVTX files.
pub(crate) struct Evtx;

/// The largest EVTX file read (Windows caps a log at 4 GiB, real ones are far smaller).
const MAX_EVTX_BYTES: u64 = 4 * 1024 * 1024 * 1024;

impl Format for Evtx {
    fn name(&self) -> &'static str {
        "evtx"
    }

    fn description(&self) -> &'static str {
        "Windows EVTX event log files (corrupt chunks skipped and counted)"
    }

    fn detect(&self, head: &[u8]) -> u8 {
        if head.starts_with(b"ElfFile\0") {
            100
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
        let mut bytes = Vec::new();
        input.take(MAX_EVTX_BYTES).read_to_end(&mut bytes)?;
        let mut parser = match EvtxParser::from_buffer(bytes) {
            Ok(parser) => parser,
            Err(e) => {
                let reason = format!("not a readable EVTX file: {e}");
                sink.reject(Reject::new(self.name(), ctx, 0, reason, &[]));
                return Ok(());
            }
        };
        let mut number = 0u64;
        for record in parser.records_json_value() {
            number += 1;
            match record {
                Ok(record) => {
                    let body = record.data.to_string();
                    match record_from_json(&record.data) {
                        Some(win) => {
                            let mut event = Event::new();
                            normalize(win, &mut event, ctx.defer_mapping);
                            stamp(&mut event, self.name(), &body, ctx);
                            sink.event(event);
                        }
                        None => {
                            let reason = "EVTX record without Event/System/EventID";
                            sink.reject(Reject::new(
                                self.name(),
                                ctx,
                                number,
                                reason,
                                body.as_bytes(),
                            ));
                        }
                    }
                }
                Err(e) => {
                    let reason = format!("corrupt EVTX data: {}", chain(&e));
                    sink.reject(Reject::new(self.name(), ctx, number, reason, &[]));
                }
            }
        }
        Ok(())
    }
}

/// An error and its causes, joined by `: `.
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
