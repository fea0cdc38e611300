//! Loading rules: the shipped content and user files, each Sigma document parsed by
//! `rsigma-parser` and compiled, and every failure kept with its reason.

use std::borrow::Cow;
use std::path::{Path, PathBuf};

use rsigma_parser::SigmaCollection;

use crate::error::RuleError;

/// Where a rule file comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuleSource {
    /// Shipped inside the binary, under this path of `content/`.
    Builtin(String),
    /// A file on disk.
    File(PathBuf),
}

impl std::fmt::Display for RuleSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RuleSource::Builtin(path) => write!(f, "builtin:{path}"),
            RuleSource::File(path) => write!(f, "{}", path.display()),
        }
    }
}

/// A document that could not be loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected {
    /// The file.
    pub source: String,
    /// The rule's id or title, when the document got that far.
    pub rule: Option<String>,
    /// Why.
    pub reason: String,
}

/// What loading found.
#[derive(Debug, Clone, Default)]
pub struct LoadReport {
    /// Rule files read.
    pub files: usize,
    /// Rules (detection, correlation and filter) loaded.
    pub loaded: usize,
    /// Documents rejected, with reasons.
    pub rejected: Vec<Rejected>,
}

/// One parsed rule file.
pub(crate) struct ParsedFile {
    pub source: String,
    pub collection: SigmaCollection,
}

/// Parses the Sigma text of one file; per-document errors become rejects.
pub(crate) fn parse_file(source: String, text: &str, report: &mut LoadReport) -> ParsedFile {
    report.files += 1;
    let collection = match rsigma_parser::parse_sigma_yaml(text) {
        Ok(collection) => collection,
        Err(e) => {
            report.rejected.push(Rejected {
                source: source.clone(),
                rule: None,
                reason: RuleError::Parse(e.to_string()).to_string(),
            });
            SigmaCollection::new()
        }
    };
    for error in &collection.errors {
        report.rejected.push(Rejected {
            source: source.clone(),
            rule: None,
            reason: RuleError::Parse(error.clone()).to_string(),
        });
    }
    ParsedFile { source, collection }
}

/// A rule file to parse: its source and text, or why it could not be read.
pub(crate) type RuleText<'a> = Result<(String, Cow<'a, str>), Rejected>;

/// Parses `files` as [`parse_file`] parses each, on up to `threads` threads (the YAML
/// is most of the time that loading a large rule set takes); the parsed files come
/// back, and their rejects go to `report`, in the order of `files`.
pub(crate) fn parse_files(
    files: &[RuleText<'_>],
    threads: usize,
    report: &mut LoadReport,
) -> Vec<ParsedFile> {
    let parse = |files: &[RuleText<'_>]| {
        let mut local = LoadReport::default();
        let mut parsed = Vec::with_capacity(files.len());
        for file in files {
            match file {
                Ok((source, text)) => parsed.push(parse_file(source.clone(), text, &mut local)),
                Err(rejected) => local.rejected.push(rejected.clone()),
            }
        }
        (parsed, local)
    };
    let chunk = files.len().div_ceil(threads.max(1)).max(1);
    let parts: Vec<(Vec<ParsedFile>, LoadReport)> = if chunk >= files.len() {
        vec![parse(files)]
    } else {
        std::thread::scope(|scope| {
            let handles: Vec<_> = files
                .chunks(chunk)
                .map(|part| scope.spawn(move || parse(part)))
                .collect();
            handles
                .into_iter()
                .map(|handle| {
                    handle
                        .join()
                        .unwrap_or_else(|e| std::panic::resume_unwind(e))
                })
                .collect()
        })
    };
    let mut parsed = Vec::with_capacity(files.len());
    for (files, local) in parts {
        parsed.extend(files);
        report.files += local.files;
        report.rejected.extend(local.rejected);
    }
    parsed
}

/// Every `.yml`/`.yaml` file under `path` (or `path` itself), in name order.
pub fn yaml_files(path: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    if path.is_dir() {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(path)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        entries.sort();
        for entry in entries {
            if entry.is_dir() {
                files.extend(yaml_files(&entry)?);
            } else if matches!(
                entry.extension().and_then(|e| e.to_str()),
                Some("yml" | "yaml")
            ) {
                files.push(entry);
            }
        }
    } else {
        std::fs::metadata(path)?;
        files.push(path.to_path_buf());
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Files of good rules, a file that could not be read and one of bad YAML.
    fn files() -> Vec<RuleText<'static>> {
        let rule = |n: usize| {
            format!(
                "title: Rule {n}\nlogsource: {{product: windows}}\n\
                 detection:\n  sel:\n    Image: x{n}.exe\n  condition: sel\n"
            )
        };
        let mut files: Vec<RuleText<'static>> = (0..7)
            .map(|n| Ok((format!("rule{n}.yml"), Cow::Owned(rule(n)))))
            .collect();
        files.insert(
            2,
            Err(Rejected {
                source: "unreadable.yml".to_owned(),
                rule: None,
                reason: "cannot read: denied".to_owned(),
            }),
        );
        files.insert(
            5,
            Ok(("bad.yml".to_owned(), Cow::Borrowed("title: [unclosed"))),
        );
        files
    }

    #[test]
    fn files_parsed_on_several_threads_keep_their_order() {
        let files = files();
        let mut one = LoadReport::default();
        let sequential: Vec<String> = parse_files(&files, 1, &mut one)
            .into_iter()
            .map(|parsed| parsed.source)
            .collect();
        assert_eq!(sequential.len(), 8);
        assert_eq!(one.files, 8);
        let sources: Vec<&str> = one.rejected.iter().map(|r| r.source.as_str()).collect();
        assert_eq!(sources, ["unreadable.yml", "bad.yml"]);
        for threads in [2, 3, 16] {
            let mut report = LoadReport::default();
            let parsed: Vec<String> = parse_files(&files, threads, &mut report)
                .into_iter()
                .map(|parsed| parsed.source)
                .collect();
            assert_eq!(parsed, sequential, "{threads} threads");
            assert_eq!(report.files, one.files);
            assert_eq!(report.rejected, one.rejected, "{threads} threads");
        }
    }
}
