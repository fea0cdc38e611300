//! `dozor serve`: the running SIEM. Present, the last stage of the pipeline, and the
//! process that drives all of them:
//!
//! ```text
//! listeners (ingest) → journal (synced) → pipeline: normalize → detect → store
//!                                                      ↑ console and API read the store
//! ```
//!
//! One process with embedded defaults (SQLite in the data directory); the same binary
//! pointed at PostgreSQL shares its store with other nodes.

pub mod api;
pub mod attack;
pub mod auth;
mod charts;
pub mod config;
mod console;
pub mod demo;
pub mod engine;
pub mod ingest;
pub mod journal;
pub mod metrics;
pub mod pipeline;
pub mod rule_tests;
pub mod state;

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use anyhow::{Context, Result};
use axum::extract::State;
use axum::http::{HeaderMap, Method};
use axum::response::IntoResponse;
use dozor_analytics::{Analytics, AnalyticsConfig, Watched};
use dozor_rules::{RuleSet, RuleSetOptions};
use dozor_store::Store;
use tokio::net::{TcpListener, UdpSocket};

pub use config::{Config, Listen, TailSpec};

use crate::config::Listen as L;
use crate::engine::Engine;
use crate::journal::Journal;
use crate::metrics::Metrics;
use crate::pipeline::Pipeline;
use crate::state::{AppState, Shared};

/// Sets up logging to stderr: `text` or `json` lines, filtered by `RUST_LOG`
/// (default `info`).
pub fn init_logging(format: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(ansi);
    let _ = if format == "json" {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}

/// The analytics, from the state saved with the pipeline's checkpoint. A state this
/// version cannot read is reported and the baselines start over.
async fn load_analytics(store: &Store, config: &Config, rules: &RuleSet) -> Result<Analytics> {
    let settings = AnalyticsConfig {
        learning_ms: i64::try_from(config.learning_hours.saturating_mul(3_600_000))
            .unwrap_or(i64::MAX),
        ..AnalyticsConfig::default()
    };
    let watched = Watched::of_rules(rules);
    let saved = store
        .analytics_state(&config.node)
        .await
        .context("cannot read the analytics state")?;
    Ok(match saved {
        Some(state) => match Analytics::restore(&state, settings, watched.clone()) {
            Ok(analytics) => {
                tracing::info!("analytics baselines restored");
                analytics
            }
            Err(e) => {
                tracing::error!(error = %e, "analytics state unreadable; baselines start over");
                Analytics::new(settings, watched)
            }
        },
        None => Analytics::new(settings, watched),
    })
}

/// Runs [`serve`] on a new multi-threaded runtime.
pub fn run(config: Config) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("dozor")
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(serve(config))
}

/// Runs the service until interrupted (SIGINT or SIGTERM), then stops taking records,
/// lets the pipeline store what the journal holds, and returns.
pub async fn serve(config: Config) -> Result<()> {
    std::fs::create_dir_all(&config.data_dir).with_context(|| {
        format!(
            "cannot create the data directory {}",
            config.data_dir.display()
        )
    })?;
    let store = Store::open(&config.database_url()).await.with_context(|| {
        format!(
            "cannot open the database {}",
            redact(&config.database_url())
        )
    })?;
    ensure_admin(&store, &config).await?;

    let engine = Engine::new(
        RuleSetOptions {
            builtin_rules: !config.no_builtin,
            rule_paths: config.rules.clone(),
            list_paths: config.lists.clone(),
            ..RuleSetOptions::default()
        },
        &config.data_dir.join("lists-edited"),
    );
    let (rules, catalog) = engine.load_with_edits(&store).await?;
    tracing::info!(
        rules = catalog.rules.len(),
        rejected = catalog.rejected.len(),
        "rules loaded"
    );

    let analytics = load_analytics(&store, &config, &rules).await?;

    let metrics = Arc::new(Metrics::new());
    let journal_dir = config.data_dir.join("journal");
    let journal = Journal::open(&journal_dir)?;
    let progress = Arc::new(AtomicU64::new(0));
    let pending_rules = Arc::new(Mutex::new(None));
    let pipeline = Pipeline {
        store: store.clone(),
        rules,
        analytics,
        pending_rules: pending_rules.clone(),
        metrics: metrics.clone(),
        journal_dir: journal_dir.clone(),
        rejects_path: config.data_dir.join("rejects.ndjson"),
        node: config.node.clone(),
        incident_window_ms: (config.incident_window_secs * 1000) as i64,
        max_record: config.max_record,
        handle: tokio::runtime::Handle::current(),
        progress: progress.clone(),
    };
    let checkpoint = store
        .checkpoint(&config.node)
        .await?
        .map_or(0, |p| p.max(0) as u64);
    progress.store(checkpoint, Ordering::Release);
    let appender = journal.start(
        config.queue_capacity,
        progress.clone(),
        config.max_journal_lag,
    )?;
    let written = appender.written_handle();
    let stop_pipeline = Arc::new(AtomicBool::new(false));
    let pipeline_stop = stop_pipeline.clone();
    let pipeline_thread = std::thread::Builder::new()
        .name("pipeline".into())
        .spawn(move || pipeline.run(written, pipeline_stop))?;

    let mut tasks = Vec::new();
    let mut listening = serde_json::Map::new();
    if let L::On(addr) = &config.listen_syslog_udp {
        let socket = UdpSocket::bind(addr)
            .await
            .with_context(|| format!("cannot listen on UDP {addr}"))?;
        listening.insert("syslog_udp".into(), socket.local_addr()?.to_string().into());
        tasks.push(tokio::spawn(ingest::syslog::serve_udp(
            socket,
            appender.clone(),
            metrics.clone(),
            config.max_record,
        )));
    }
    if let L::On(addr) = &config.listen_syslog_tcp {
        let listener = bind_tcp(addr, "syslog_tcp", &mut listening).await?;
        tasks.push(tokio::spawn(ingest::syslog::serve_tcp(
            listener,
            None,
            appender.clone(),
            metrics.clone(),
            config.max_record,
        )));
    }
    if let L::On(addr) = &config.listen_syslog_tls {
        let (Some(cert), Some(key)) = (&config.tls_cert, &config.tls_key) else {
            anyhow::bail!("listen_syslog_tls needs tls_cert and tls_key");
        };
        let acceptor = ingest::syslog::tls_acceptor(cert, key)?;
        let listener = bind_tcp(addr, "syslog_tls", &mut listening).await?;
        tasks.push(tokio::spawn(ingest::syslog::serve_tcp(
            listener,
            Some(acceptor),
            appender.clone(),
            metrics.clone(),
            config.max_record,
        )));
    }
    let http = TcpListener::bind(config.listen_http)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen_http))?;
    listening.insert("http".into(), http.local_addr()?.to_string().into());

    let stop_tailing = Arc::new(AtomicBool::new(false));
    let mut tail_threads = Vec::new();
    let tail_state = config.data_dir.join("tail");
    std::fs::create_dir_all(&tail_state)?;
    for spec in &config.tail {
        let tailer = ingest::tail::Tailer::new(spec, &tail_state, config.max_record);
        let (appender, metrics, stop) = (appender.clone(), metrics.clone(), stop_tailing.clone());
        let handle = tokio::runtime::Handle::current();
        tail_threads.push(std::thread::spawn(move || {
            tailer.run(appender, metrics, handle, stop)
        }));
    }

    if config.demo {
        let added = demo::load(&appender, &config.data_dir).await?;
        tracing::info!(records = added, "demo records ingested");
    }

    let state: Shared = Arc::new(AppState {
        config: config.clone(),
        store: store.clone(),
        appender: appender.clone(),
        metrics: metrics.clone(),
        engine,
        catalog: RwLock::new(catalog),
        pending_rules,
        auth: auth::Auth::new(config.session_hours),
    });
    tasks.push(tokio::spawn(retention(
        store.clone(),
        config.retention_days,
    )));
    let progress_for_metrics = progress.clone();
    let app = console::routes()
        .merge(api::routes())
        .merge(ingest::http::routes())
        .route(
            "/metrics",
            axum::routing::get(
                move |state: State<Shared>, method: Method, headers: HeaderMap| {
                    let progress = progress_for_metrics.clone();
                    async move { metrics_page(state, method, headers, progress).await }
                },
            ),
        )
        .layer(axum::extract::DefaultBodyLimit::max(64 * 1024 * 1024))
        .with_state(state);

    write_listening(&config.data_dir, &listening)?;
    for (name, addr) in &listening {
        tracing::info!(listener = %name, address = %addr, "listening");
    }
    axum::serve(
        http,
        app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await?;

    tracing::info!("shutting down: no new records; storing what the journal holds");
    stop_tailing.store(true, Ordering::Relaxed);
    for task in &tasks {
        task.abort();
    }
    let target = appender.written();
    drop(appender);
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while progress.load(Ordering::Acquire) < target && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for thread in tail_threads {
        let _ = tokio::task::spawn_blocking(move || thread.join()).await;
    }
    if progress.load(Ordering::Acquire) < target {
        tracing::warn!(
            "the pipeline did not catch up; the journal will be replayed at the next start"
        );
    }
    drop(pipeline_thread);
    store.close().await;
    let _ = std::fs::remove_file(config.data_dir.join("listening.json"));
    tracing::info!("stopped");
    Ok(())
}

async fn metrics_page(
    State(state): State<Shared>,
    method: Method,
    headers: HeaderMap,
    progress: Arc<AtomicU64>,
) -> axum::response::Response {
    if let Err(e) = api::require(&state, &method, &headers).await {
        return e.into_response();
    }
    state.metrics.queue_depth.set(state.appender.depth());
    let lag = state
        .appender
        .written()
        .saturating_sub(progress.load(Ordering::Acquire));
    state.metrics.pipeline_lag.set(lag as i64);
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        state.metrics.render(),
    )
        .into_response()
}

/// Binds a TCP listener and records the address it got under `name`.
async fn bind_tcp(
    addr: &std::net::SocketAddr,
    name: &str,
    listening: &mut serde_json::Map<String, serde_json::Value>,
) -> Result<TcpListener> {
    let listener = TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on TCP {addr}"))?;
    listening.insert(name.into(), listener.local_addr()?.to_string().into());
    Ok(listener)
}

/// Creates `admin` when there are no users: with `DOZOR_ADMIN_PASSWORD`, or with a
/// generated password printed once.
async fn ensure_admin(store: &Store, config: &Config) -> Result<()> {
    if store.user_count().await? > 0 {
        return Ok(());
    }
    let (password, generated) = match &config.admin_password {
        Some(password) if !password.is_empty() => (password.clone(), false),
        _ => (auth::random_hex(12), true),
    };
    let hashing = password.clone();
    let hash = tokio::task::spawn_blocking(move || auth::hash_password(&hashing))
        .await?
        .map_err(|e| anyhow::anyhow!("cannot hash the admin password: {e}"))?;
    store.set_user("admin", &hash).await?;
    if generated {
        eprintln!(
            "dozor: created user `admin` with password {password} (shown once; set DOZOR_ADMIN_PASSWORD to choose it)"
        );
    } else {
        tracing::info!("created user admin with the password from DOZOR_ADMIN_PASSWORD");
    }
    Ok(())
}

/// Deletes events past the retention every hour.
async fn retention(store: Store, days: u64) {
    if days == 0 {
        return;
    }
    loop {
        let before = ingest::now_ms() - (days as i64) * 86_400_000;
        match store.delete_events_before(before).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(deleted = n, "events past retention deleted"),
            Err(e) => tracing::warn!(error = %e, "retention failed"),
        }
        tokio::time::sleep(Duration::from_secs(3600)).await;
    }
}

/// Writes `listening.json` in the data directory: the addresses actually bound (useful
/// with port 0).
fn write_listening(
    data_dir: &Path,
    listening: &serde_json::Map<String, serde_json::Value>,
) -> Result<()> {
    let path = data_dir.join("listening.json");
    let tmp = data_dir.join("listening.json.tmp");
    std::fs::write(&tmp, serde_json::to_vec_pretty(listening)?)?;
    std::fs::rename(&tmp, &path)?;
    Ok(())
}

async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(term) => term,
                Err(_) => {
                    let _ = interrupt.await;
                    return;
                }
            };
        tokio::select! {
            _ = interrupt => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = interrupt.await;
    }
}

/// A database URL without its password, for messages.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let credentials = &url[scheme + 3..at];
            match credentials.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}
