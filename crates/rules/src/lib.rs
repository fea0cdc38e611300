//! Detect: the third stage of the pipeline. Sigma rules (detection rules, filters and
//! correlations) are parsed by `rsigma-parser`, then compiled here against Dozor's
//! events: field names are resolved once per logsource through mapping files kept as
//! data, every value and modifier becomes a ready matcher, and a rule set routes each
//! event only to the rules of its logsource.
//!
//! Compiling and evaluating is our core and is written here; parsing YAML is not, and
//! is left to the maintained parser crate. A rule the engine cannot honour exactly is
//! rejected with a reason, never half-applied.

mod alert;
mod condition;
mod content;
mod correlation;
mod detection;
mod error;
mod fields;
mod lists;
mod literals;
mod load;
mod logsource;
mod matcher;
mod needle_scan;
mod prefilter;
mod recent_scans;
mod rule;
mod ruleset;

pub use alert::{Alert, RuleRef};
pub use content::builtin_files;
pub use error::RuleError;
pub use lists::Lists;
pub use load::{LoadReport, Rejected, RuleSource, yaml_files};
pub use logsource::{EventLogSource, LogSource};
pub use rule::{Level, RuleMeta};
pub use ruleset::{Detector, MatchState, RuleSet, RuleSetOptions};
