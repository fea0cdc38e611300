//! Loading rules: the shipped content and user files, each Sigma document parsed by
//! `rsigma-parser` and compiled, and every failure kept with its reason.

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
