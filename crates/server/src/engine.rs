//! The detection engine as the service runs it: the rule set `hunt` uses, loaded with
//! the lists edited in the console, and a catalog of its rules for the console and
//! the API (techniques, test results, what was rejected).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use dozor_rules::{RuleSet, RuleSetOptions};
use dozor_store::Store;
use serde::{Deserialize, Serialize};

use crate::rule_tests;

/// A rule as the console and API describe it.
#[derive(Debug, Clone, Serialize)]
pub struct RuleInfo {
    /// Id.
    pub id: String,
    /// Title.
    pub title: String,
    /// Level.
    pub level: String,
    /// ATT&CK technique ids.
    pub techniques: Vec<String>,
    /// The reference product's rule it mirrors.
    pub reference_rule: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// Where it was loaded from.
    pub source: String,
    /// Test cases that passed.
    pub tests_passed: usize,
    /// Test cases that failed.
    pub tests_failed: usize,
}

/// A rule that could not be loaded.
#[derive(Debug, Clone, Serialize)]
pub struct RejectedRule {
    /// Where it was.
    pub source: String,
    /// Its id or title.
    pub rule: Option<String>,
    /// Why.
    pub reason: String,
}

/// Every loaded rule, and those rejected.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Catalog {
    /// Loaded rules, by title.
    pub rules: Vec<RuleInfo>,
    /// Rejected rules.
    pub rejected: Vec<RejectedRule>,
}

/// A list as shipped or edited.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ListFile {
    /// Name, as rules reference it.
    pub name: String,
    /// What it holds.
    #[serde(default)]
    pub description: String,
    /// Entries.
    pub entries: Vec<String>,
}

/// How to load the rule set.
#[derive(Debug, Clone)]
pub struct Engine {
    options: RuleSetOptions,
    edited_lists: PathBuf,
}

impl Engine {
    /// An engine loading `options`, plus the lists edited in the console, which are
    /// written as files under `edited_lists`.
    pub fn new(mut options: RuleSetOptions, edited_lists: &Path) -> Self {
        options.list_paths.push(edited_lists.to_owned());
        Self {
            options,
            edited_lists: edited_lists.to_owned(),
        }
    }

    /// Loads the rule set with the lists edited in the console (kept in `store`),
    /// off the async runtime: the lists are written where the loader finds them, then
    /// [`Engine::load`] runs.
    pub async fn load_with_edits(&self, store: &Store) -> anyhow::Result<(RuleSet, Catalog)> {
        let lists: Vec<ListFile> = store
            .list_overrides()
            .await?
            .into_iter()
            .map(|o| ListFile {
                name: o.name,
                description: format!("edited by {}", o.updated_by),
                entries: o.entries,
            })
            .collect();
        let engine = self.clone();
        tokio::task::spawn_blocking(move || {
            engine.write_lists(&lists)?;
            anyhow::Ok(engine.load()?)
        })
        .await?
    }

    /// Writes the edited lists where the loader finds them.
    fn write_lists(&self, lists: &[ListFile]) -> std::io::Result<()> {
        std::fs::create_dir_all(&self.edited_lists)?;
        for list in lists {
            let text = yaml_serde::to_string(list).map_err(std::io::Error::other)?;
            let safe: String = list
                .name
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                        c
                    } else {
                        '_'
                    }
                })
                .collect();
            std::fs::write(self.edited_lists.join(format!("{safe}.yml")), text)?;
        }
        Ok(())
    }

    /// Loads the rule set, runs the rule tests against it, and describes it.
    pub fn load(&self) -> Result<(RuleSet, Catalog), dozor_rules::RuleError> {
        let rules = RuleSet::load(&self.options)?;
        let mut tests: BTreeMap<String, (usize, usize)> = BTreeMap::new();
        match rule_tests::run(&self.options, None) {
            Ok(results) => {
                for case in results {
                    let entry = tests.entry(case.rule).or_default();
                    if case.passed {
                        entry.0 += 1;
                    } else {
                        entry.1 += 1;
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "rule tests could not run"),
        }
        let mut catalog = Catalog::default();
        for meta in rules.rules() {
            let (passed, failed) = tests.get(&meta.id).copied().unwrap_or_default();
            catalog.rules.push(RuleInfo {
                id: meta.id.clone(),
                title: meta.title.clone(),
                level: meta.level.as_str().to_owned(),
                techniques: meta.techniques.clone(),
                reference_rule: meta.reference_rule.clone(),
                description: meta.description.clone(),
                source: meta.source.clone(),
                tests_passed: passed,
                tests_failed: failed,
            });
        }
        catalog.rules.sort_by(|a, b| a.title.cmp(&b.title));
        for rejected in &rules.report().rejected {
            catalog.rejected.push(RejectedRule {
                source: rejected.source.clone(),
                rule: rejected.rule.clone(),
                reason: rejected.reason.clone(),
            });
        }
        Ok((rules, catalog))
    }

    /// Every list the rules can use: shipped, from list paths, and edited (the last
    /// of a name wins).
    pub fn lists(&self) -> Vec<ListFile> {
        let mut by_name: BTreeMap<String, ListFile> = BTreeMap::new();
        for (path, text) in dozor_rules::builtin_files() {
            if path.starts_with("lists/")
                && let Ok(list) = yaml_serde::from_str::<ListFile>(text)
            {
                by_name.insert(list.name.clone(), list);
            }
        }
        for root in &self.options.list_paths {
            for file in dozor_rules::yaml_files(root).unwrap_or_default() {
                let Ok(text) = std::fs::read_to_string(&file) else {
                    continue;
                };
                if let Ok(list) = yaml_serde::from_str::<ListFile>(&text) {
                    by_name.insert(list.name.clone(), list);
                }
            }
        }
        by_name.into_values().collect()
    }
}
