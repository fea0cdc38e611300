//! The pipeline: journal records → normalize → detect → store.
//!
//! It runs on a thread of its own (normalization and detection are CPU work) and takes
//! whatever the journal has synced, in order. Each run of records becomes one store
//! transaction holding their events, the incidents their alerts open or extend, and
//! the journal position reached; event ids derive from journal positions, so a replay
//! after a crash rewrites the same rows instead of adding new ones. The analytics judge
//! each event before the rules, and their state is saved in the same transaction when
//! the batch changed it, so a replay starts them from the state that matches the
//! checkpoint.

use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use dozor_analytics::Analytics;
use dozor_event::{Event, Timestamp, Value, taxonomy};
use dozor_formats::{Collected, Format, ReadContext, Reject};
use dozor_rules::{Alert, RuleSet};
use dozor_store::{AlertRecord, Batch, EventRecord, Store, search_text};
use tokio::runtime::Handle;

use crate::journal::{Journal, Kind, Positioned};
use crate::metrics::{Metrics, RuleLabel, SourceFormat};

/// Journal bytes taken into one transaction (about 10,000 syslog lines).
const BATCH_BYTES: u64 = 1 << 20;

/// The pipeline's state.
pub struct Pipeline {
    /// Where it stores.
    pub store: Store,
    /// The rules it evaluates.
    pub rules: RuleSet,
    /// The analytics that judge events before the rules.
    pub analytics: Analytics,
    /// A rule set to switch to before the next batch (lists were edited).
    pub pending_rules: Arc<Mutex<Option<RuleSet>>>,
    /// Its metrics.
    pub metrics: Arc<Metrics>,
    /// The journal's directory (stored segments are deleted).
    pub journal_dir: PathBuf,
    /// Where rejected records are kept.
    pub rejects_path: PathBuf,
    /// The checkpoint's name.
    pub node: String,
    /// Incident grouping window, ms.
    pub incident_window_ms: i64,
    /// The longest record kept.
    pub max_record: usize,
    /// The runtime that drives the store.
    pub handle: Handle,
    /// The journal position stored so far.
    pub progress: Arc<AtomicU64>,
}

impl Pipeline {
    /// Stores the journal from the checkpoint on: what an earlier run left unstored
    /// first, then records as the writer syncs them (`written`), until `stop` is set and
    /// everything written is stored.
    pub fn run(mut self, written: Arc<AtomicU64>, stop: Arc<AtomicBool>) {
        let mut position = match self.handle.block_on(self.store.checkpoint(&self.node)) {
            Ok(checkpoint) => checkpoint.map_or(0, |p| p.max(0) as u64),
            Err(e) => {
                tracing::error!(error = %e, "cannot read the pipeline checkpoint; nothing will be stored");
                return;
            }
        };
        let end = written.load(Ordering::Acquire);
        if position < end {
            tracing::info!(
                from = position,
                to = end,
                "journal replayed from the checkpoint"
            );
        }
        let (to_store, from_prepare) = std::sync::mpsc::sync_channel::<Prepared>(2);
        let committer = Committer {
            store: self.store.clone(),
            metrics: self.metrics.clone(),
            handle: self.handle.clone(),
            journal_dir: self.journal_dir.clone(),
            rejects_path: self.rejects_path.clone(),
            progress: self.progress.clone(),
        };
        let store_stage = match std::thread::Builder::new()
            .name("store".into())
            .spawn(move || committer.run(from_prepare))
        {
            Ok(thread) => thread,
            Err(e) => {
                tracing::error!(error = %e, "cannot start the store thread");
                return;
            }
        };
        loop {
            let end = written.load(Ordering::Acquire);
            if position >= end {
                if stop.load(Ordering::Acquire) {
                    break;
                }
                std::thread::sleep(Duration::from_millis(5));
                continue;
            }
            let records = match Journal::read(&self.journal_dir, position, end, BATCH_BYTES) {
                Ok(records) if !records.is_empty() => records,
                Ok(_) => {
                    tracing::error!(
                        position,
                        end,
                        "the journal has no record where one was written"
                    );
                    std::thread::sleep(Duration::from_secs(1));
                    continue;
                }
                Err(e) => {
                    tracing::error!(error = %e, "cannot read the journal; retrying");
                    std::thread::sleep(Duration::from_secs(1));
                    continue;
                }
            };
            if let Some(rules) = self.pending_rules.lock().ok().and_then(|mut p| p.take()) {
                self.analytics
                    .set_watched(dozor_analytics::Watched::of_rules(&rules));
                self.rules = rules;
                tracing::info!("rules reloaded");
            }
            let prepared = self.prepare(&records);
            position = prepared.last;
            if to_store.send(prepared).is_err() {
                break;
            }
        }
        drop(to_store);
        let _ = store_stage.join();
        tracing::info!("pipeline stopped");
    }

    /// Normalizes and detects `records` into one transaction's worth.
    fn prepare(&mut self, records: &[Positioned]) -> Prepared {
        let mut batch = Batch {
            incident_window_ms: self.incident_window_ms,
            ..Batch::default()
        };
        let mut alerts: Vec<Alert> = Vec::new();
        let mut rejects: Vec<(String, Reject)> = Vec::new();
        for positioned in records {
            self.read_record(positioned, &mut batch, &mut alerts, &mut rejects);
        }
        for alert in &alerts {
            self.metrics
                .alerts
                .get_or_create(&RuleLabel {
                    rule: alert.rule.id.clone(),
                })
                .inc();
            batch.alerts.push(alert_record(alert));
        }
        let last = records.last().map_or(0, |p| p.next);
        batch.checkpoint = Some((self.node.clone(), last as i64));
        // A state the batch left unchanged is already stored as it is.
        if self.analytics.take_changed() {
            batch.analytics_state = Some((self.node.clone(), self.analytics.save()));
        }
        Prepared {
            batch,
            rejects,
            received: records.iter().map(|p| p.record.received).collect(),
            last,
        }
    }

    fn read_record(
        &mut self,
        positioned: &Positioned,
        batch: &mut Batch,
        alerts: &mut Vec<Alert>,
        rejects: &mut Vec<(String, Reject)>,
    ) {
        let record = &positioned.record;
        let transport = record.source.split(' ').next().unwrap_or("").to_owned();
        let format: Option<&'static dyn Format> = match record.kind {
            Kind::Syslog => dozor_formats::find("syslog"),
            Kind::Lines if record.format.is_empty() => dozor_formats::detect(&record.data),
            Kind::Lines => dozor_formats::find(&record.format),
        };
        let received =
            Timestamp::from_millisecond(record.received).unwrap_or_else(|_| Timestamp::now());
        let ctx = ReadContext {
            source: record.source.clone(),
            received,
            max_record: self.max_record,
            defer_mapping: false,
        };
        let Some(format) = format else {
            let reason = if record.format.is_empty() {
                "format not recognised".to_owned()
            } else {
                format!("unknown format {:?}", record.format)
            };
            let reject = Reject::new("unrecognised", &ctx, 0, reason, &record.data);
            self.metrics
                .rejects
                .get_or_create(&SourceFormat {
                    source: transport.clone(),
                    format: "unrecognised".into(),
                })
                .inc();
            rejects.push((transport, reject));
            return;
        };
        let mut read = Collected::default();
        // Reading from memory cannot fail with an I/O error.
        let _ = format.read(&mut record.data.as_slice(), &ctx, &mut read);
        let Collected {
            events,
            rejects: format_rejects,
        } = read;
        let labels = SourceFormat {
            source: transport.clone(),
            format: format.name().to_owned(),
        };
        self.metrics
            .events_in
            .get_or_create(&labels)
            .inc_by(events.len() as u64);
        if !format_rejects.is_empty() {
            self.metrics
                .rejects
                .get_or_create(&labels)
                .inc_by(format_rejects.len() as u64);
        }
        rejects.extend(format_rejects.into_iter().map(|r| (transport.clone(), r)));
        for (index, mut event) in events.into_iter().enumerate() {
            let id = format!("{:016x}{index:06x}", positioned.position);
            event.set(taxonomy::UUID, Value::Str(id.as_str().into()));
            if event.get(taxonomy::RECV_TIME).is_none() {
                event.set(taxonomy::RECV_TIME, Value::Time(received));
            }
            self.analytics.observe(&mut event, alerts);
            self.rules.evaluate(&event, alerts);
            batch.events.push(event_record(
                id,
                &event,
                record.received,
                format.name(),
                &record.source,
            ));
        }
    }
}

/// One transaction's worth, normalized and detected, on its way to the store.
struct Prepared {
    batch: Batch,
    rejects: Vec<(String, Reject)>,
    received: Vec<i64>,
    last: u64,
}

/// The store stage: commits prepared batches in order while the next one is prepared,
/// so normalization and detection overlap with the database's work.
struct Committer {
    store: Store,
    metrics: Arc<Metrics>,
    handle: Handle,
    journal_dir: PathBuf,
    rejects_path: PathBuf,
    progress: Arc<AtomicU64>,
}

impl Committer {
    fn run(self, input: std::sync::mpsc::Receiver<Prepared>) {
        for prepared in input {
            // A store failure stalls the pipeline (and, through the journal's bound, the
            // senders) until the store is back: nothing is dropped.
            let outcome = loop {
                match self.handle.block_on(self.store.commit(&prepared.batch)) {
                    Ok(outcome) => break outcome,
                    Err(e) => {
                        self.metrics.store_errors.inc();
                        tracing::error!(error = %e, "store commit failed; retrying");
                        std::thread::sleep(Duration::from_secs(1));
                    }
                }
            };
            self.keep_rejects(&prepared.rejects);
            self.metrics.events_stored.inc_by(outcome.events_stored);
            self.metrics
                .incidents_opened
                .inc_by(outcome.incidents_opened);
            let now = Timestamp::now().as_millisecond();
            for received in &prepared.received {
                self.metrics
                    .latency
                    .observe((now - received).max(0) as f64 / 1000.0);
            }
            self.progress.store(prepared.last, Ordering::Release);
            if let Err(e) = Journal::remove_before(&self.journal_dir, prepared.last) {
                tracing::warn!(error = %e, "cannot delete stored journal segments");
            }
        }
    }

    fn keep_rejects(&self, rejects: &[(String, Reject)]) {
        if rejects.is_empty() {
            return;
        }
        let mut out = Vec::new();
        for (transport, reject) in rejects {
            let line = serde_json::json!({
                "time": dozor_event::format_time(Timestamp::now()),
                "transport": transport,
                "format": reject.format,
                "source": reject.source,
                "location": reject.location,
                "reason": reject.reason,
                "len": reject.len,
                "record": String::from_utf8_lossy(&reject.record),
            });
            out.extend_from_slice(line.to_string().as_bytes());
            out.push(b'\n');
        }
        let written = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.rejects_path)
            .and_then(|mut file| file.write_all(&out));
        if let Err(e) = written {
            tracing::warn!(error = %e, path = %self.rejects_path.display(), "cannot keep rejected records");
        }
    }
}

fn event_record(
    id: String,
    event: &Event,
    received: i64,
    format: &str,
    source: &str,
) -> EventRecord {
    let pairs = event
        .fields()
        .map(|(field, value)| (field.name(), value.to_string()))
        .chain(
            event
                .raw_fields()
                .map(|(name, value)| (name, value.to_string())),
        );
    EventRecord {
        id,
        time: event.time().map_or(received, |t| t.as_millisecond()),
        recv_time: received,
        format: format.to_owned(),
        source: source.to_owned(),
        host: event.get_str(taxonomy::EVENT_SRC_HOST).map(str::to_owned),
        search: search_text(pairs, ""),
        body: serde_json::to_string(event).unwrap_or_default(),
    }
}

/// Reporting devices that log on behalf of other hosts: for their events the asset an
/// alert is about is the client (`src`), not the device itself.
const INTERMEDIARIES: &[&str] = &[
    "DNS server",
    "Web server",
    "Proxy server",
    "Network",
    "Network sensor",
];

/// What an alert without a correlation group is grouped by: the client of an
/// intermediary (`src=...`), otherwise the reporting host (`host=...`).
fn asset_key(event: &Event) -> String {
    let intermediary = event
        .get_str(taxonomy::EVENT_SRC_CATEGORY)
        .is_some_and(|c| INTERMEDIARIES.contains(&c));
    let client = || {
        [taxonomy::SRC_HOST, taxonomy::SRC_IP]
            .into_iter()
            .find_map(|f| event.get(f).map(|v| format!("src={v}")))
    };
    let host = || {
        event
            .get(taxonomy::EVENT_SRC_HOST)
            .map(|v| format!("host={v}"))
    };
    let key = if intermediary {
        client().or_else(host)
    } else {
        host().or_else(client)
    };
    key.unwrap_or_default()
}

fn alert_record(alert: &Alert) -> AlertRecord {
    let group_key = if alert.group.is_empty() {
        alert
            .events
            .first()
            .map(|e| asset_key(e))
            .unwrap_or_default()
    } else {
        alert
            .group
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(",")
    };
    let mut hosts: Vec<String> = Vec::new();
    for event in &alert.events {
        for field in [
            taxonomy::EVENT_SRC_HOST,
            taxonomy::SRC_HOST,
            taxonomy::SRC_IP,
        ] {
            if let Some(value) = event.get(field) {
                let value = value.to_string();
                if !value.is_empty() && !hosts.contains(&value) {
                    hosts.push(value);
                }
            }
        }
    }
    let time = alert
        .time
        .or_else(|| alert.events.last().and_then(|e| e.time()))
        .unwrap_or_else(Timestamp::now)
        .as_millisecond();
    AlertRecord {
        rule_id: alert.rule.id.clone(),
        rule_title: alert.rule.title.clone(),
        reference_rule: alert.rule.reference_rule.clone(),
        severity: alert.rule.level.clone(),
        techniques: alert.rule.techniques.clone(),
        group_key,
        hosts,
        time,
        events: alert
            .events
            .iter()
            .filter_map(|event| {
                let id = event.get_str(taxonomy::UUID)?.to_owned();
                Some((id, event.time().map_or(time, |t| t.as_millisecond())))
            })
            .collect(),
        details: alert.details.clone(),
    }
}
