//! The service's settings: defaults, then `dozor.toml`, then `DOZOR_*` variables, then
//! command-line flags, each overriding the one before (figment).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

/// Everything `dozor serve` can be told.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct Config {
    /// Where the journal, the SQLite database and rejected records live.
    pub data_dir: PathBuf,
    /// Console and API address.
    pub listen_http: SocketAddr,
    /// Syslog over UDP (`off` disables it).
    pub listen_syslog_udp: Listen,
    /// Syslog over TCP, newline or octet-counted (`off` disables it).
    pub listen_syslog_tcp: Listen,
    /// Syslog over TLS (RFC 5425); needs `tls_cert` and `tls_key`.
    pub listen_syslog_tls: Listen,
    /// PEM certificate chain for the TLS listener.
    pub tls_cert: Option<PathBuf>,
    /// PEM private key for the TLS listener.
    pub tls_key: Option<PathBuf>,
    /// `sqlite://PATH` or `postgres://...`; SQLite in the data directory by default.
    pub database: Option<String>,
    /// Files to follow as they grow (rotation is survived).
    pub tail: Vec<TailSpec>,
    /// Extra rule files or directories.
    pub rules: Vec<PathBuf>,
    /// Extra list files or directories.
    pub lists: Vec<PathBuf>,
    /// Leave out the bundled rules.
    pub no_builtin: bool,
    /// Alerts of one rule and key within this many seconds of an incident's last alert
    /// join it.
    pub incident_window_secs: u64,
    /// How long each host's first-seen baseline learns before the analytics report
    /// anything new about it, in hours.
    pub learning_hours: u64,
    /// Events older than this many days are deleted (those cited by incidents stay).
    pub retention_days: u64,
    /// The longest record accepted, in bytes.
    pub max_record: usize,
    /// How many journal appends may wait to be written.
    pub queue_capacity: usize,
    /// Journal bytes that may wait to be stored; TCP, TLS, HTTP and file senders wait
    /// beyond it and UDP datagrams are dropped (and counted).
    pub max_journal_lag: u64,
    /// This node's name: it keys the pipeline checkpoint in a shared database.
    pub node: String,
    /// Load the bundled sample attack logs at start.
    pub demo: bool,
    /// Initial password of `admin` (`DOZOR_ADMIN_PASSWORD`); generated and printed
    /// once when absent.
    pub admin_password: Option<String>,
    /// Hours a console session or API token lasts.
    pub session_hours: u64,
    /// Mark session cookies `Secure`; by default, when the console is not on loopback.
    pub secure_cookies: Option<bool>,
    /// `text` or `json` log lines.
    pub log_format: String,
}

/// A listening address, or `off`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Listen {
    /// Not listening.
    Off,
    /// Listening here.
    On(SocketAddr),
}

impl TryFrom<String> for Listen {
    type Error = String;
    fn try_from(text: String) -> Result<Self, String> {
        if text.is_empty() || text == "off" {
            return Ok(Listen::Off);
        }
        text.parse()
            .map(Listen::On)
            .map_err(|e| format!("{text:?} is not an address (host:port) nor `off`: {e}"))
    }
}

impl From<Listen> for String {
    fn from(listen: Listen) -> String {
        match listen {
            Listen::Off => "off".into(),
            Listen::On(addr) => addr.to_string(),
        }
    }
}

/// A file to follow.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TailSpec {
    /// Its path.
    pub path: PathBuf,
    /// Its format; detected from its first lines when absent.
    pub format: Option<String>,
}

impl Default for Config {
    fn default() -> Self {
        let loopback = |port| SocketAddr::from(([127, 0, 0, 1], port));
        Self {
            data_dir: PathBuf::from("./dozor-data"),
            listen_http: loopback(8080),
            listen_syslog_udp: Listen::On(loopback(5514)),
            listen_syslog_tcp: Listen::On(loopback(5514)),
            listen_syslog_tls: Listen::Off,
            tls_cert: None,
            tls_key: None,
            database: None,
            tail: Vec::new(),
            rules: Vec::new(),
            lists: Vec::new(),
            no_builtin: false,
            incident_window_secs: 3600,
            learning_hours: 7 * 24,
            retention_days: 30,
            max_record: dozor_collect::DEFAULT_MAX_RECORD,
            queue_capacity: 1024,
            max_journal_lag: 1 << 30,
            node: "local".into(),
            demo: false,
            admin_password: None,
            session_hours: 12,
            secure_cookies: None,
            log_format: "text".into(),
        }
    }
}

impl Config {
    /// Reads the settings: defaults, `file` (or `./dozor.toml` when it exists), the
    /// `DOZOR_*` environment, then `overrides` (the flags that were given).
    pub fn load(
        file: Option<&Path>,
        overrides: serde_json::Value,
    ) -> Result<Self, Box<figment::Error>> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        figment = match file {
            Some(path) => figment.merge(Toml::file_exact(path)),
            None => figment.merge(Toml::file("dozor.toml")),
        };
        figment
            .merge(Env::prefixed("DOZOR_"))
            .merge(Serialized::defaults(overrides))
            .extract()
            .map_err(Box::new)
    }

    /// The database URL: the configured one, or SQLite in the data directory.
    pub fn database_url(&self) -> String {
        match &self.database {
            Some(url) => url.clone(),
            None => format!(
                "sqlite://{}?mode=rwc",
                self.data_dir.join("dozor.db").display()
            ),
        }
    }

    /// Whether session cookies carry `Secure`.
    pub fn cookies_secure(&self) -> bool {
        self.secure_cookies
            .unwrap_or_else(|| !self.listen_http.ip().is_loopback())
    }
}

#[cfg(test)]
// figment's test jail returns its (large) error type by value.
#[allow(clippy::result_large_err)]
mod tests {
    use super::*;

    #[test]
    fn file_then_environment_then_flags() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "dozor.toml",
                "listen_http = \"127.0.0.1:9000\"\nretention_days = 7\nlisten_syslog_udp = \"off\"\n",
            )?;
            jail.set_env("DOZOR_RETENTION_DAYS", "3");
            jail.set_env("DOZOR_NODE", "east");
            let config = Config::load(None, serde_json::json!({"node": "west"})).map_err(|e| *e)?;
            assert_eq!(config.listen_http.port(), 9000);
            assert_eq!(config.retention_days, 3);
            assert_eq!(config.node, "west");
            assert_eq!(config.listen_syslog_udp, Listen::Off);
            assert_eq!(config.data_dir, PathBuf::from("./dozor-data"));
            Ok(())
        });
    }

    #[test]
    fn bad_address_is_an_error() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("DOZOR_LISTEN_SYSLOG_TCP", "nowhere");
            assert!(Config::load(None, serde_json::json!({})).is_err());
            Ok(())
        });
    }
}
