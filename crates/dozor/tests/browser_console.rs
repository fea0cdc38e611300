//! The console in a real browser: Debian's Chromium driven by Playwright
//! (`tests/browser/console.mjs`) logs in, opens a demo incident, changes its status and
//! comments on it; the API then shows the change.

mod common;

use std::path::Path;
use std::process::Command;

use common::server::{PASSWORD, Server};

/// Whether the browser test can run here; in CI it must.
fn browser_ready(dir: &Path) -> bool {
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    let missing: Vec<String> = [
        (
            Path::new(&chromium).exists(),
            format!("{chromium} (apt install chromium)"),
        ),
        (
            Command::new("node")
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success()),
            "node".to_owned(),
        ),
        (
            dir.join("node_modules/playwright-core").is_dir(),
            format!(
                "{}/node_modules/playwright-core (npm ci --prefix {})",
                dir.display(),
                dir.display()
            ),
        ),
    ]
    .into_iter()
    .filter(|(ok, _)| !ok)
    .map(|(_, what)| what)
    .collect();
    if missing.is_empty() {
        return true;
    }
    assert!(
        std::env::var("CI").map_or(true, |v| v != "true"),
        "the browser test needs, in CI: {}",
        missing.join(", ")
    );
    eprintln!("skipping the browser test; missing: {}", missing.join(", "));
    false
}

#[test]
fn console_login_incident_status_and_comment() {
    let browser_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser");
    if !browser_ready(&browser_dir) {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).expect("data dir");
    let mut server = Server::start(&data, None, &["--demo"]);
    server.wait_for("/api/v1/incidents", 20, |body| {
        body["incidents"].as_array().is_some_and(|list| {
            list.iter().any(|i| {
                i["rule"]["reference_rule"]
                    .as_str()
                    .is_some_and(|r| r.starts_with("PT-CR-2186"))
            })
        })
    });
    let shots =
        std::env::var("DOZOR_SCREENSHOTS").map_or_else(|_| dir.path().to_owned(), Into::into);
    let output = Command::new("node")
        .arg(browser_dir.join("console.mjs"))
        .arg(&server.base)
        .arg("admin")
        .arg(PASSWORD)
        .arg(&shots)
        .output()
        .expect("node runs");
    assert!(
        output.status.success(),
        "browser test failed:\n{}\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
        server.log()
    );
    let result: serde_json::Value = serde_json::from_slice(output.stdout.trim_ascii())
        .expect("the script prints the incident id");
    let id = result["incident"].as_str().expect("incident id");
    let incident = server.get(&format!("/api/v1/incidents/{id}"));
    assert_eq!(incident["status"], "in_progress");
    let notes = incident["notes"].as_array().expect("notes");
    assert!(
        notes.iter().any(|n| n["kind"] == "comment"
            && n["body"].as_str().is_some_and(|b| b.contains("isolating")))
    );
    assert!(notes.iter().all(|n| n["author"] == "admin"));

    // The list edited in the browser is in force: a lookup of the added name raises the
    // abused-services rule's incident.
    server.send_udp("<30>1 2026-11-27T19:25:10.790520+00:00 ns1 named 6137 - -  client @0x7fa46de08098 10.7.7.7#55647 (c2.dozor-browser-test.example): query: c2.dozor-browser-test.example IN A +E(0)K (127.0.0.1)");
    server.wait_for("/api/v1/incidents?host=10.7.7.7", 20, |body| {
        body["incidents"].as_array().is_some_and(|list| {
            list.iter()
                .any(|i| i["rule"]["id"] == "3c8b1f60-2e9d-4a57-8f14-d6b0e2a71102")
        })
    });
    server.stop();
}
