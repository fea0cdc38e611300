//! The rule set: every compiled rule, routed by logsource, with the correlations fed
//! by their matches.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use dozor_event::{Event, Field, Value, taxonomy};

use crate::alert::{Alert, RuleRef};
use crate::content::builtin_files;
use crate::correlation::{Correlation, Hit};
use crate::detection::CompileContext;
use crate::error::RuleError;
use crate::fields::FieldMappings;
use crate::lists::Lists;
use crate::load::{LoadReport, Rejected, RuleText, parse_files, yaml_files};
use crate::logsource::{EventLogSource, LogSource, LogSourceTable};
use crate::matcher::Folds;
use crate::prefilter::{Atoms, Prefilter, Scratch};
use crate::rule::{DetectionRule, RuleMeta};

/// What to load.
#[derive(Debug, Clone)]
pub struct RuleSetOptions {
    /// Load the shipped rules (lists, mappings and logsources are always loaded).
    pub builtin_rules: bool,
    /// Rule files or directories to add; a rule with the id of a shipped one replaces it.
    pub rule_paths: Vec<PathBuf>,
    /// List files or directories to add.
    pub list_paths: Vec<PathBuf>,
    /// The most hits all correlations together keep; past it the oldest are evicted.
    pub max_correlation_entries: usize,
    /// Threads that parse rule files at once (the default: one per core).
    pub threads: usize,
}

impl Default for RuleSetOptions {
    fn default() -> Self {
        Self {
            builtin_rules: true,
            rule_paths: Vec::new(),
            list_paths: Vec::new(),
            max_correlation_entries: 1_000_000,
            threads: std::thread::available_parallelism().map_or(1, usize::from),
        }
    }
}

/// Where a correlation's input comes from.
#[derive(Debug, Clone, Copy)]
enum Feed {
    /// Hit `source` of correlation `corr`.
    Correlation { corr: usize, source: usize },
}

/// The stateless half of a rule set: the compiled detection rules, routed by
/// logsource and prefiltered. It can be shared by threads that find the matches of
/// different events at once; the stateful half (correlations, alerts in event order)
/// stays in the [`RuleSet`].
pub struct Detector {
    rules: Vec<DetectionRule>,
    /// Rules grouped by logsource, for routing: each group's members as a bit set
    /// over `rules` (the groups do not overlap).
    groups: Vec<(LogSource, Vec<u64>)>,
    logsources: LogSourceTable,
    prefilter: Prefilter,
    /// Tells this detector apart from every other of the process, for the
    /// [`MatchState`]s that remember what they worked out for one.
    id: u64,
}

/// The id of the next detector built.
static NEXT_DETECTOR: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// The most routes a [`MatchState`] remembers: a mixed stream interleaves a handful
/// of logsources (Sysmon's process, network, image-load and registry events, Security,
/// PowerShell), and each derivation of a route takes thousands of instructions.
const ROUTES: usize = 16;

/// One thread's working memory for [`Detector::matching`].
#[derive(Debug, Default)]
pub struct MatchState {
    scratch: Scratch,
    folds: Folds,
    /// The detector (its [`Detector::id`]) that `routes` are for.
    detector: Option<u64>,
    /// The routes worked out for recent events, the last one used first.
    routes: Vec<Route>,
}

/// Where events with one logsource key go.
#[derive(Debug)]
struct Route {
    /// The values of the fields the logsource derivation tests (see
    /// [`LogSourceTable::key`]).
    key: Vec<Option<Value>>,
    /// Whether the event's logsource selects any group.
    any: bool,
    /// The fields the rules of the selected groups read.
    fields: Vec<u64>,
    /// Those rules, as a bit set over the detector's rules.
    rules: Vec<u64>,
}

impl Detector {
    /// The detection rules matching `event`, by index, ascending, into `matched`.
    pub fn matching(&self, event: &Event, state: &mut MatchState, matched: &mut Vec<usize>) {
        matched.clear();
        self.route_first(event, state);
        let MatchState {
            scratch,
            folds,
            routes,
            ..
        } = state;
        let Route {
            any, fields, rules, ..
        } = &routes[0];
        if !any {
            return;
        }
        self.prefilter.scan(event, fields, scratch, folds);
        // Only the selected rules that the prefilter kept are evaluated, found word by
        // word rather than by asking about each rule of the selected groups.
        let candidates = Prefilter::candidates(scratch);
        for (w, (selected, kept)) in rules.iter().zip(candidates).enumerate() {
            let mut bits = selected & kept;
            while bits != 0 {
                let r = w * 64 + bits.trailing_zeros() as usize;
                bits &= bits - 1;
                if self.rules[r].matches(event, folds) {
                    matched.push(r);
                }
            }
        }
    }

    /// Puts `event`'s route first in `state.routes`. Consecutive events mostly agree
    /// in the fields the logsource derivation tests, and a mixed stream comes back to
    /// a few keys: a route is worked out again only for a key none of the remembered
    /// routes has.
    fn route_first(&self, event: &Event, state: &mut MatchState) {
        if state.detector != Some(self.id) {
            state.detector = Some(self.id);
            state.routes.clear();
        }
        let known = state
            .routes
            .iter()
            .position(|route| self.logsources.same_key(event, &route.key));
        let route = match known {
            Some(0) => return,
            Some(at) => state.routes.remove(at),
            None => {
                state.routes.truncate(ROUTES - 1);
                self.new_route(event)
            }
        };
        state.routes.insert(0, route);
    }

    /// Works out where events with `event`'s logsource key go.
    fn new_route(&self, event: &Event) -> Route {
        let key = self.logsources.key(event);
        let logsource = self.logsources.of_key(&key);
        let selected: Vec<usize> = self
            .groups
            .iter()
            .enumerate()
            .filter(|(_, (scope, _))| scope.selects(&logsource))
            .map(|(g, _)| g)
            .collect();
        let mut fields = Vec::new();
        self.prefilter.fields_of(&selected, &mut fields);
        let mut rules = vec![0u64; self.rules.len().div_ceil(64)];
        for &g in &selected {
            for (word, members) in rules.iter_mut().zip(&self.groups[g].1) {
                *word |= members;
            }
        }
        Route {
            key,
            any: !selected.is_empty(),
            fields,
            rules,
        }
    }
}

/// Compiled rules, ready to evaluate events.
pub struct RuleSet {
    detector: Arc<Detector>,
    state: MatchState,
    matched: Vec<usize>,
    correlations: Vec<Correlation>,
    rule_feeds: Vec<Vec<Feed>>,
    correlation_feeds: Vec<Vec<Feed>>,
    rule_silent: Vec<bool>,
    correlation_silent: Vec<bool>,
    max_entries: usize,
    evicted: u64,
    report: LoadReport,
    domain_lists: Vec<(String, Vec<String>)>,
    text_lists: BTreeMap<String, Vec<String>>,
}

impl RuleSet {
    /// Loads rules. Malformed shipped or user content (lists, mappings) is an error;
    /// a rule that cannot be honoured is rejected and reported in [`RuleSet::report`].
    pub fn load(options: &RuleSetOptions) -> Result<Self, RuleError> {
        let mut lists = Lists::default();
        let mut mappings = FieldMappings::default();
        let mut logsources = LogSourceTable::default();
        let mut report = LoadReport::default();
        let mut builtin: Vec<RuleText<'_>> = Vec::new();
        for (path, text) in builtin_files() {
            if *path == "logsources.yml" {
                logsources.add(path, text)?;
            } else if path.starts_with("mappings/") {
                mappings.add(path, text)?;
            } else if path.starts_with("lists/") {
                lists.add_file(path, text)?;
            } else if path.starts_with("rules/") && options.builtin_rules {
                builtin.push(Ok((format!("builtin:{path}"), Cow::Borrowed(*text))));
            }
        }
        let mut parsed = parse_files(&builtin, options.threads, &mut report);
        for root in &options.list_paths {
            for file in yaml_files(root).map_err(|e| content_error(root, e))? {
                let text = std::fs::read_to_string(&file).map_err(|e| content_error(&file, e))?;
                lists.add_file(&file.display().to_string(), &text)?;
            }
        }
        let mut texts: Vec<RuleText<'_>> = Vec::new();
        for root in &options.rule_paths {
            for file in yaml_files(root).map_err(|e| content_error(root, e))? {
                let source = file.display().to_string();
                texts.push(match std::fs::read_to_string(&file) {
                    Ok(text) => Ok((source, Cow::Owned(text))),
                    Err(e) => Err(Rejected {
                        source,
                        rule: None,
                        reason: format!("cannot read: {e}"),
                    }),
                });
            }
        }
        let user = parse_files(&texts, options.threads, &mut report);
        // A user rule replaces a shipped rule with the same id.
        let user_ids: Vec<String> = user
            .iter()
            .flat_map(|f| f.collection.rules.iter().filter_map(|r| r.id.clone()))
            .collect();
        for file in &mut parsed {
            file.collection
                .rules
                .retain(|r| r.id.as_ref().is_none_or(|id| !user_ids.contains(id)));
        }
        parsed.extend(user);

        let mut rules: Vec<DetectionRule> = Vec::new();
        for file in &parsed {
            for rule in &file.collection.rules {
                let logsource = LogSource::new(
                    rule.logsource.product.as_deref(),
                    rule.logsource.service.as_deref(),
                    rule.logsource.category.as_deref(),
                );
                let ctx = CompileContext {
                    logsource: &logsource,
                    mappings: &mappings,
                    lists: &lists,
                };
                match DetectionRule::compile(rule, &file.source, &ctx) {
                    Ok(compiled) => rules.push(compiled),
                    Err(e) => report.rejected.push(Rejected {
                        source: file.source.clone(),
                        rule: Some(rule.id.clone().unwrap_or_else(|| rule.title.clone())),
                        reason: e.to_string(),
                    }),
                }
            }
        }
        let mut filters_loaded = 0;
        for file in &parsed {
            for filter in &file.collection.filters {
                let mut result = Ok(());
                for rule in &mut rules {
                    let targeted = match &filter.rules {
                        rsigma_parser::FilterRuleTarget::Any => true,
                        rsigma_parser::FilterRuleTarget::Specific(refs) => refs
                            .iter()
                            .any(|r| *r == rule.meta.id || rule.meta.name.as_deref() == Some(r)),
                    };
                    let scope = filter.logsource.as_ref().map(|l| {
                        LogSource::new(
                            l.product.as_deref(),
                            l.service.as_deref(),
                            l.category.as_deref(),
                        )
                    });
                    if !targeted || scope.as_ref().is_some_and(|s| !s.covers(&rule.logsource)) {
                        continue;
                    }
                    let logsource = rule.logsource.clone();
                    let ctx = CompileContext {
                        logsource: &logsource,
                        mappings: &mappings,
                        lists: &lists,
                    };
                    if let Err(e) = rule.add_filter(filter, &ctx) {
                        result = Err(e);
                        break;
                    }
                }
                match result {
                    Ok(()) => filters_loaded += 1,
                    Err(e) => report.rejected.push(Rejected {
                        source: file.source.clone(),
                        rule: Some(filter.id.clone().unwrap_or_else(|| filter.title.clone())),
                        reason: e.to_string(),
                    }),
                }
            }
        }

        let mut correlations: Vec<Correlation> = Vec::new();
        for file in &parsed {
            for correlation in &file.collection.correlations {
                match Correlation::compile(correlation, &file.source) {
                    Ok(c) => correlations.push(c),
                    Err(e) => report.rejected.push(Rejected {
                        source: file.source.clone(),
                        rule: Some(
                            correlation
                                .id
                                .clone()
                                .unwrap_or_else(|| correlation.title.clone()),
                        ),
                        reason: e.to_string(),
                    }),
                }
            }
        }
        let names_rule = |meta: &RuleMeta, reference: &str| {
            meta.id == reference || meta.name.as_deref() == Some(reference)
        };
        let mut rule_feeds = vec![Vec::new(); rules.len()];
        let mut correlation_feeds = vec![Vec::new(); correlations.len()];
        let mut rule_silent = vec![false; rules.len()];
        let mut correlation_silent = vec![false; correlations.len()];
        let mut rule_generates = vec![false; rules.len()];
        let mut correlation_generates = vec![false; correlations.len()];
        let mut broken = Vec::new();
        for (c, correlation) in correlations.iter().enumerate() {
            for (source, reference) in correlation.rules.iter().enumerate() {
                if let Some(r) = rules
                    .iter()
                    .position(|rule| names_rule(&rule.meta, reference))
                {
                    rule_feeds[r].push(Feed::Correlation { corr: c, source });
                    rule_silent[r] = true;
                    rule_generates[r] |= correlation.generate;
                } else if let Some(o) = correlations
                    .iter()
                    .position(|other| names_rule(&other.meta, reference))
                {
                    correlation_feeds[o].push(Feed::Correlation { corr: c, source });
                    correlation_silent[o] = true;
                    correlation_generates[o] |= correlation.generate;
                } else {
                    broken.push((c, format!("references unknown rule {reference:?}")));
                }
            }
        }
        for (c, reason) in broken.iter().rev() {
            let meta = &correlations[*c].meta;
            report.rejected.push(Rejected {
                source: meta.source.clone(),
                rule: Some(meta.id.clone()),
                reason: reason.clone(),
            });
        }
        let broken: Vec<usize> = broken.iter().map(|(c, _)| *c).collect();
        for feeds in rule_feeds.iter_mut().chain(correlation_feeds.iter_mut()) {
            feeds.retain(|Feed::Correlation { corr, .. }| !broken.contains(corr));
        }
        for (silent, generates) in rule_silent.iter_mut().zip(&rule_generates) {
            *silent &= !generates;
        }
        for (silent, generates) in correlation_silent.iter_mut().zip(&correlation_generates) {
            *silent &= !generates;
        }
        for c in &broken {
            correlation_silent[*c] = true;
        }
        report.loaded = rules.len() + correlations.len() - broken.len() + filters_loaded;

        let mut groups: Vec<(LogSource, Vec<usize>)> = Vec::new();
        for (i, rule) in rules.iter().enumerate() {
            match groups.iter_mut().find(|(ls, _)| *ls == rule.logsource) {
                Some((_, members)) => members.push(i),
                None => groups.push((rule.logsource.clone(), vec![i])),
            }
        }
        let mut atoms = Atoms::default();
        let mut used = Vec::with_capacity(rules.len());
        let mut reqs = Vec::with_capacity(rules.len());
        for rule in &mut rules {
            reqs.push(rule.req(&mut atoms));
            used.push(atoms.take_used());
        }
        let members: Vec<&[usize]> = groups.iter().map(|(_, m)| m.as_slice()).collect();
        let prefilter = Prefilter::build(atoms, reqs, &used, &members);
        let groups = groups
            .into_iter()
            .map(|(logsource, members)| {
                let mut bits = vec![0u64; rules.len().div_ceil(64)];
                for r in members {
                    crate::prefilter::set(&mut bits, r);
                }
                (logsource, bits)
            })
            .collect();
        Ok(Self {
            detector: Arc::new(Detector {
                rules,
                groups,
                logsources,
                prefilter,
                id: NEXT_DETECTOR.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            }),
            state: MatchState::default(),
            matched: Vec::new(),
            correlations,
            rule_feeds,
            correlation_feeds,
            rule_silent,
            correlation_silent,
            max_entries: options.max_correlation_entries,
            evicted: 0,
            report,
            domain_lists: lists
                .domain_lists()
                .map(|(name, entries)| (name.to_owned(), entries.to_vec()))
                .collect(),
            text_lists: lists
                .text_lists()
                .map(|(name, entries)| (name.to_owned(), entries))
                .collect(),
        })
    }

    /// The plain entries (Sigma strings, neither `re:` nor `cidr:`) of the list `name`
    /// the rules were loaded with.
    pub fn text_list(&self, name: &str) -> Option<&[String]> {
        self.text_lists.get(name).map(Vec::as_slice)
    }

    /// The lists of DNS names (`kind: domains`) the rules were loaded with, by name:
    /// the services the pack watches, for analytics and block lists.
    pub fn domain_lists(&self) -> impl Iterator<Item = (&str, &[String])> {
        self.domain_lists
            .iter()
            .map(|(name, entries)| (name.as_str(), entries.as_slice()))
    }

    /// What loading found.
    pub fn report(&self) -> &LoadReport {
        &self.report
    }

    /// Every loaded rule's metadata: detection rules, then correlations.
    pub fn rules(&self) -> impl Iterator<Item = &RuleMeta> {
        self.detector
            .rules
            .iter()
            .map(|r| r.meta.as_ref())
            .chain(self.correlations.iter().map(|c| c.meta.as_ref()))
    }

    /// Forgets every correlation hit, as if no event had been evaluated yet.
    pub fn clear_state(&mut self) {
        self.correlations.iter_mut().for_each(Correlation::clear);
        self.evicted = 0;
    }

    /// How many correlation hits were evicted because the state was full.
    pub fn evicted(&self) -> u64 {
        self.evicted
    }

    /// The logsource Dozor derives for `event`.
    pub fn logsource_of(&self, event: &Event) -> EventLogSource {
        self.detector.logsources.of(event)
    }

    /// Every taxonomy field that the rules, their filters, the correlations, the
    /// logsource derivations and the alerts (`time`) read, once each: an event whose
    /// other taxonomy fields are not filled yet matches as it would with them.
    pub fn taxonomy_fields_read(&self) -> Vec<Field> {
        let mut read = vec![taxonomy::TIME];
        for rule in &self.detector.rules {
            rule.taxonomy_read(&mut read);
        }
        for correlation in &self.correlations {
            correlation.taxonomy_read(&mut read);
        }
        self.detector.logsources.taxonomy_read(&mut read);
        read.sort_unstable();
        read.dedup();
        read
    }

    /// The stateless half, to find matches on other threads (see [`RuleSet::apply`]).
    pub fn detector(&self) -> Arc<Detector> {
        self.detector.clone()
    }

    /// Evaluates one event, appending the alerts it causes to `alerts` (which share
    /// one copy of the event).
    pub fn evaluate(&mut self, event: &Event, alerts: &mut Vec<Alert>) {
        let mut matched = std::mem::take(&mut self.matched);
        self.detector.matching(event, &mut self.state, &mut matched);
        self.apply_with(event, None, &matched, alerts);
        self.matched = matched;
    }

    /// [`RuleSet::evaluate`] for an event handed over: if a rule matches it, the
    /// mapping its source deferred runs first ([`Event::complete`]), and its alerts
    /// hold the event itself, not a copy. Returns the event, shared.
    pub fn evaluate_owned(&mut self, mut event: Event, alerts: &mut Vec<Alert>) -> Arc<Event> {
        let mut matched = std::mem::take(&mut self.matched);
        self.detector
            .matching(&event, &mut self.state, &mut matched);
        if !matched.is_empty() {
            event.complete();
        }
        let event = Arc::new(event);
        self.apply_with(&event, Some(&event), &matched, alerts);
        self.matched = matched;
        event
    }

    /// Raises the alerts of the detection rules `matched` found for `event` (by
    /// [`Detector::matching`], possibly on another thread) and feeds the correlations.
    /// Events must be applied in their order for correlations to see them so.
    pub fn apply(&mut self, event: &Event, matched: &[usize], alerts: &mut Vec<Alert>) {
        self.apply_with(event, None, matched, alerts);
    }

    /// [`RuleSet::apply`] for an event already shared: its alerts hold `event`
    /// itself, not a copy.
    pub fn apply_shared(&mut self, event: &Arc<Event>, matched: &[usize], alerts: &mut Vec<Alert>) {
        self.apply_with(event, Some(event), matched, alerts);
    }

    /// Raises the alerts of `matched`; the event is copied (once) only if it is not
    /// `shared` already and some alert or correlation keeps it.
    fn apply_with(
        &mut self,
        event: &Event,
        shared: Option<&Arc<Event>>,
        matched: &[usize],
        alerts: &mut Vec<Alert>,
    ) {
        let mut copy: Option<Arc<Event>> = None;
        let mut kept = || -> Arc<Event> {
            match shared {
                Some(shared) => Arc::clone(shared),
                None => Arc::clone(copy.get_or_insert_with(|| Arc::new(event.clone()))),
            }
        };
        for &r in matched {
            let Some(rule) = self.detector.rules.get(r) else {
                continue;
            };
            if !self.rule_silent[r] {
                alerts.push(Alert {
                    rule: RuleRef::of(&rule.meta),
                    time: event.time(),
                    group: Vec::new(),
                    events: vec![kept()],
                    details: Vec::new(),
                });
            }
            for i in 0..self.rule_feeds[r].len() {
                let Feed::Correlation { corr, source } = self.rule_feeds[r][i];
                let hit = self.correlations[corr].hit_from_event(source, event, &mut kept);
                if let Some(hit) = hit {
                    self.feed(corr, hit, alerts);
                }
            }
        }
    }

    fn feed(&mut self, corr: usize, hit: Hit, alerts: &mut Vec<Alert>) {
        let Some(alert) = self.correlations[corr].add(hit) else {
            self.enforce_cap();
            return;
        };
        for i in 0..self.correlation_feeds[corr].len() {
            let Feed::Correlation { corr: next, source } = self.correlation_feeds[corr][i];
            if let Some(hit) = self.correlations[next].hit_from_alert(source, &alert) {
                self.feed(next, hit, alerts);
            }
        }
        if !self.correlation_silent[corr] {
            alerts.push(alert);
        }
    }

    fn enforce_cap(&mut self) {
        let mut total: usize = self.correlations.iter().map(Correlation::entries).sum();
        while total > self.max_entries {
            let oldest = self
                .correlations
                .iter_mut()
                .filter(|c| c.entries() > 0)
                .max_by_key(|c| c.entries());
            match oldest.map(Correlation::evict_oldest) {
                Some(true) => {
                    self.evicted += 1;
                    total -= 1;
                }
                _ => break,
            }
        }
    }
}

fn content_error(path: &std::path::Path, e: std::io::Error) -> RuleError {
    RuleError::Content {
        file: path.display().to_string(),
        reason: e.to_string(),
    }
}
