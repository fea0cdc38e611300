//! `dozor normalize`: read inputs, normalize, print events as JSON lines.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufRead, BufWriter, Write};
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use dozor_collect::{DEFAULT_MAX_RECORD, expand_inputs};
use dozor_event::{Event, Timestamp};
use dozor_formats::{Format, ReadContext, Reject, Sink};

/// Arguments of `dozor normalize`.
#[derive(clap::Args)]
pub struct Args {
    /// Files or directories to read (`-` for stdin). Gzip is detected and decoded.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// Read every input as this format instead of detecting it (see `dozor formats`).
    #[arg(long)]
    format: Option<String>,
    /// Print records parsed and rejected per format to stderr when done.
    #[arg(long)]
    stats: bool,
    /// Write every rejected record with its reason to this file, one JSON object a line.
    #[arg(long, value_name = "FILE")]
    rejects: Option<PathBuf>,
    /// Write the events to this file instead of stdout.
    #[arg(long, short, value_name = "FILE")]
    output: Option<PathBuf>,
    /// The longest record kept, in bytes; longer ones are rejected.
    #[arg(long, default_value_t = DEFAULT_MAX_RECORD)]
    max_record: usize,
}

/// The name under which inputs of no known format are counted.
const UNRECOGNISED: &str = "unrecognised";

/// Per-format counts.
#[derive(Default)]
struct Counts {
    parsed: u64,
    rejected: u64,
}

/// Writes events to the output and rejects to the rejects file, counting both.
struct Output<W: Write> {
    events: W,
    rejects: Option<BufWriter<File>>,
    counts: BTreeMap<&'static str, Counts>,
    format: &'static str,
    error: Option<io::Error>,
}

impl<W: Write> Sink for Output<W> {
    fn event(&mut self, event: Event) {
        self.counts.entry(self.format).or_default().parsed += 1;
        if self.error.is_none() {
            let written = serde_json::to_writer(&mut self.events, &event.to_json())
                .map_err(io::Error::from)
                .and_then(|()| self.events.write_all(b"\n"));
            if let Err(e) = written {
                self.error = Some(e);
            }
        }
    }

    fn reject(&mut self, reject: Reject) {
        self.counts.entry(reject.format).or_default().rejected += 1;
        if let (Some(out), None) = (self.rejects.as_mut(), self.error.as_ref()) {
            let line = serde_json::json!({
                "source": reject.source,
                "location": reject.location,
                "format": reject.format,
                "reason": reject.reason,
                "len": reject.len,
                "record": String::from_utf8_lossy(&reject.record),
            });
            let written = serde_json::to_writer(&mut *out, &line)
                .map_err(io::Error::from)
                .and_then(|()| out.write_all(b"\n"));
            if let Err(e) = written {
                self.error = Some(e);
            }
        }
    }
}

/// Runs `dozor normalize`.
pub fn run(args: &Args) -> Result<()> {
    let forced: Option<&'static dyn Format> = match &args.format {
        Some(name) => Some(dozor_formats::find(name).with_context(|| {
            let names: Vec<_> = dozor_formats::FORMATS.iter().map(|f| f.name()).collect();
            format!("unknown format {name:?}; known: {}", names.join(", "))
        })?),
        None => None,
    };
    let inputs = expand_inputs(&args.paths)?;
    let rejects = match &args.rejects {
        Some(path) => {
            Some(BufWriter::new(File::create(path).with_context(|| {
                format!("cannot create {}", path.display())
            })?))
        }
        None => None,
    };
    let events: Box<dyn Write> = match &args.output {
        Some(path) => Box::new(
            File::create(path).with_context(|| format!("cannot create {}", path.display()))?,
        ),
        None => Box::new(io::stdout().lock()),
    };
    let mut out = Output {
        events: BufWriter::with_capacity(256 * 1024, events),
        rejects,
        counts: BTreeMap::new(),
        format: "",
        error: None,
    };
    let mut unreadable = 0;
    for input in &inputs {
        let mut opened = match input.open() {
            Ok(opened) => opened,
            Err(e) => {
                eprintln!("dozor: cannot open {}: {e}", input.display_name());
                unreadable += 1;
                continue;
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
                            max_record: args.max_record,
                        };
                        let head = head.to_vec();
                        let reason = "format not recognised";
                        out.reject(Reject::new(UNRECOGNISED, &ctx, 0, reason, &head));
                        unreadable += 1;
                        continue;
                    }
                }
            }
        };
        let ctx = ReadContext {
            source: opened.name.clone(),
            received: opened.modified.unwrap_or_else(Timestamp::now),
            max_record: args.max_record,
        };
        out.format = format.name();
        out.counts.entry(format.name()).or_default();
        if let Err(e) = format.read(&mut opened.reader, &ctx, &mut out) {
            eprintln!("dozor: error reading {}: {e}", opened.name);
            unreadable += 1;
        }
        if let Some(e) = out.error.take() {
            if e.kind() == io::ErrorKind::BrokenPipe {
                return Ok(());
            }
            return Err(e).context("cannot write output");
        }
    }
    out.events.flush().or_else(|e| {
        if e.kind() == io::ErrorKind::BrokenPipe {
            Ok(())
        } else {
            Err(e)
        }
    })?;
    if let Some(rejects) = out.rejects.as_mut() {
        rejects.flush().context("cannot write rejects")?;
    }
    if args.stats {
        eprintln!("{:<12} {:>10} {:>10}", "format", "parsed", "rejected");
        for (format, counts) in &out.counts {
            eprintln!("{format:<12} {:>10} {:>10}", counts.parsed, counts.rejected);
        }
    }
    if unreadable > 0 && unreadable == inputs.len() {
        bail!("no input could be read");
    }
    Ok(())
}
