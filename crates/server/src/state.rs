//! What every request handler shares.

use std::sync::{Arc, Mutex, RwLock};

use dozor_rules::RuleSet;
use dozor_store::Store;

use crate::auth::Auth;
use crate::config::Config;
use crate::engine::{Catalog, Engine};
use crate::journal::Appender;
use crate::metrics::Metrics;

/// The service's shared state.
pub struct AppState {
    /// Settings.
    pub config: Config,
    /// The store.
    pub store: Store,
    /// Where accepted records go.
    pub appender: Appender,
    /// Metrics.
    pub metrics: Arc<Metrics>,
    /// How rules are loaded.
    pub engine: Engine,
    /// The loaded rules, described.
    pub catalog: RwLock<Catalog>,
    /// A reloaded rule set for the pipeline to pick up.
    pub pending_rules: Arc<Mutex<Option<RuleSet>>>,
    /// Authentication.
    pub auth: Auth,
}

/// The state as handlers receive it.
pub type Shared = Arc<AppState>;

impl AppState {
    /// Reloads the rules (after a list edit) and hands them to the pipeline.
    pub async fn reload_rules(self: &Arc<Self>) -> anyhow::Result<()> {
        let (rules, catalog) = self.engine.load_with_edits(&self.store).await?;
        if let Ok(mut slot) = self.pending_rules.lock() {
            *slot = Some(rules);
        }
        if let Ok(mut current) = self.catalog.write() {
            *current = catalog;
        }
        Ok(())
    }
}
