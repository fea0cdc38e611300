//! `dozor serve` end to end: records arrive over syslog UDP, TCP and TLS, HTTP NDJSON,
//! the Elasticsearch bulk API and a followed file; the four T1102.002 incidents are read
//! back from the API, survive a restart, and nothing acknowledged is lost to kill -9.
//! Run against SQLite and against the local PostgreSQL.

mod common;

use std::io::Write;

use common::server::{Server, fresh_postgres};
use serde_json::{Value, json};

/// A BIND query line as rsyslog forwards it (from the real capture in
/// crates/formats/testdata/syslog/syslog-rfc5424.log).
const BIND_SYSLOG: &str = "<30>1 2026-11-27T19:25:10.790520+00:00 siem-lab named 6137 - -  client @0x7fa46de08098 127.0.0.10#55647 (api.telegram.org): query: api.telegram.org IN A +E(0)K (127.0.0.1)";

/// dnsmasq and TeamCity lines as a syslog relay sends them over TCP: newline framing,
/// then one RFC 6587 octet-counted frame.
fn tcp_stream() -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(
        b"<30>Nov 27 19:25:14 dns1 dnsmasq[6139]: query[A] api.telegram.org from 10.1.2.3\n",
    );
    out.extend_from_slice(b"<134>Nov 27 19:30:01 tc1 teamcity-activities: [2026-11-27 19:30:01,101]   INFO - s.buildServer.ACTIVITIES.AUDIT - server_file_change: File /data/teamcity_server/datadir/config/internal.properties was modified by \"user with id=11\"\n");
    let framed = "<134>Nov 27 19:30:05 tc1 teamcity-activities: [2026-11-27 19:30:05,000]   INFO -   jetbrains.buildServer.ACTIVITIES - External process is launched by user user with id=11. Command line: cmd.exe \"/c whoami\"";
    out.extend_from_slice(format!("{} {framed}", framed.len()).as_bytes());
    out
}

/// A Sysmon network connection (EventID 3) as Winlogbeat 8 ships it: a process outside
/// the Telegram clients connecting to api.telegram.org.
fn winlogbeat_sysmon(record_id: u64) -> Value {
    json!({
        "@timestamp": "2026-11-27T19:40:02.512Z",
        "agent": {"type": "winlogbeat", "version": "8.17.0"},
        "event": {"code": "3", "kind": "event", "provider": "Microsoft-Windows-Sysmon", "module": "sysmon"},
        "host": {"name": "WS-0142.corp.example"},
        "winlog": {
            "channel": "Microsoft-Windows-Sysmon/Operational",
            "computer_name": "WS-0142.corp.example",
            "event_id": "3",
            "provider_name": "Microsoft-Windows-Sysmon",
            "provider_guid": "{5770385f-c22a-43e0-bf4c-06f5698ffbd9}",
            "record_id": record_id,
            "process": {"pid": 3012, "thread": {"id": 4044}},
            "user": {"identifier": "S-1-5-18"},
            "event_data": {
                "RuleName": "-",
                "UtcTime": "2026-11-27 19:40:02.511",
                "ProcessGuid": "{8ff00b45-7da5-5e01-0000-0010b3e00003}",
                "ProcessId": "7788",
                "Image": "C:\\Program Files\\Acme\\agent\\bin\\acme-agent.exe",
                "User": "CORP\\alice",
                "Protocol": "tcp",
                "Initiated": "true",
                "SourceIsIpv6": "false",
                "SourceIp": "10.20.30.142",
                "SourceHostname": "WS-0142.corp.example",
                "SourcePort": "50112",
                "DestinationIsIpv6": "false",
                "DestinationIp": "149.154.167.220",
                "DestinationHostname": "api.telegram.org",
                "DestinationPort": "443",
                "DestinationPortName": "https"
            }
        }
    })
}

/// The reference rules of the four T1102.002 incidents.
const FOUR: [&str; 4] = ["PT-CR-2186", "PT-CR-2201", "PT-CR-1963", "PT-CR-2413"];

fn reference_rules(body: &Value) -> Vec<String> {
    let mut found: Vec<String> = body["incidents"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|i| i["reference_rules"].as_array().cloned().unwrap_or_default())
        .filter_map(|r| {
            r.as_str()
                .and_then(|r| r.split(' ').next())
                .map(str::to_owned)
        })
        .collect();
    found.sort();
    found.dedup();
    found
}

fn has_all_four(body: &Value) -> bool {
    let found = reference_rules(body);
    FOUR.iter().all(|r| found.iter().any(|f| f == r))
}

/// The acceptance flow, on whichever database `database` names.
fn four_incidents(database: Option<&str>) {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).expect("data dir");
    let mut server = Server::start(&data, database, &[]);

    // Unauthenticated calls are refused; health is open.
    assert_eq!(
        server.request("GET", "/api/v1/incidents", None, false).0,
        401
    );
    assert_eq!(server.request("GET", "/api/v1/events", None, false).0, 401);
    assert_eq!(server.request("GET", "/api/v1/rules", None, false).0, 401);
    let (status, health) = server.request("GET", "/api/v1/health", None, false);
    assert_eq!((status, health["status"].as_str()), (200, Some("ok")));

    server.send_udp(BIND_SYSLOG);
    server.send_tcp(&tcp_stream());
    let ndjson = format!("{}\n", winlogbeat_sysmon(1));
    let (status, body) =
        server.post_raw("/api/v1/ingest", "application/x-ndjson", ndjson.as_bytes());
    assert_eq!(
        (status, body["accepted"].as_u64()),
        (200, Some(1)),
        "{body}"
    );

    let started = std::time::Instant::now();
    let incidents = server.wait_for("/api/v1/incidents", 20, has_all_four);
    eprintln!("four incidents after {:?}", started.elapsed());
    let list = incidents["incidents"].as_array().expect("incidents");
    for reference in FOUR {
        let incident = list
            .iter()
            .find(|i| {
                i["rule"]["reference_rule"]
                    .as_str()
                    .is_some_and(|r| r.starts_with(reference))
            })
            .expect("incident");
        assert_eq!(incident["status"], "new");
        assert!(incident["alert_count"].as_i64() >= Some(1));
        assert!(incident["event_count"].as_i64() >= Some(1));
        let techniques: Vec<&str> = incident["techniques"]
            .as_array()
            .expect("techniques")
            .iter()
            .filter_map(|t| t["id"].as_str())
            .collect();
        assert!(techniques.contains(&"T1102.002"), "{incident}");
        assert!(
            !incident["hosts"].as_array().expect("hosts").is_empty(),
            "{incident}"
        );
    }
    let chain = list
        .iter()
        .find(|i| {
            i["rule"]["reference_rule"]
                .as_str()
                .is_some_and(|r| r.starts_with("PT-CR-1963"))
        })
        .expect("TeamCity incident");
    assert_eq!(chain["hosts"][0], "tc1");
    assert_eq!(chain["severity"], "critical");

    // The incident page's data: evidence events with their normalized fields and raw record.
    let id = chain["id"].as_str().expect("id").to_owned();
    let detail = server.get(&format!("/api/v1/incidents/{id}"));
    let evidence = detail["events"].as_array().expect("events");
    assert_eq!(evidence.len(), 2, "{detail}");
    assert_eq!(evidence[0]["event"]["msgid"], "server_file_change");
    assert!(
        evidence[1]["event"]["body"]
            .as_str()
            .expect("raw")
            .contains("External process is launched")
    );

    // Triage through the API.
    let (status, patched) = server.request(
        "PATCH",
        &format!("/api/v1/incidents/{id}"),
        Some(json!({"status": "in_progress", "assignee": "alice", "comment": "debug API abuse on tc1"})),
        true,
    );
    assert_eq!(
        (status, patched["status"].as_str()),
        (200, Some("in_progress")),
        "{patched}"
    );
    let (status, _) = server.request(
        "PATCH",
        &format!("/api/v1/incidents/{id}"),
        Some(json!({"status": "closed"})),
        true,
    );
    assert_eq!(status, 400);
    let (status, _) = server.request(
        "PATCH",
        "/api/v1/incidents/none",
        Some(json!({"status": "resolved"})),
        true,
    );
    assert_eq!(status, 404);

    // Event search by field, by word and over a time range.
    let found = server.get("/api/v1/events?q=object.query%3Dapi.telegram.org&count=true");
    assert_eq!(found["total"], 2, "BIND and dnsmasq lookups: {found}");
    let found =
        server.get("/api/v1/events?q=whoami&from=2026-11-27T19:30:00Z&to=2026-11-27T19:31:00Z");
    assert_eq!(found["count"], 1, "{found}");
    let (status, _) = server.request("GET", "/api/v1/events?from=yesterday", None, true);
    assert_eq!(status, 400);

    // Rules with techniques and test results; the OpenAPI document.
    let rules = server.get("/api/v1/rules");
    let bind_rule = rules["rules"]
        .as_array()
        .expect("rules")
        .iter()
        .find(|r| {
            r["reference_rule"]
                .as_str()
                .is_some_and(|x| x.starts_with("PT-CR-2186"))
        })
        .expect("BIND rule");
    assert!(
        bind_rule["tests_passed"].as_u64() > Some(0) && bind_rule["tests_failed"] == 0,
        "{bind_rule}"
    );
    assert_eq!(
        bind_rule["techniques"][0]["name"],
        "Bidirectional Communication"
    );
    let openapi = server.get("/api/v1/openapi.json");
    assert!(openapi["paths"]["/api/v1/incidents/{id}"]["patch"].is_object());

    // Metrics count what came in, per transport and format.
    assert_eq!(
        server.metric("dozor_records_received_total", "source=\"syslog-udp\""),
        1.0
    );
    assert_eq!(
        server.metric("dozor_records_received_total", "source=\"syslog-tcp\""),
        3.0
    );
    assert_eq!(
        server.metric("dozor_events_normalized_total", "format=\"json\""),
        1.0
    );
    assert!(server.metric("dozor_alerts_total", "") >= 4.0);

    // After a restart the incidents, their triage and their evidence are still there.
    let before: Vec<String> = list
        .iter()
        .filter_map(|i| i["id"].as_str().map(str::to_owned))
        .collect();
    server.restart();
    let after = server.get("/api/v1/incidents");
    assert!(has_all_four(&after), "{after}");
    let mut ids: Vec<String> = after["incidents"]
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|i| i["id"].as_str().map(str::to_owned))
        .collect();
    let mut expected = before.clone();
    ids.sort();
    expected.sort();
    assert_eq!(
        ids, expected,
        "no incident lost or duplicated by the restart"
    );
    let detail = server.get(&format!("/api/v1/incidents/{id}"));
    assert_eq!(detail["status"], "in_progress");
    assert_eq!(detail["assignee"], "alice");
    assert_eq!(detail["notes"].as_array().map(Vec::len), Some(3));
    assert_eq!(detail["events"].as_array().map(Vec::len), Some(2));
    server.stop();
}

#[test]
fn four_t1102_002_incidents_on_sqlite_survive_restart() {
    four_incidents(None);
}

#[test]
fn four_t1102_002_incidents_on_postgres_survive_restart() {
    let Some(database) = fresh_postgres() else {
        return;
    };
    four_incidents(Some(&database.url));
}

/// A BIND query log line (the `queries` channel layout of the real BIND 9 logs in
/// crates/formats/testdata/bind) for a unique name.
fn bind_line(i: usize, tag: &str) -> String {
    format!(
        "27-Nov-2026 19:25:10.790 queries: info: client @0x7fa46de08098 127.0.0.10#55647 (q{i}.{tag}.example): query: q{i}.{tag}.example IN A +E(0)K (127.0.0.1)"
    )
}

#[test]
fn acknowledged_records_survive_kill_9() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).expect("data dir");
    let mut server = Server::start(&data, None, &[]);

    // HTTP: 40 requests of 50 lines, each acknowledged only once synced.
    let mut sent = 0;
    for request in 0..40 {
        let body: String = (0..50)
            .map(|i| bind_line(request * 50 + i, "viahttp") + "\n")
            .collect();
        let (status, answer) =
            server.post_raw("/api/v1/ingest?format=bind", "text/plain", body.as_bytes());
        assert_eq!((status, answer["accepted"].as_u64()), (200, Some(50)));
        sent += 50;
    }
    // TCP: 1,000 syslog lines; once the server counts them in, they are on disk.
    let tcp: String = (0..1000)
        .map(|i| format!("<30>Nov 27 19:25:14 dns1 dnsmasq[6139]: query[A] t{i}.viatcp.example from 10.1.2.3\n"))
        .collect();
    server.send_tcp(tcp.as_bytes());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while server.metric("dozor_records_received_total", "source=\"syslog-tcp\"") < 1000.0 {
        assert!(
            std::time::Instant::now() < deadline,
            "TCP lines not received"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    // Then one large request, killed as soon as it is acknowledged: the pipeline is
    // still storing it, so the restart must replay the journal.
    let big: String = (0..100_000)
        .map(|i| bind_line(2000 + i, "viahttp") + "\n")
        .collect();
    let (status, answer) =
        server.post_raw("/api/v1/ingest?format=bind", "text/plain", big.as_bytes());
    assert_eq!((status, answer["accepted"].as_u64()), (200, Some(100_000)));
    sent += 100_000;
    server.kill9();
    server.respawn();
    let count = |server: &mut Server, word: &str| {
        server.get(&format!("/api/v1/events?q={word}&count=true&limit=1"))["total"].as_i64()
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while count(&mut server, "viahttp.example") != Some(sent as i64)
        || count(&mut server, "viatcp.example") != Some(1000)
    {
        assert!(
            std::time::Instant::now() < deadline,
            "records lost after kill -9: http {:?}/{sent}, tcp {:?}/1000",
            count(&mut server, "viahttp.example"),
            count(&mut server, "viatcp.example")
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(
        server.log().contains("journal replayed"),
        "the kill came after the pipeline had stored everything: {}",
        server.log()
    );
    // Replaying the journal did not store anything twice.
    server.restart();
    assert_eq!(count(&mut server, "viahttp.example"), Some(sent as i64));
    assert_eq!(count(&mut server, "viatcp.example"), Some(1000));
}

#[test]
fn bulk_api_basic_auth_tls_and_tailing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).expect("data dir");
    // A self-signed certificate for the TLS listener.
    let cert =
        rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).expect("certificate");
    let cert_path = dir.path().join("cert.pem");
    let key_path = dir.path().join("key.pem");
    std::fs::write(&cert_path, cert.cert.pem()).expect("cert");
    std::fs::write(&key_path, cert.signing_key.serialize_pem()).expect("key");
    let tailed = dir.path().join("named-queries.log");
    std::fs::write(&tailed, format!("{}\n", bind_line(0, "tailed"))).expect("tailed file");
    let mut server = Server::start(
        &data,
        None,
        &[
            "--listen-syslog-tls",
            "127.0.0.1:0",
            "--tls-cert",
            cert_path.to_str().expect("path"),
            "--tls-key",
            key_path.to_str().expect("path"),
            "--tail",
            tailed.to_str().expect("path"),
        ],
    );

    // Elasticsearch clients: GET / with Basic credentials, then _bulk.
    let basic = base64_basic("admin", common::server::PASSWORD);
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let mut info = agent
        .get(&format!("{}/", server.base))
        .header("Authorization", &basic)
        .call()
        .expect("GET /");
    assert_eq!(info.status().as_u16(), 200);
    let info: Value = info.body_mut().read_json().expect("json");
    assert!(
        info["version"]["number"]
            .as_str()
            .is_some_and(|v| v.starts_with('8'))
    );
    let wrong = agent
        .get(&format!("{}/", server.base))
        .header("Authorization", &base64_basic("admin", "nope"))
        .call()
        .expect("GET /");
    assert_eq!(wrong.status().as_u16(), 401);
    let bulk = format!(
        "{{\"create\":{{\"_index\":\"winlogbeat-8.17.0\"}}}}\n{}\n{{\"create\":{{}}}}\n{}\n",
        winlogbeat_sysmon(7),
        winlogbeat_sysmon(8)
    );
    let mut answer = agent
        .post(&format!("{}/_bulk", server.base))
        .header("Authorization", &basic)
        .header("Content-Type", "application/x-ndjson")
        .send(bulk.as_bytes())
        .expect("_bulk");
    assert_eq!(answer.status().as_u16(), 200);
    let answer: Value = answer.body_mut().read_json().expect("json");
    assert_eq!(answer["errors"], false, "{answer}");
    assert_eq!(answer["items"].as_array().map(Vec::len), Some(2));
    assert_eq!(answer["items"][0]["create"]["status"], 201);

    // Vector's syslog JSON over the ingest API: the message goes to named's parser.
    let vector = r#"{"appname":"named","hostname":"ns9","message":"client @0x7fa46de08098 10.9.9.8#55647 (viavector.example): query: viavector.example IN A +E(0)K (127.0.0.1)","timestamp":"2026-11-27T19:25:10.790Z","source_type":"syslog"}"#;
    let (status, _) = server.post_raw("/api/v1/ingest", "application/x-ndjson", vector.as_bytes());
    assert_eq!(status, 200);

    // Syslog over TLS, octet-counted.
    let tls_addr = server.tls.clone().expect("TLS listener");
    send_tls(
        &tls_addr,
        &cert_path,
        "<30>Nov 27 19:25:14 dns2 dnsmasq[6139]: query[A] overtls.example from 10.9.9.9",
    );

    // The followed file grows, is rotated, and the new file grows.
    append(&tailed, &bind_line(1, "tailed"));
    std::fs::rename(&tailed, dir.path().join("named-queries.log.1")).expect("rotate");
    append(
        &dir.path().join("named-queries.log.1"),
        &bind_line(2, "tailed"),
    );
    std::fs::write(&tailed, format!("{}\n", bind_line(3, "tailed"))).expect("new file");
    append(&tailed, &bind_line(4, "tailed"));

    let total = |server: &mut Server, q: &str| {
        server.get(&format!("/api/v1/events?q={q}&count=true&limit=1"))["total"]
            .as_i64()
            .unwrap_or(0)
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let (bulk, tls, tail, vector) = (
            total(&mut server, "event_src.host=ws-0142.corp.example"),
            total(&mut server, "overtls.example"),
            total(&mut server, "tailed.example"),
            total(
                &mut server,
                "object.query=viavector.example%20event_src.host=ns9",
            ),
        );
        if (bulk, tls, tail, vector) == (2, 1, 5, 1) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "bulk {bulk}/2, tls {tls}/1, tail {tail}/5, vector {vector}/1\n{}",
            server.log()
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(
        server.metric("dozor_records_received_total", "source=\"syslog-tls\""),
        1.0
    );
    server.stop();
}

fn append(path: &std::path::Path, line: &str) {
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(path)
        .expect("open");
    writeln!(file, "{line}").expect("append");
}

fn base64_basic(user: &str, password: &str) -> String {
    use base64::Engine as _;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
    )
}

fn send_tls(addr: &str, cert: &std::path::Path, message: &str) {
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls::pki_types::CertificateDer::pem_file_iter(cert).expect("pem") {
        roots.add(cert.expect("cert")).expect("root");
    }
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    let name = rustls::pki_types::ServerName::try_from("localhost").expect("name");
    let conn = rustls::ClientConnection::new(std::sync::Arc::new(config), name).expect("client");
    let sock = std::net::TcpStream::connect(addr).expect("connect");
    let mut tls = rustls::StreamOwned::new(conn, sock);
    tls.write_all(format!("{} {message}", message.len()).as_bytes())
        .expect("send");
    tls.flush().expect("flush");
    tls.conn.send_close_notify();
    let _ = tls.flush();
}

/// The value after `marker` up to the next `"`.
fn quoted_after<'a>(text: &'a str, marker: &str) -> &'a str {
    let start = text
        .find(marker)
        .map(|i| i + marker.len())
        .expect("marker present");
    let end = text[start..].find('"').expect("closing quote");
    &text[start..start + end]
}

fn cookie_value(response: &ureq::http::Response<ureq::Body>, name: &str) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .map(|v| {
            v[name.len() + 1..]
                .split(';')
                .next()
                .unwrap_or("")
                .to_owned()
        })
}

#[test]
fn console_sessions_csrf_and_login_limit() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).expect("data dir");
    let mut server = Server::start(&data, None, &[]);
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .build()
        .into();
    let base = server.base.clone();

    // Pages need a session.
    let page = agent.get(&format!("{base}/incidents")).call().expect("GET");
    assert_eq!(page.status().as_u16(), 303);
    assert!(
        page.headers()["location"]
            .to_str()
            .expect("location")
            .starts_with("/login")
    );

    // Log in through the form: it carries a CSRF token tied to a cookie.
    let mut login = agent
        .get(&format!("{base}/login"))
        .call()
        .expect("GET /login");
    let login_cookie = cookie_value(&login, "dozor_login_csrf").expect("login CSRF cookie");
    let html = login.body_mut().read_to_string().expect("html");
    let form_csrf = quoted_after(&html, "name=\"csrf\" value=\"").to_owned();
    let without_cookie = agent
        .post(&format!("{base}/login"))
        .send_form([
            ("username", "admin"),
            ("password", common::server::PASSWORD),
            ("csrf", form_csrf.as_str()),
        ])
        .expect("POST /login");
    assert_eq!(
        without_cookie.status().as_u16(),
        403,
        "a form without its cookie is refused"
    );
    let logged_in = agent
        .post(&format!("{base}/login"))
        .header("Cookie", &format!("dozor_login_csrf={login_cookie}"))
        .send_form([
            ("username", "admin"),
            ("password", common::server::PASSWORD),
            ("csrf", form_csrf.as_str()),
        ])
        .expect("POST /login");
    assert_eq!(logged_in.status().as_u16(), 303);
    let set_cookie: Vec<String> = logged_in
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok().map(str::to_owned))
        .collect();
    let session_line = set_cookie
        .iter()
        .find(|c| c.starts_with("dozor_session="))
        .expect("session cookie");
    assert!(
        session_line.contains("HttpOnly") && session_line.contains("SameSite=Strict"),
        "{session_line}"
    );
    let session = cookie_value(&logged_in, "dozor_session").expect("session");
    let cookie = format!("dozor_session={session}");

    // The session's CSRF token is in every page; changes without it are refused.
    let mut incidents = agent
        .get(&format!("{base}/incidents"))
        .header("Cookie", &cookie)
        .call()
        .expect("GET");
    assert_eq!(incidents.status().as_u16(), 200);
    let html = incidents.body_mut().read_to_string().expect("html");
    let csrf = quoted_after(&html, "\"X-CSRF-Token\": \"").to_owned();
    let patch = |token: Option<&str>| {
        let mut req = agent
            .patch(&format!("{base}/api/v1/incidents/none"))
            .header("Cookie", &cookie);
        if let Some(token) = token {
            req = req.header("X-CSRF-Token", token);
        }
        req.send_json(json!({"status": "resolved"}))
            .expect("PATCH")
            .status()
            .as_u16()
    };
    assert_eq!(patch(None), 403);
    assert_eq!(patch(Some("forged")), 403);
    assert_eq!(
        patch(Some(&csrf)),
        404,
        "with the token the request goes through (and finds no incident)"
    );
    let form = agent
        .post(&format!("{base}/incidents/none/update"))
        .header("Cookie", &cookie)
        .send_form([("csrf", "forged"), ("comment", "x")])
        .expect("POST");
    assert_eq!(form.status().as_u16(), 403);

    // Logging out ends the session.
    let out = agent
        .post(&format!("{base}/logout"))
        .header("Cookie", &cookie)
        .send_form([("csrf", csrf.as_str())])
        .expect("logout");
    assert_eq!(out.status().as_u16(), 303);
    let after = agent
        .get(&format!("{base}/api/v1/incidents"))
        .header("Cookie", &cookie)
        .call()
        .expect("GET");
    assert_eq!(after.status().as_u16(), 401);

    // Five failed logins from one address, then even the right password waits.
    let credentials = |password: &str| json!({"username": "admin", "password": password});
    for _ in 0..5 {
        assert_eq!(
            server
                .request(
                    "POST",
                    "/api/v1/auth/token",
                    Some(credentials("wrong")),
                    false
                )
                .0,
            401
        );
    }
    assert_eq!(
        server
            .request(
                "POST",
                "/api/v1/auth/token",
                Some(credentials("wrong")),
                false
            )
            .0,
        429
    );
    assert_eq!(
        server
            .request(
                "POST",
                "/api/v1/auth/token",
                Some(credentials(common::server::PASSWORD)),
                false
            )
            .0,
        429
    );
    server.stop();
}

#[test]
fn bad_input_is_counted_and_kept_and_the_good_records_around_it_are_stored() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).expect("data dir");
    let mut server = Server::start(&data, None, &[]);
    let good = |name: &str| {
        format!("<30>Nov 27 19:25:14 dns1 dnsmasq[6139]: query[A] {name}.example from 10.1.2.3\n")
    };

    // One TCP connection: a good line, binary garbage, invalid UTF-8, a 2 MiB line
    // (over the 1 MiB record limit), and a good line again.
    let mut stream = good("goodbefore").into_bytes();
    stream.extend_from_slice(b"<30>Nov 27 19:25:14 dns1 dnsmasq[6139]: \x00\x01\x02\x1b[binary\n");
    stream.extend_from_slice(
        b"<30>Nov 27 19:25:14 dns1 dnsmasq[6139]: query[A] \xff\xfe.example from 10.1.2.3\n",
    );
    stream.extend(std::iter::repeat_n(b'A', 2 * 1024 * 1024));
    stream.push(b'\n');
    stream.extend_from_slice(good("goodafter").as_bytes());
    server.send_tcp(&stream);
    // A UDP datagram of garbage, and an HTTP body no format recognises.
    server.send_udp("\u{1}\u{2}\u{3} not syslog at all \u{7f}");
    let (status, _) = server.post_raw("/api/v1/ingest", "text/plain", b"\x00\x01 no format\n");
    assert_eq!(
        status, 200,
        "accepted, then rejected by the pipeline and kept"
    );
    let (status, body) = server.post_raw("/api/v1/ingest?format=nope", "text/plain", b"x\n");
    assert_eq!(status, 400, "{body}");

    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let stored = ["goodbefore", "goodafter"].map(|name| {
            server.get(&format!(
                "/api/v1/events?q=object.query={name}.example&count=true&limit=1"
            ))["total"]
                .as_i64()
                .unwrap_or(0)
        });
        let rejects = server.metric("dozor_rejects_total", "");
        if stored == [1, 1] && rejects >= 5.0 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "stored {stored:?}, rejects {rejects}\n{}",
            server.log()
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(
        server.metric("dozor_rejects_total", "source=\"syslog-tcp\""),
        3.0
    );
    assert_eq!(
        server.metric("dozor_rejects_total", "source=\"syslog-udp\""),
        1.0
    );
    assert_eq!(
        server.metric("dozor_rejects_total", "format=\"unrecognised\""),
        1.0
    );

    // Every reject is kept with its reason, the transport and (a prefix of) the record.
    let kept = std::fs::read_to_string(data.join("rejects.ndjson")).expect("rejects kept");
    let kept: Vec<Value> = kept
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect();
    assert_eq!(kept.len(), 5, "{kept:?}");
    for reject in &kept {
        assert!(
            reject["reason"].as_str().is_some_and(|r| !r.is_empty()),
            "{reject}"
        );
        assert!(reject["transport"].as_str().is_some(), "{reject}");
    }
    let oversize = kept
        .iter()
        .find(|r| r["len"].as_u64() > Some(1024 * 1024))
        .expect("the long line");
    assert_eq!(oversize["transport"], "syslog-tcp");
    let (status, health) = server.request("GET", "/api/v1/health", None, false);
    assert_eq!((status, health["status"].as_str()), (200, Some("ok")));
    server.stop();
}
