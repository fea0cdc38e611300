//! Helpers shared by the rules crate's integration tests.

use dozor_rules::{RuleSet, RuleSetOptions};

/// Loads `text` as the only rule file (no shipped rules), with the rest of `options`;
/// asserts that every document in it loaded.
pub fn load_rules(text: &str, options: RuleSetOptions) -> RuleSet {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("rules.yml");
    std::fs::write(&path, text).expect("rule file");
    let set = RuleSet::load(&RuleSetOptions {
        builtin_rules: false,
        rule_paths: vec![path],
        ..options
    })
    .expect("loads");
    assert!(
        set.report().rejected.is_empty(),
        "{:?}",
        set.report().rejected
    );
    set
}
