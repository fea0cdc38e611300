//! `dozor`: the Dozor SIEM command line.

mod normalize;

use anyhow::Result;
use clap::{Parser, Subcommand};

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
    /// Normalize log files (or stdin) and print one JSON event per line.
    Normalize(normalize::Args),
    /// List the supported formats.
    Formats,
    /// Print the taxonomy: every normalized field, its type and meaning.
    Fields,
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Normalize(args) => normalize::run(&args),
        Command::Formats => {
            for format in dozor_formats::FORMATS {
                println!("{:<12} {}", format.name(), format.description());
            }
            Ok(())
        }
        Command::Fields => {
            for spec in dozor_event::taxonomy::FIELDS {
                println!("{:<32} {:<10} {}", spec.name, spec.kind.name(), spec.doc);
            }
            Ok(())
        }
    }
}
