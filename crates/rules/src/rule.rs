//! Compiled detection rules and their metadata.

use std::sync::Arc;

use dozor_event::{Event, Field};
use rsigma_parser::{FilterRule, SigmaRule};
use serde::Serialize;

use crate::condition::Cond;
use crate::detection::{CompileContext, Node};
use crate::error::{RuleError, invalid, unsupported};
use crate::logsource::LogSource;
use crate::matcher::Folds;
use crate::prefilter::{Atoms, Req};

/// Rule severity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// Informational.
    Informational,
    /// Low.
    Low,
    /// Medium.
    Medium,
    /// High.
    High,
    /// Critical.
    Critical,
}

impl Level {
    pub(crate) fn from_sigma(level: Option<&rsigma_parser::Level>) -> Self {
        match level {
            Some(rsigma_parser::Level::Informational) => Level::Informational,
            Some(rsigma_parser::Level::Low) => Level::Low,
            None | Some(rsigma_parser::Level::Medium) => Level::Medium,
            Some(rsigma_parser::Level::High) => Level::High,
            Some(rsigma_parser::Level::Critical) => Level::Critical,
        }
    }

    /// The lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Informational => "informational",
            Level::Low => "low",
            Level::Medium => "medium",
            Level::High => "high",
            Level::Critical => "critical",
        }
    }
}

/// What is known about a rule besides its logic.
#[derive(Debug, Clone, Serialize)]
pub struct RuleMeta {
    /// The rule id (Sigma `id`; the title when the rule has none).
    pub id: String,
    /// The Sigma `name`, by which correlations may reference it.
    pub name: Option<String>,
    /// The title.
    pub title: String,
    /// The severity.
    pub level: Level,
    /// The tags, as written.
    pub tags: Vec<String>,
    /// ATT&CK technique ids from the tags (`attack.t1102.002` → `T1102.002`).
    pub techniques: Vec<String>,
    /// The reference product's rule this rule mirrors (custom attribute `reference_rule`).
    pub reference_rule: Option<String>,
    /// What it detects.
    pub description: Option<String>,
    /// Known false positives.
    pub falsepositives: Vec<String>,
    /// Where it was loaded from.
    pub source: String,
}

impl RuleMeta {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        id: Option<&str>,
        name: Option<&str>,
        title: &str,
        level: Level,
        tags: &[String],
        description: Option<&str>,
        falsepositives: &[String],
        custom: &std::collections::HashMap<String, yaml_serde::Value>,
        source: &str,
    ) -> Self {
        let techniques = tags
            .iter()
            .filter_map(|t| {
                let t = t.strip_prefix("attack.")?;
                let rest = t.strip_prefix('t').or_else(|| t.strip_prefix('T'))?;
                rest.chars()
                    .next()
                    .is_some_and(|c| c.is_ascii_digit())
                    .then(|| format!("T{}", rest.to_ascii_uppercase()))
            })
            .collect();
        let reference_rule = custom
            .get("reference_rule")
            .and_then(|v| v.as_str())
            .map(str::to_owned);
        Self {
            id: id.unwrap_or(title).to_owned(),
            name: name.map(str::to_owned),
            title: title.to_owned(),
            level,
            tags: tags.to_vec(),
            techniques,
            reference_rule,
            description: description.map(str::to_owned),
            falsepositives: falsepositives.to_vec(),
            source: source.to_owned(),
        }
    }
}

/// Named detections and the conditions over them.
#[derive(Debug, Clone)]
pub(crate) struct Logic {
    detections: Vec<Node>,
    conditions: Vec<Cond>,
}

impl Logic {
    /// Adds the taxonomy fields the detections read to `read`.
    pub(crate) fn taxonomy_read(&self, read: &mut Vec<Field>) {
        self.detections.iter().for_each(|d| d.taxonomy_read(read));
    }

    pub(crate) fn compile(
        detection: &rsigma_parser::Detections,
        ctx: &CompileContext<'_>,
    ) -> Result<Self, RuleError> {
        if detection.timeframe.is_some() {
            return Err(unsupported(
                "timeframe (Sigma v1 aggregation): use a correlation rule",
            ));
        }
        let mut names: Vec<String> = detection.named.keys().cloned().collect();
        names.sort();
        let detections = names
            .iter()
            .map(|n| Node::compile(&detection.named[n], ctx))
            .collect::<Result<Vec<_>, _>>()?;
        if detection.conditions.is_empty() {
            return Err(invalid("no condition"));
        }
        let conditions = detection
            .conditions
            .iter()
            .map(|c| Cond::compile(c, &names))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            detections,
            conditions,
        })
    }

    /// A necessary condition for the prefilter: some condition's.
    pub(crate) fn req(&mut self, atoms: &mut Atoms) -> Req {
        let detections: Vec<Req> = self.detections.iter_mut().map(|d| d.req(atoms)).collect();
        Req::any(self.conditions.iter().map(|c| c.req(&detections)).collect())
    }

    /// Whether any condition holds for `event`; each detection is evaluated at most once.
    pub(crate) fn matches(&self, event: &Event, folds: &mut Folds) -> bool {
        let mut known: u64 = 0;
        let mut value: u64 = 0;
        let mut spill: Vec<Option<bool>> = Vec::new();
        let detections = &self.detections;
        let mut detection = |i: usize| {
            if i < 64 {
                let bit = 1u64 << i;
                if known & bit == 0 {
                    known |= bit;
                    if detections[i].matches(event, folds) {
                        value |= bit;
                    }
                }
                value & bit != 0
            } else {
                if spill.is_empty() {
                    spill.resize(detections.len(), None);
                }
                *spill[i].get_or_insert_with(|| detections[i].matches(event, folds))
            }
        };
        self.conditions.iter().any(|c| c.eval(&mut detection))
    }
}

/// A compiled detection rule.
#[derive(Debug, Clone)]
pub(crate) struct DetectionRule {
    pub meta: Arc<RuleMeta>,
    pub logsource: LogSource,
    logic: Logic,
    /// Sigma filters that apply to this rule: each filter's condition is joined to the
    /// rule's with `and` (a filter says `not selection` to remove matches).
    filters: Vec<Logic>,
}

impl DetectionRule {
    /// Adds the taxonomy fields the rule and its filters read to `read`.
    pub(crate) fn taxonomy_read(&self, read: &mut Vec<Field>) {
        self.logic.taxonomy_read(read);
        self.filters.iter().for_each(|f| f.taxonomy_read(read));
    }

    pub(crate) fn compile(
        rule: &SigmaRule,
        source: &str,
        ctx: &CompileContext<'_>,
    ) -> Result<Self, RuleError> {
        let logsource = ctx.logsource.clone();
        let logic = Logic::compile(&rule.detection, ctx)?;
        let meta = RuleMeta::new(
            rule.id.as_deref(),
            rule.name.as_deref(),
            &rule.title,
            Level::from_sigma(rule.level.as_ref()),
            &rule.tags,
            rule.description.as_deref(),
            &rule.falsepositives,
            &rule.custom_attributes,
            source,
        );
        Ok(Self {
            meta: Arc::new(meta),
            logsource,
            logic,
            filters: Vec::new(),
        })
    }

    /// Adds a Sigma filter rule's logic, compiled for this rule's logsource.
    pub(crate) fn add_filter(
        &mut self,
        filter: &FilterRule,
        ctx: &CompileContext<'_>,
    ) -> Result<(), RuleError> {
        self.filters.push(Logic::compile(&filter.detection, ctx)?);
        Ok(())
    }

    /// A necessary condition for the prefilter (filters only narrow a rule further).
    pub(crate) fn req(&mut self, atoms: &mut Atoms) -> Req {
        self.logic.req(atoms)
    }

    /// Whether the rule matches `event`, its filters considered.
    pub(crate) fn matches(&self, event: &Event, folds: &mut Folds) -> bool {
        self.logic.matches(event, folds) && self.filters.iter().all(|f| f.matches(event, folds))
    }
}
