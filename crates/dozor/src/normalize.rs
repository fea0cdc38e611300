//! `dozor normalize`: read inputs, normalize, print events as JSON lines.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use dozor_collect::DEFAULT_MAX_RECORD;
use dozor_event::Event;
use dozor_formats::{Reject, Sink};

use crate::inputs::{FormatSink, format_named, read_inputs};

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
            let written = serde_json::to_writer(&mut self.events, &event)
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

impl<W: Write> FormatSink for Output<W> {
    fn begin(&mut self, format: &'static str) {
        self.format = format;
        self.counts.entry(format).or_default();
    }

    fn failed(&mut self) -> Option<io::Error> {
        self.error.take()
    }
}

/// Runs `dozor normalize`.
pub fn run(args: &Args) -> Result<()> {
    let forced = args.format.as_deref().map(format_named).transpose()?;
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
    let (inputs, unreadable) = match read_inputs(&args.paths, forced, args.max_record, &mut out) {
        Err(e) if is_broken_pipe(&e) => return Ok(()),
        other => other?,
    };
    if let Err(e) = out.events.flush()
        && e.kind() != io::ErrorKind::BrokenPipe
    {
        return Err(e).context("cannot write output");
    }
    if let Some(rejects) = out.rejects.as_mut() {
        rejects.flush().context("cannot write rejects")?;
    }
    if args.stats {
        eprintln!("{:<12} {:>10} {:>10}", "format", "parsed", "rejected");
        for (format, counts) in &out.counts {
            eprintln!("{format:<12} {:>10} {:>10}", counts.parsed, counts.rejected);
        }
    }
    if unreadable > 0 && unreadable == inputs {
        bail!("no input could be read");
    }
    Ok(())
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain()
        .filter_map(|c| c.downcast_ref::<io::Error>())
        .any(|e| e.kind() == io::ErrorKind::BrokenPipe)
}
