//! Sigma correlations: `event_count`, `value_count`, `temporal`, `temporal_ordered`,
//! `value_sum`, `value_avg`, `value_median` and `value_percentile`, grouped by fields
//! (with aliases), over windows of event time, chained onto other correlations.
//!
//! Windows run on the events' own time, so hunting over old files and streaming give
//! the same alerts. Each window ends at a hit and reaches `timespan` back; a late event
//! lands in its place in time, and every window that now contains it is checked. When a window satisfies the condition the
//! correlation fires once with every event of that window, and those events leave the
//! state. State is bounded: past `max_entries` the oldest entries are evicted and
//! counted.

use std::collections::HashMap;
use std::sync::Arc;

use dozor_event::{Event, Field, Timestamp, Value};
use jiff::SignedDuration;
use rsigma_parser::{ConditionOperator, CorrelationCondition, CorrelationRule, CorrelationType};

use crate::alert::{Alert, RuleRef};
use crate::error::{RuleError, invalid, unsupported};
use crate::fields::Accessor;
use crate::rule::{Level, RuleMeta};

/// A match fed into a correlation: from a detection rule or another correlation.
#[derive(Debug, Clone)]
pub(crate) struct Hit {
    /// Index of the referenced rule in the correlation's `rules` list.
    pub source: usize,
    pub time: Timestamp,
    pub group: Vec<String>,
    pub value: Option<String>,
    pub events: Vec<Arc<Event>>,
}

/// A compiled correlation.
#[derive(Debug)]
pub(crate) struct Correlation {
    pub meta: Arc<RuleMeta>,
    kind: CorrelationType,
    /// The referenced rules, by id or name as written.
    pub rules: Vec<String>,
    /// The group-by names, as written (aliases or field names).
    group_by: Vec<String>,
    /// Per referenced rule: the accessor of each group-by name.
    group_fields: Vec<Vec<Accessor>>,
    /// Per referenced rule: the accessor of the condition's value field.
    value_fields: Vec<Option<Accessor>>,
    span: SignedDuration,
    predicates: Vec<(ConditionOperator, f64)>,
    percentile: Option<u64>,
    pub generate: bool,
    state: HashMap<Vec<String>, Vec<Hit>>,
}

impl Correlation {
    /// Adds the taxonomy fields the correlation groups by or counts to `read`.
    pub(crate) fn taxonomy_read(&self, read: &mut Vec<Field>) {
        let grouped = self.group_fields.iter().flatten();
        read.extend(
            grouped
                .chain(self.value_fields.iter().flatten())
                .filter_map(Accessor::taxonomy),
        );
    }

    pub(crate) fn compile(rule: &CorrelationRule, source: &str) -> Result<Self, RuleError> {
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
        if rule.rules.is_empty() {
            return Err(invalid("a correlation without rules"));
        }
        if rule.window != rsigma_parser::WindowMode::Sliding || rule.gap.is_some() {
            return Err(unsupported("window modes other than sliding"));
        }
        let field_for = |name: &str, rule_ref: &str| -> Accessor {
            let aliased = rule
                .aliases
                .iter()
                .find(|a| a.alias == name)
                .and_then(|a| a.mapping.get(rule_ref))
                .map(String::as_str)
                .unwrap_or(name);
            Accessor::for_event_field(aliased)
        };
        let group_fields = rule
            .rules
            .iter()
            .map(|r| rule.group_by.iter().map(|g| field_for(g, r)).collect())
            .collect();
        let (predicates, value_field, percentile) = match &rule.condition {
            CorrelationCondition::Threshold {
                predicates,
                field,
                percentile,
            } => (
                predicates
                    .iter()
                    .map(|(op, n)| (*op, *n as f64))
                    .collect::<Vec<_>>(),
                field.as_ref().and_then(|f| f.first().cloned()),
                *percentile,
            ),
            CorrelationCondition::Extended(_) => {
                return Err(unsupported("extended (boolean) correlation conditions"));
            }
        };
        let needs_field = matches!(
            rule.correlation_type,
            CorrelationType::ValueCount
                | CorrelationType::ValueSum
                | CorrelationType::ValueAvg
                | CorrelationType::ValueMedian
                | CorrelationType::ValuePercentile
        );
        if needs_field && value_field.is_none() {
            return Err(invalid(format!(
                "{} needs condition.field",
                rule.correlation_type.as_str()
            )));
        }
        let value_fields = rule
            .rules
            .iter()
            .map(|r| value_field.as_deref().map(|f| field_for(f, r)))
            .collect();
        let seconds =
            i64::try_from(rule.timespan.seconds).map_err(|_| invalid("timespan too long"))?;
        Ok(Self {
            meta: Arc::new(meta),
            kind: rule.correlation_type,
            rules: rule.rules.clone(),
            group_by: rule.group_by.clone(),
            group_fields,
            value_fields,
            span: SignedDuration::from_secs(seconds),
            predicates,
            percentile,
            generate: rule.generate,
            state: HashMap::new(),
        })
    }

    /// The hit for a match of referenced rule `source` on `event`, or `None` when the
    /// event has no time at all; `kept` gives the shared event the hit keeps.
    pub(crate) fn hit_from_event(
        &self,
        source: usize,
        event: &Event,
        kept: impl FnOnce() -> Arc<Event>,
    ) -> Option<Hit> {
        let time = event.time().or_else(|| {
            event
                .get(dozor_event::taxonomy::RECV_TIME)
                .and_then(Value::as_time)
        })?;
        // A missing group-by field groups as the empty value: a log read from a file
        // without a host still correlates within itself.
        let group = self.group_fields[source]
            .iter()
            .map(|a| a.get(event).map(ToString::to_string).unwrap_or_default())
            .collect();
        let value = self.value_fields[source]
            .as_ref()
            .and_then(|a| a.get(event))
            .map(ToString::to_string);
        Some(Hit {
            source,
            time,
            group,
            value,
            events: vec![kept()],
        })
    }

    /// The hit for an alert of a chained correlation `source`.
    pub(crate) fn hit_from_alert(&self, source: usize, alert: &Alert) -> Option<Hit> {
        let time = alert.time?;
        let group = self
            .group_by
            .iter()
            .zip(&self.group_fields[source])
            .map(|(name, accessor)| {
                alert
                    .group
                    .iter()
                    .find(|(k, _)| k == name)
                    .map(|(_, v)| v.clone())
                    .or_else(|| {
                        alert
                            .events
                            .last()
                            .and_then(|e| accessor.get(e))
                            .map(ToString::to_string)
                    })
                    .unwrap_or_default()
            })
            .collect();
        Some(Hit {
            source,
            time,
            group,
            value: None,
            events: alert.events.clone(),
        })
    }

    /// Adds a hit; returns the alert if a window now satisfies the condition.
    pub(crate) fn add(&mut self, hit: Hit) -> Option<Alert> {
        let span = self.span;
        let group = hit.group.clone();
        let hits = self.state.entry(group.clone()).or_default();
        let at = hits.partition_point(|h| h.time <= hit.time);
        let time = hit.time;
        hits.insert(at, hit);
        // Keep only what a window containing the newest hit can use.
        if let Some(newest) = hits.last().map(|h| h.time) {
            let horizon = newest.checked_sub(span).unwrap_or(newest);
            let stale = hits.partition_point(|h| h.time < horizon);
            hits.drain(..stale);
        }
        // The windows a hit can change are those ending at a hit at or after it that
        // reach back to it: [end - timespan, end].
        let hits = self.state.get(&group)?;
        let mut fired: Option<(usize, usize)> = None;
        for end in (0..hits.len()).filter(|&e| hits[e].time >= time) {
            let until = hits[end].time;
            if until.duration_since(time) > span {
                break;
            }
            let start = hits.partition_point(|h| until.duration_since(h.time) > span);
            if self.holds(&hits[start..=end]) {
                fired = Some((start, end + 1));
                break;
            }
        }
        let (start, end) = fired?;
        let hits = self.state.get_mut(&group)?;
        let window: Vec<Hit> = hits.drain(start..end).collect();
        if hits.is_empty() {
            self.state.remove(&group);
        }
        let time = window.iter().map(|h| h.time).max();
        Some(Alert {
            rule: RuleRef::of(&self.meta),
            time,
            group: self.group_by.iter().cloned().zip(group).collect(),
            events: window.into_iter().flat_map(|h| h.events).collect(),
            details: Vec::new(),
        })
    }

    fn holds(&self, window: &[Hit]) -> bool {
        let threshold = |x: f64| self.predicates.iter().all(|(op, n)| compare(*op, x, *n));
        match self.kind {
            CorrelationType::EventCount => threshold(window.len() as f64),
            CorrelationType::ValueCount => {
                let mut values: Vec<&str> =
                    window.iter().filter_map(|h| h.value.as_deref()).collect();
                values.sort_unstable();
                values.dedup();
                threshold(values.len() as f64)
            }
            CorrelationType::Temporal => {
                (0..self.rules.len()).all(|r| window.iter().any(|h| h.source == r))
                    && (self.predicates.is_empty() || threshold(distinct_sources(window) as f64))
            }
            CorrelationType::TemporalOrdered => {
                let mut next = 0;
                for hit in window {
                    if hit.source == next {
                        next += 1;
                        if next == self.rules.len() {
                            return true;
                        }
                    }
                }
                false
            }
            CorrelationType::ValueSum
            | CorrelationType::ValueAvg
            | CorrelationType::ValueMedian
            | CorrelationType::ValuePercentile => {
                let mut numbers: Vec<f64> = window
                    .iter()
                    .filter_map(|h| h.value.as_deref()?.trim().parse().ok())
                    .collect();
                if numbers.is_empty() {
                    return false;
                }
                numbers.sort_by(f64::total_cmp);
                let x = match self.kind {
                    CorrelationType::ValueSum => numbers.iter().sum(),
                    CorrelationType::ValueAvg => numbers.iter().sum::<f64>() / numbers.len() as f64,
                    CorrelationType::ValueMedian => percentile(&numbers, 50),
                    _ => percentile(&numbers, self.percentile.unwrap_or(50)),
                };
                threshold(x)
            }
        }
    }

    /// Forgets every hit.
    pub(crate) fn clear(&mut self) {
        self.state.clear();
    }

    /// How many hits the state holds.
    pub(crate) fn entries(&self) -> usize {
        self.state.values().map(Vec::len).sum()
    }

    /// Drops the oldest hit of the state; returns whether there was one.
    pub(crate) fn evict_oldest(&mut self) -> bool {
        let Some(key) = self
            .state
            .iter()
            .filter_map(|(k, hits)| hits.first().map(|h| (k, h.time)))
            .min_by_key(|(_, t)| *t)
            .map(|(k, _)| k.clone())
        else {
            return false;
        };
        if let Some(hits) = self.state.get_mut(&key) {
            hits.remove(0);
            if hits.is_empty() {
                self.state.remove(&key);
            }
        }
        true
    }
}

fn distinct_sources(window: &[Hit]) -> usize {
    let mut sources: Vec<usize> = window.iter().map(|h| h.source).collect();
    sources.sort_unstable();
    sources.dedup();
    sources.len()
}

/// Nearest-rank percentile of sorted numbers.
fn percentile(sorted: &[f64], p: u64) -> f64 {
    let rank = ((p.min(100) as f64 / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn compare(op: ConditionOperator, x: f64, n: f64) -> bool {
    match op {
        ConditionOperator::Lt => x < n,
        ConditionOperator::Lte => x <= n,
        ConditionOperator::Gt => x > n,
        ConditionOperator::Gte => x >= n,
        ConditionOperator::Eq => x == n,
        ConditionOperator::Neq => x != n,
    }
}
