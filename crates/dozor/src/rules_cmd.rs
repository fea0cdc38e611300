//! `dozor rules validate` and `dozor rules test`.

use std::path::{Path, PathBuf};

use anyhow::Result;
use dozor_rules::{RuleSet, RuleSetOptions};

/// `dozor rules ...`
#[derive(clap::Subcommand)]
pub enum Command {
    /// Load rules and report which were rejected and why.
    Validate {
        /// Rule files or directories.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// List files or directories for `|expand` placeholders.
        #[arg(long = "lists", value_name = "PATH")]
        lists: Vec<PathBuf>,
    },
    /// Run the rules' own test records (the shipped pack's, and those under PATH).
    Test {
        /// Extra test files or directories.
        path: Option<PathBuf>,
    },
}

/// Runs a `dozor rules` command; returns the exit code.
pub fn run(command: &Command) -> Result<i32> {
    match command {
        Command::Validate { paths, lists } => {
            let options = RuleSetOptions {
                builtin_rules: false,
                rule_paths: paths.clone(),
                list_paths: lists.clone(),
                ..RuleSetOptions::default()
            };
            let rules = RuleSet::load(&options)?;
            let report = rules.report();
            println!(
                "loaded {} rules, rejected {}",
                report.loaded,
                report.rejected.len()
            );
            for rejected in &report.rejected {
                println!(
                    "{}: {}: {}",
                    rejected.source,
                    rejected.rule.as_deref().unwrap_or("-"),
                    rejected.reason
                );
            }
            Ok(i32::from(!report.rejected.is_empty()))
        }
        Command::Test { path } => test(path.as_deref()),
    }
}

fn test(extra: Option<&Path>) -> Result<i32> {
    let results = dozor_server::rule_tests::run(&RuleSetOptions::default(), extra)?;
    let mut failed = 0;
    for case in &results {
        match &case.detail {
            None => println!("pass  {:<40} {}", case.rule, case.name),
            Some(detail) => {
                failed += 1;
                println!("FAIL  {:<40} {}: {detail}", case.rule, case.name);
            }
        }
    }
    println!("{} passed, {failed} failed", results.len() - failed);
    Ok(i32::from(failed > 0))
}
