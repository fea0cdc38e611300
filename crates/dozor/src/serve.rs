//! `dozor serve`: the running SIEM (see the `dozor-server` crate).

use std::path::PathBuf;

use anyhow::{Context, Result};
use dozor_server::Config;
use serde_json::{Map, Value, json};

/// `dozor serve` flags; each overrides `dozor.toml` and `DOZOR_*` variables.
#[derive(clap::Args)]
pub struct Args {
    /// Settings file (default: ./dozor.toml when it exists).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Data directory: journal, SQLite database, rejected records [default: ./dozor-data].
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Console and API address [default: 127.0.0.1:8080].
    #[arg(long, value_name = "ADDR")]
    listen_http: Option<String>,
    /// Syslog UDP address, or `off` [default: 127.0.0.1:5514].
    #[arg(long, value_name = "ADDR")]
    listen_syslog_udp: Option<String>,
    /// Syslog TCP address, or `off` [default: 127.0.0.1:5514].
    #[arg(long, value_name = "ADDR")]
    listen_syslog_tcp: Option<String>,
    /// Syslog TLS address (needs --tls-cert and --tls-key) [default: off].
    #[arg(long, value_name = "ADDR")]
    listen_syslog_tls: Option<String>,
    /// PEM certificate chain for syslog TLS.
    #[arg(long, value_name = "FILE")]
    tls_cert: Option<PathBuf>,
    /// PEM private key for syslog TLS.
    #[arg(long, value_name = "FILE")]
    tls_key: Option<PathBuf>,
    /// Database URL: sqlite://PATH or postgres://USER@HOST/DB [default: SQLite in the data directory].
    #[arg(long, value_name = "URL")]
    database: Option<String>,
    /// Follow this file as it grows (repeatable; format detected).
    #[arg(long = "tail", value_name = "PATH")]
    tail: Vec<PathBuf>,
    /// Extra rule files or directories (repeatable).
    #[arg(long = "rules", value_name = "PATH")]
    rules: Vec<PathBuf>,
    /// Extra list files or directories (repeatable).
    #[arg(long = "lists", value_name = "PATH")]
    lists: Vec<PathBuf>,
    /// Leave out the bundled rules.
    #[arg(long)]
    no_builtin: bool,
    /// Ingest the bundled sample attack logs once, to show real incidents at once.
    #[arg(long)]
    demo: bool,
    /// This node's name in a shared database.
    #[arg(long, value_name = "NAME")]
    node: Option<String>,
    /// Log lines as `text` or `json`.
    #[arg(long, value_name = "FORMAT")]
    log_format: Option<String>,
}

impl Args {
    /// The flags that were given, as settings.
    fn overrides(&self) -> Value {
        let mut map = Map::new();
        let mut put = |key: &str, value: Value| {
            map.insert(key.to_owned(), value);
        };
        if let Some(v) = &self.data_dir {
            put("data_dir", json!(v));
        }
        for (key, value) in [
            ("listen_http", &self.listen_http),
            ("listen_syslog_udp", &self.listen_syslog_udp),
            ("listen_syslog_tcp", &self.listen_syslog_tcp),
            ("listen_syslog_tls", &self.listen_syslog_tls),
            ("database", &self.database),
            ("node", &self.node),
            ("log_format", &self.log_format),
        ] {
            if let Some(v) = value {
                put(key, json!(v));
            }
        }
        if let Some(v) = &self.tls_cert {
            put("tls_cert", json!(v));
        }
        if let Some(v) = &self.tls_key {
            put("tls_key", json!(v));
        }
        if !self.tail.is_empty() {
            put(
                "tail",
                json!(
                    self.tail
                        .iter()
                        .map(|p| json!({"path": p}))
                        .collect::<Vec<_>>()
                ),
            );
        }
        if !self.rules.is_empty() {
            put("rules", json!(self.rules));
        }
        if !self.lists.is_empty() {
            put("lists", json!(self.lists));
        }
        if self.no_builtin {
            put("no_builtin", json!(true));
        }
        if self.demo {
            put("demo", json!(true));
        }
        Value::Object(map)
    }
}

/// Runs the service until interrupted.
pub fn run(args: &Args) -> Result<i32> {
    let config = Config::load(args.config.as_deref(), args.overrides()).context("bad settings")?;
    dozor_server::init_logging(&config.log_format);
    dozor_server::run(config)?;
    Ok(0)
}
