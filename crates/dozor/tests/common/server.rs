//! Running `dozor serve` from tests: on ephemeral ports with a fresh data directory,
//! talking to it over its real listeners and API.

use std::io::Write;
use std::net::{TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// The admin password the tests give the server.
pub const PASSWORD: &str = "test-password-1";

/// A running `dozor serve`.
pub struct Server {
    child: Option<Child>,
    /// Its data directory.
    pub data_dir: PathBuf,
    /// Its database URL, if not the default.
    pub database: Option<String>,
    extra: Vec<String>,
    /// `http://host:port`.
    pub base: String,
    /// Syslog UDP address.
    pub udp: String,
    /// Syslog TCP address.
    pub tcp: String,
    /// Syslog TLS address, when asked for.
    pub tls: Option<String>,
    token: Option<String>,
}

/// The local PostgreSQL server the tests use: `DOZOR_TEST_POSTGRES`, or the local one.
fn postgres_admin_url() -> String {
    std::env::var("DOZOR_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// A PostgreSQL database made for one test, dropped when the test ends.
pub struct TestDatabase {
    /// Its URL.
    pub url: String,
    name: String,
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let _ = Command::new("psql")
            .args([
                postgres_admin_url().as_str(),
                "-qc",
                &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
            ])
            .output();
    }
}

/// A new, empty PostgreSQL database, made with `psql`, or `None` with a note when no
/// server answers outside CI. In CI an absent server fails the test.
pub fn fresh_postgres() -> Option<TestDatabase> {
    let admin = postgres_admin_url();
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let name = format!("dozor_serve_{}_{nanos}", std::process::id());
    let name = name.replace(|c: char| !c.is_ascii_alphanumeric() && c != '_', "_");
    let created = Command::new("psql")
        .args([
            admin.as_str(),
            "-v",
            "ON_ERROR_STOP=1",
            "-qc",
            &format!("CREATE DATABASE {name}"),
        ])
        .output();
    match created {
        Ok(out) if out.status.success() => {
            let (base, _) = admin.rsplit_once('/').expect("URL names a database");
            Some(TestDatabase {
                url: format!("{base}/{name}"),
                name,
            })
        }
        other => {
            let why = match other {
                Ok(out) => String::from_utf8_lossy(&out.stderr).into_owned(),
                Err(e) => e.to_string(),
            };
            assert!(
                std::env::var("CI").map_or(true, |v| v != "true"),
                "PostgreSQL at {admin} is required in CI: {why}"
            );
            eprintln!("skipping: no PostgreSQL at {admin}: {why}");
            None
        }
    }
}

impl Server {
    /// Starts a server on `data_dir` (SQLite there unless `database` is given).
    pub fn start(data_dir: &Path, database: Option<&str>, extra: &[&str]) -> Server {
        let mut server = Server {
            child: None,
            data_dir: data_dir.to_owned(),
            database: database.map(str::to_owned),
            extra: extra.iter().map(|s| (*s).to_owned()).collect(),
            base: String::new(),
            udp: String::new(),
            tcp: String::new(),
            tls: None,
            token: None,
        };
        server.spawn();
        server
    }

    fn spawn(&mut self) {
        let listening = self.data_dir.join("listening.json");
        let _ = std::fs::remove_file(&listening);
        let mut command = Command::new(env!("CARGO_BIN_EXE_dozor"));
        command
            .arg("serve")
            .arg("--data-dir")
            .arg(&self.data_dir)
            .args([
                "--listen-http",
                "127.0.0.1:0",
                "--listen-syslog-udp",
                "127.0.0.1:0",
            ])
            .args(["--listen-syslog-tcp", "127.0.0.1:0"])
            .args(&self.extra)
            .env("DOZOR_ADMIN_PASSWORD", PASSWORD)
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(Stdio::from(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(self.data_dir.with_extension("log"))
                    .expect("log file"),
            ));
        if let Some(database) = &self.database {
            command.arg("--database").arg(database);
        }
        self.child = Some(command.spawn().expect("dozor serve starts"));
        let deadline = Instant::now() + Duration::from_secs(60);
        let addresses: Value = loop {
            if let Ok(text) = std::fs::read_to_string(&listening)
                && let Ok(value) = serde_json::from_str(&text)
            {
                break value;
            }
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                panic!("dozor serve exited with {status}: {}", self.log());
            }
            assert!(
                Instant::now() < deadline,
                "dozor serve did not start: {}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        };
        let get = |key: &str| addresses[key].as_str().map(str::to_owned);
        self.base = format!("http://{}", get("http").expect("http address"));
        self.udp = get("syslog_udp").unwrap_or_default();
        self.tcp = get("syslog_tcp").unwrap_or_default();
        self.tls = get("syslog_tls");
        self.token = None;
    }

    /// The server's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.data_dir.with_extension("log")).unwrap_or_default()
    }

    /// Stops it with SIGTERM and waits for a clean exit.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
            let deadline = Instant::now() + Duration::from_secs(60);
            loop {
                if let Some(status) = child.try_wait().expect("wait") {
                    assert!(
                        status.success(),
                        "dozor serve exited with {status}: {}",
                        self.log()
                    );
                    return;
                }
                assert!(
                    Instant::now() < deadline,
                    "dozor serve did not stop: {}",
                    self.log()
                );
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }

    /// Kills it with SIGKILL: no chance to flush anything.
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().expect("kill -9");
            let _ = child.wait();
        }
    }

    /// Starts it again on the same data directory and database.
    pub fn restart(&mut self) {
        self.stop();
        self.spawn();
    }

    /// The HTML of console page `path`, fetched in a session opened through the login
    /// form (its CSRF cookie and token) as the admin.
    pub fn console_page(&self, path: &str) -> String {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .build()
            .into();
        let base = &self.base;
        let cookie = |response: &ureq::http::Response<ureq::Body>, name: &str| {
            response
                .headers()
                .get_all("set-cookie")
                .iter()
                .filter_map(|v| v.to_str().ok())
                .find_map(|v| v.strip_prefix(&format!("{name}=")))
                .and_then(|v| v.split(';').next())
                .map(str::to_owned)
                .unwrap_or_else(|| panic!("no {name} cookie"))
        };
        let mut login = agent
            .get(&format!("{base}/login"))
            .call()
            .expect("GET /login");
        let login_csrf = cookie(&login, "dozor_login_csrf");
        let html = login.body_mut().read_to_string().expect("login page");
        let marker = "name=\"csrf\" value=\"";
        let start = html.find(marker).expect("CSRF field") + marker.len();
        let form_csrf = &html[start..start + html[start..].find('"').expect("quote")];
        let logged_in = agent
            .post(&format!("{base}/login"))
            .header("Cookie", &format!("dozor_login_csrf={login_csrf}"))
            .send_form([
                ("username", "admin"),
                ("password", PASSWORD),
                ("csrf", form_csrf),
            ])
            .expect("POST /login");
        let session = cookie(&logged_in, "dozor_session");
        let mut page = agent
            .get(&format!("{base}{path}"))
            .header("Cookie", &format!("dozor_session={session}"))
            .call()
            .expect("GET page");
        assert_eq!(page.status().as_u16(), 200, "{path}");
        page.body_mut().read_to_string().expect("page")
    }

    /// Starts it again after [`Server::kill9`].
    pub fn respawn(&mut self) {
        assert!(self.child.is_none(), "still running");
        self.spawn();
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, Child::id)
    }

    fn agent() -> ureq::Agent {
        ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(120)))
            .build()
            .into()
    }

    /// A bearer token for `admin`.
    pub fn token(&mut self) -> String {
        if let Some(token) = &self.token {
            return token.clone();
        }
        let (status, body) = self.request(
            "POST",
            "/api/v1/auth/token",
            Some(serde_json::json!({"username": "admin", "password": PASSWORD})),
            false,
        );
        assert_eq!(status, 200, "token: {body}");
        let token = body["token"].as_str().expect("token").to_owned();
        self.token = Some(token.clone());
        token
    }

    /// A JSON request; with `auth`, carrying the bearer token. Returns the status and
    /// the JSON body (`null` when not JSON).
    pub fn request(
        &mut self,
        method: &str,
        path: &str,
        body: Option<Value>,
        auth: bool,
    ) -> (u16, Value) {
        let url = format!("{}{path}", self.base);
        let token = if auth { Some(self.token()) } else { None };
        let agent = Self::agent();
        let mut response = match (method, body) {
            ("GET", _) => {
                let mut req = agent.get(&url);
                if let Some(t) = &token {
                    req = req.header("Authorization", &format!("Bearer {t}"));
                }
                req.call()
            }
            (method, body) => {
                let mut req = match method {
                    "POST" => agent.post(&url),
                    "PATCH" => agent.patch(&url),
                    other => panic!("method {other}"),
                };
                if let Some(t) = &token {
                    req = req.header("Authorization", &format!("Bearer {t}"));
                }
                req.send_json(body.unwrap_or(Value::Null))
            }
        }
        .expect("HTTP request");
        let status = response.status().as_u16();
        let text = response.body_mut().read_to_string().unwrap_or_default();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// `GET` with the bearer token; the body must come back with 200.
    pub fn get(&mut self, path: &str) -> Value {
        let (status, body) = self.request("GET", path, None, true);
        assert_eq!(status, 200, "GET {path}: {body}");
        body
    }

    /// Posts raw bytes with the bearer token; returns status and JSON body.
    pub fn post_raw(&mut self, path: &str, content_type: &str, body: &[u8]) -> (u16, Value) {
        let token = self.token();
        let mut response = Self::agent()
            .post(&format!("{}{path}", self.base))
            .header("Authorization", &format!("Bearer {token}"))
            .header("Content-Type", content_type)
            .send(body)
            .expect("HTTP request");
        let status = response.status().as_u16();
        let text = response.body_mut().read_to_string().unwrap_or_default();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// Sends one syslog datagram.
    pub fn send_udp(&self, message: &str) {
        let socket = UdpSocket::bind("127.0.0.1:0").expect("udp socket");
        socket
            .send_to(message.as_bytes(), &self.udp)
            .expect("udp send");
    }

    /// Sends bytes over one syslog TCP connection and closes it.
    pub fn send_tcp(&self, bytes: &[u8]) {
        let mut stream = TcpStream::connect(&self.tcp).expect("tcp connect");
        stream.write_all(bytes).expect("tcp send");
        stream.flush().expect("flush");
    }

    /// Waits until `check` holds for `GET path`, or fails after `seconds`.
    pub fn wait_for(&mut self, path: &str, seconds: u64, check: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + Duration::from_secs(seconds);
        loop {
            let body = self.get(path);
            if check(&body) {
                return body;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting on {path}; last: {body}\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// A metric's value from `/metrics` (summed over its labels matching `labels`).
    pub fn metric(&mut self, name: &str, labels: &str) -> f64 {
        let token = self.token();
        let mut response = Self::agent()
            .get(&format!("{}/metrics", self.base))
            .header("Authorization", &format!("Bearer {token}"))
            .call()
            .expect("metrics");
        let text = response.body_mut().read_to_string().expect("metrics text");
        text.lines()
            .filter(|l| l.starts_with(name) && l.contains(labels))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
