//! Reading every input with its format: the loop `normalize`, `hunt` and `rules test`
//! share.

use std::io::BufRead;
use std::path::PathBuf;

use anyhow::{Context, Result};
use dozor_collect::{Input, expand_inputs};
use dozor_event::Timestamp;
use dozor_formats::{Format, ReadContext, Reject, Sink};

/// The name under which inputs of no known format are counted.
pub const UNRECOGNISED: &str = "unrecognised";

/// A sink that is told which format each input is read with.
pub trait FormatSink: Sink {
    /// The next events and rejects come from an input read as `format`.
    fn begin(&mut self, format: &'static str);
    /// An output error that should stop reading, if any.
    fn failed(&mut self) -> Option<std::io::Error> {
        None
    }
    /// Whether formats may leave part of their mapping to [`Event::complete`]
    /// (see [`ReadContext::defer_mapping`]): the sink completes the events it keeps.
    ///
    /// [`Event::complete`]: dozor_event::Event::complete
    fn defers_mapping(&self) -> bool {
        false
    }
}

/// The format named `name`, or an error listing the known ones.
pub fn format_named(name: &str) -> Result<&'static dyn Format> {
    dozor_formats::find(name).with_context(|| {
        let names: Vec<_> = dozor_formats::FORMATS.iter().map(|f| f.name()).collect();
        format!("unknown format {name:?}; known: {}", names.join(", "))
    })
}

/// Reads every input under `paths` into `sink`; returns how many inputs there were
/// and how many could not be read at all. Inputs whose format is not recognised are
/// counted as rejects.
pub fn read_inputs(
    paths: &[PathBuf],
    forced: Option<&'static dyn Format>,
    max_record: usize,
    sink: &mut dyn FormatSink,
) -> Result<(usize, usize)> {
    let inputs = expand_inputs(paths)?;
    let mut unreadable = 0;
    for input in &inputs {
        if !read_input(input, forced, max_record, sink)? {
            unreadable += 1;
        }
    }
    Ok((inputs.len(), unreadable))
}

/// An opened input with the format it is read as.
pub struct OpenedInput {
    /// The input's bytes.
    pub opened: dozor_collect::Opened,
    /// The format it is read as.
    pub format: &'static dyn Format,
    /// What the format is told about it.
    pub ctx: ReadContext,
}

/// Opens `input` and picks its format (`forced`, else detected). An input that cannot
/// be opened is reported on stderr, one of no known format also as a reject to `sink`;
/// both give `None`.
pub fn open_input(
    input: &Input,
    forced: Option<&'static dyn Format>,
    max_record: usize,
    sink: &mut dyn FormatSink,
) -> Result<Option<OpenedInput>> {
    let defer_mapping = sink.defers_mapping();
    let mut opened = match input.open() {
        Ok(opened) => opened,
        Err(e) => {
            eprintln!("dozor: cannot open {}: {e}", input.display_name());
            return Ok(None);
        }
    };
    let format = match forced {
        Some(format) => format,
        None => {
            let head = opened.reader.fill_buf()?;
            match dozor_formats::detect(head) {
                Some(format) => format,
                None => {
                    eprintln!(
                        "dozor: {}: format not recognised (use --format)",
                        opened.name
                    );
                    let ctx = ReadContext {
                        source: opened.name.clone(),
                        received: Timestamp::now(),
                        max_record,
                        defer_mapping,
                    };
                    let head = head.to_vec();
                    sink.begin(UNRECOGNISED);
                    sink.reject(Reject::new(
                        UNRECOGNISED,
                        &ctx,
                        0,
                        "format not recognised",
                        &head,
                    ));
                    return Ok(None);
                }
            }
        }
    };
    let ctx = ReadContext {
        source: opened.name.clone(),
        received: opened.modified.unwrap_or_else(Timestamp::now),
        max_record,
        defer_mapping,
    };
    Ok(Some(OpenedInput {
        opened,
        format,
        ctx,
    }))
}

/// Reads one input into `sink`; returns whether it could be read.
pub fn read_input(
    input: &Input,
    forced: Option<&'static dyn Format>,
    max_record: usize,
    sink: &mut dyn FormatSink,
) -> Result<bool> {
    let Some(OpenedInput {
        mut opened,
        format,
        ctx,
    }) = open_input(input, forced, max_record, sink)?
    else {
        return Ok(false);
    };
    sink.begin(format.name());
    let read = format.read(&mut opened.reader, &ctx, sink);
    if let Some(e) = sink.failed() {
        return Err(e).context("cannot write output");
    }
    if let Err(e) = read {
        eprintln!("dozor: error reading {}: {e}", opened.name);
        return Ok(false);
    }
    Ok(true)
}
