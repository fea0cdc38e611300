//! `dozor rules validate` and `dozor rules test`.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use dozor_collect::DEFAULT_MAX_RECORD;
use dozor_event::{Event, Timestamp};
use dozor_formats::{ReadContext, Reject, Sink};
use dozor_rules::{Alert, RuleSet, RuleSetOptions};
use serde::Deserialize;

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

/// One rule's test file.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TestFile {
    rule: String,
    cases: Vec<Case>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    name: String,
    format: String,
    records: String,
    expect: usize,
}

struct Collect(Vec<Event>, Vec<Reject>);

impl Sink for Collect {
    fn event(&mut self, event: Event) {
        self.0.push(event);
    }
    fn reject(&mut self, reject: Reject) {
        self.1.push(reject);
    }
}

fn test(extra: Option<&Path>) -> Result<i32> {
    let mut files: Vec<(String, String)> = dozor_rules::builtin_files()
        .iter()
        .filter(|(path, _)| path.starts_with("tests/"))
        .map(|(path, text)| (format!("builtin:{path}"), (*text).to_owned()))
        .collect();
    if let Some(root) = extra {
        for file in walk(root)? {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("cannot read {}", file.display()))?;
            files.push((file.display().to_string(), text));
        }
    }
    let (mut passed, mut failed) = (0, 0);
    for (source, text) in &files {
        let tests: TestFile =
            yaml_serde::from_str(text).with_context(|| format!("bad test file {source}"))?;
        for case in &tests.cases {
            match run_case(&tests.rule, case) {
                Ok(got) if got == case.expect => {
                    passed += 1;
                    println!("pass  {:<40} {}", tests.rule, case.name);
                }
                Ok(got) => {
                    failed += 1;
                    println!(
                        "FAIL  {:<40} {}: expected {} alerts, got {got}",
                        tests.rule, case.name, case.expect
                    );
                }
                Err(e) => {
                    failed += 1;
                    println!("FAIL  {:<40} {}: {e:#}", tests.rule, case.name);
                }
            }
        }
    }
    println!("{passed} passed, {failed} failed");
    Ok(i32::from(failed > 0))
}

fn run_case(rule: &str, case: &Case) -> Result<usize> {
    let format = crate::inputs::format_named(&case.format)?;
    let ctx = ReadContext {
        source: case.name.clone(),
        received: Timestamp::now(),
        max_record: DEFAULT_MAX_RECORD,
    };
    let mut sink = Collect(Vec::new(), Vec::new());
    format.read(&mut case.records.as_bytes(), &ctx, &mut sink)?;
    if let Some(reject) = sink.1.first() {
        bail!("test record rejected: {}", reject.reason);
    }
    let mut rules = RuleSet::load(&RuleSetOptions::default())?;
    if !rules.rules().any(|r| r.id == rule) {
        bail!("no rule {rule} is loaded");
    }
    let mut alerts: Vec<Alert> = Vec::new();
    for event in &sink.0 {
        rules.evaluate(event, &mut alerts);
    }
    Ok(alerts.iter().filter(|a| a.rule.id == rule).count())
}

fn walk(root: &Path) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    if root.is_dir() {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(root)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        entries.sort();
        for entry in entries {
            files.extend(walk(&entry)?);
        }
    } else if matches!(
        root.extension().and_then(|e| e.to_str()),
        Some("yml" | "yaml")
    ) {
        files.push(root.to_path_buf());
    }
    Ok(files)
}
