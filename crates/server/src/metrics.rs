//! Prometheus metrics, served at `/metrics`.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// Labels naming a transport and a format.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SourceFormat {
    /// `syslog-udp`, `syslog-tcp`, `syslog-tls`, `http`, `bulk`, `tail`, `demo`.
    pub source: String,
    /// The format that read the record.
    pub format: String,
}

/// Labels naming a transport.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct Source {
    /// As in [`SourceFormat::source`].
    pub source: String,
}

/// Labels naming a rule.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RuleLabel {
    /// The rule id.
    pub rule: String,
}

/// Every metric the service keeps.
pub struct Metrics {
    /// Records accepted into the journal, per transport.
    pub records_in: Family<Source, Counter>,
    /// Records a UDP listener dropped because the journal was full.
    pub records_dropped: Family<Source, Counter>,
    /// Events normalized, per transport and format.
    pub events_in: Family<SourceFormat, Counter>,
    /// Events written to the store.
    pub events_stored: Counter,
    /// Rejected records, per transport and format.
    pub rejects: Family<SourceFormat, Counter>,
    /// Alerts, per rule.
    pub alerts: Family<RuleLabel, Counter>,
    /// Incidents opened.
    pub incidents_opened: Counter,
    /// Journal appends waiting to be written.
    pub queue_depth: Gauge,
    /// Journal bytes synced but not yet stored.
    pub pipeline_lag: Gauge,
    /// Seconds from receipt to storage.
    pub latency: Histogram,
    /// Failed store commits (retried).
    pub store_errors: Counter,
    registry: Registry,
}

impl Metrics {
    /// All metrics, registered and at zero.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("dozor");
        let m = Self {
            records_in: Family::default(),
            records_dropped: Family::default(),
            events_in: Family::default(),
            events_stored: Counter::default(),
            rejects: Family::default(),
            alerts: Family::default(),
            incidents_opened: Counter::default(),
            queue_depth: Gauge::default(),
            pipeline_lag: Gauge::default(),
            latency: Histogram::new(exponential_buckets(0.001, 2.0, 16)),
            store_errors: Counter::default(),
            registry: Registry::default(),
        };
        registry.register(
            "records_received",
            "Records accepted into the journal",
            m.records_in.clone(),
        );
        registry.register(
            "records_dropped",
            "UDP records dropped while the journal was full",
            m.records_dropped.clone(),
        );
        registry.register(
            "events_normalized",
            "Events normalized",
            m.events_in.clone(),
        );
        registry.register(
            "events_stored",
            "Events written to the store",
            m.events_stored.clone(),
        );
        registry.register(
            "rejects",
            "Records that could not be normalized",
            m.rejects.clone(),
        );
        registry.register("alerts", "Alerts raised", m.alerts.clone());
        registry.register(
            "incidents_opened",
            "Incidents opened",
            m.incidents_opened.clone(),
        );
        registry.register(
            "queue_depth",
            "Journal appends waiting to be written",
            m.queue_depth.clone(),
        );
        registry.register(
            "pipeline_lag_bytes",
            "Journal bytes synced but not yet stored",
            m.pipeline_lag.clone(),
        );
        registry.register(
            "pipeline_latency_seconds",
            "Seconds from receipt to storage",
            m.latency.clone(),
        );
        registry.register(
            "store_errors",
            "Store commits that failed and were retried",
            m.store_errors.clone(),
        );
        Self { registry, ..m }
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}
