//! The rules' own test cases (`content/tests/*.yml` and user test files): records in a
//! format and how many alerts the rule must raise on them. `dozor rules test` prints
//! them; the console shows each rule's result.

use std::path::Path;

use dozor_collect::DEFAULT_MAX_RECORD;
use dozor_event::Timestamp;
use dozor_formats::{Collected, ReadContext};
use dozor_rules::{Alert, RuleSet, RuleSetOptions};
use serde::Deserialize;

/// One rule's test file.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TestFile {
    /// The rule under test.
    pub rule: String,
    /// Its cases.
    pub cases: Vec<Case>,
}

/// One test case: records in a format and how many alerts the rule must raise.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Case {
    pub name: String,
    pub format: String,
    pub records: String,
    pub expect: usize,
}

/// The shipped test files (`content/tests/`), by source name, as text.
pub(crate) fn shipped_files() -> Vec<(String, String)> {
    dozor_rules::builtin_files()
        .iter()
        .filter(|(path, _)| path.starts_with("tests/"))
        .map(|(path, text)| (format!("builtin:{path}"), (*text).to_owned()))
        .collect()
}

/// A test file's text, parsed.
pub(crate) fn parse(source: &str, text: &str) -> Result<TestFile, TestError> {
    yaml_serde::from_str(text).map_err(|e| TestError::Parse {
        path: source.to_owned(),
        reason: e.to_string(),
    })
}

/// The result of one test case.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CaseResult {
    /// The rule under test.
    pub rule: String,
    /// The case's name.
    pub name: String,
    /// Whether it passed.
    pub passed: bool,
    /// What went wrong, when it failed.
    pub detail: Option<String>,
}

/// Why test files could not be run.
#[derive(Debug, thiserror::Error)]
pub enum TestError {
    /// A test file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// A test file is not valid.
    #[error("bad test file {path}: {reason}")]
    Parse {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
}

/// Runs the shipped test cases and those under `extra`, against the rule set loaded
/// with `options` (each case starts from an empty correlation state).
pub fn run(options: &RuleSetOptions, extra: Option<&Path>) -> Result<Vec<CaseResult>, TestError> {
    let mut files = shipped_files();
    if let Some(root) = extra {
        for file in dozor_rules::yaml_files(root).map_err(|source| TestError::Read {
            path: root.display().to_string(),
            source,
        })? {
            let text = std::fs::read_to_string(&file).map_err(|source| TestError::Read {
                path: file.display().to_string(),
                source,
            })?;
            files.push((file.display().to_string(), text));
        }
    }
    let mut rules = RuleSet::load(options).map_err(|e| e.to_string());
    let mut results = Vec::new();
    for (source, text) in &files {
        let tests = parse(source, text)?;
        for case in &tests.cases {
            let outcome = match &mut rules {
                Ok(rules) => {
                    rules.clear_state();
                    run_case(rules, &tests.rule, case)
                }
                Err(e) => Err(e.clone()),
            };
            let detail = match outcome {
                Ok(got) if got == case.expect => None,
                Ok(got) => Some(format!("expected {} alerts, got {got}", case.expect)),
                Err(e) => Some(e),
            };
            results.push(CaseResult {
                rule: tests.rule.clone(),
                name: case.name.clone(),
                passed: detail.is_none(),
                detail,
            });
        }
    }
    Ok(results)
}

fn run_case(rules: &mut RuleSet, rule: &str, case: &Case) -> Result<usize, String> {
    let format = dozor_formats::find(&case.format)
        .ok_or_else(|| format!("unknown format {:?}", case.format))?;
    let ctx = ReadContext {
        source: case.name.clone(),
        received: Timestamp::now(),
        max_record: DEFAULT_MAX_RECORD,
        defer_mapping: false,
    };
    let mut read = Collected::default();
    format
        .read(&mut case.records.as_bytes(), &ctx, &mut read)
        .map_err(|e| e.to_string())?;
    if let Some(reject) = read.rejects.first() {
        return Err(format!("test record rejected: {}", reject.reason));
    }
    if !rules.rules().any(|r| r.id == rule) {
        return Err(format!("no rule {rule} is loaded"));
    }
    let mut alerts: Vec<Alert> = Vec::new();
    for event in &read.events {
        rules.evaluate(event, &mut alerts);
    }
    Ok(alerts.iter().filter(|a| a.rule.id == rule).count())
}
