//! `dozor`: the Dozor SIEM command line.

mod export;
mod hunt;
mod inputs;
mod normalize;
mod rules_cmd;
mod serve;

use anyhow::Result;
use clap::{Parser, Subcommand};

/// mimalloc instead of the system allocator: normalizing and matching allocate many
/// small, short-lived strings per event, and glibc's malloc and free were a sixth of
/// an offline hunt's instructions. Its 2.x line (the crate's `v2` feature) rather than
/// the crate's default 3.x: on the process-creation lane of `bench/compare.py` a
/// one-thread `hunt` peaked at 48 MB instead of 63 MB, its time the same or 2-5% less
/// (medians of two sets of 10 alternating runs), the same with `--threads 2`.
///
/// Built without transparent huge pages (`no_thp`: mimalloc does not advise the
/// kernel to back its memory with 2 MB pages). Where the kernel gives huge pages only
/// on such advice and compacts memory to find them (as on the machines here:
/// `transparent_hugepage/enabled` and `defrag` both `madvise`), a run that followed
/// another memory-hungry process stalled in that compaction: right after an RSigma
/// run, `hunt --threads 2` on the process-creation lane took 0.72-0.82 s with three
/// times the system time, and 0.61-0.65 s with huge pages off. In `bench/compare.py`,
/// which runs the engines in turn, `--threads 2` went from 66-68% of the cores'
/// ceiling to 77-78% on that lane and from 76% to 81% on the mixed lane; one-thread
/// times are unchanged.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Dozor: a SIEM that collects security logs, normalizes them into one taxonomy and
/// detects incidents.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the SIEM: ingest (syslog, HTTP, files), detect, store incidents, serve the
    /// console and the API.
    Serve(Box<serve::Args>),
    /// Normalize log files (or stdin) and print one JSON event per line.
    Normalize(normalize::Args),
    /// Normalize and detect over files offline and print alerts (exit 1 when any).
    Hunt(hunt::Args),
    /// Validate and test rules.
    #[command(subcommand)]
    Rules(rules_cmd::Command),
    /// Export what the rules watch for other products (block lists).
    #[command(subcommand)]
    Export(export::Command),
    /// List the supported formats.
    Formats,
    /// Print the taxonomy: every normalized field, its type and meaning.
    Fields,
}

fn main() {
    let cli = Cli::parse();
    let code = match run(cli.command) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("dozor: {e:#}");
            2
        }
    };
    std::process::exit(code);
}

fn run(command: Command) -> Result<i32> {
    match command {
        Command::Serve(args) => serve::run(&args),
        Command::Hunt(args) => hunt::run(&args),
        Command::Rules(command) => rules_cmd::run(&command),
        Command::Export(command) => export::run(&command),
        Command::Normalize(args) => normalize::run(&args).map(|()| 0),
        Command::Formats => {
            for format in dozor_formats::FORMATS {
                println!("{:<12} {}", format.name(), format.description());
            }
            Ok(0)
        }
        Command::Fields => {
            for spec in dozor_event::taxonomy::FIELDS {
                println!("{:<32} {:<10} {}", spec.name, spec.kind.name(), spec.doc);
            }
            Ok(0)
        }
    }
}
