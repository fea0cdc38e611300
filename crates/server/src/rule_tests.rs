//! The rules' own test cases (`content/tests/*.yml` and user test files): records in a
//! format and how many alerts the rule must raise on them. `dozor rules test` prints
//! them; the console shows each rule's result.

use std::path::Path;

use dozor_collect::DEFAULT_MAX_RECORD;
use dozor_event::{Event, Timestamp};
use dozor_formats::{ReadContext, Reject, Sink};
use dozor_rules::{Alert, RuleSet, RuleSetOptions};
use serde::Deserialize;

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

struct Collect(Vec<Event>, Vec<Reject>);

impl Sink for Collect {
    fn event(&mut self, event: Event) {
        self.0.push(event);
    }
    fn reject(&mut self, reject: Reject) {
        self.1.push(reject);
    }
}

/// Runs the shipped test cases and those under `extra`, against rule sets loaded with
/// `options` (each case starts from an empty correlation state).
pub fn run(options: &RuleSetOptions, extra: Option<&Path>) -> Result<Vec<CaseResult>, TestError> {
    let mut files: Vec<(String, String)> = dozor_rules::builtin_files()
        .iter()
        .filter(|(path, _)| path.starts_with("tests/"))
        .map(|(path, text)| (format!("builtin:{path}"), (*text).to_owned()))
        .collect();
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
    let mut results = Vec::new();
    for (source, text) in &files {
        let tests: TestFile = yaml_serde::from_str(text).map_err(|e| TestError::Parse {
            path: source.clone(),
            reason: e.to_string(),
        })?;
        for case in &tests.cases {
            let outcome = run_case(options, &tests.rule, case);
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

fn run_case(options: &RuleSetOptions, rule: &str, case: &Case) -> Result<usize, String> {
    let format = dozor_formats::find(&case.format)
        .ok_or_else(|| format!("unknown format {:?}", case.format))?;
    let ctx = ReadContext {
        source: case.name.clone(),
        received: Timestamp::now(),
        max_record: DEFAULT_MAX_RECORD,
    };
    let mut sink = Collect(Vec::new(), Vec::new());
    format
        .read(&mut case.records.as_bytes(), &ctx, &mut sink)
        .map_err(|e| e.to_string())?;
    if let Some(reject) = sink.1.first() {
        return Err(format!("test record rejected: {}", reject.reason));
    }
    let mut rules = RuleSet::load(options).map_err(|e| e.to_string())?;
    if !rules.rules().any(|r| r.id == rule) {
        return Err(format!("no rule {rule} is loaded"));
    }
    let mut alerts: Vec<Alert> = Vec::new();
    for event in &sink.0 {
        rules.evaluate(event, &mut alerts);
    }
    Ok(alerts.iter().filter(|a| a.rule.id == rule).count())
}
