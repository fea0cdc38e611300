//! `dozor export blocklist` checked by the programs that use its output: BIND loads the
//! response-policy zone and answers NXDOMAIN for a listed name and the real address for
//! its neighbour; dnsmasq accepts the lines and does the same; Squid parses the ACL.
//! The programs come from Debian's bind9, dnsutils, dnsmasq-base and squid packages
//! (`.ci/run` installs them); without them the test fails.

mod common;

use std::io::{BufRead, BufReader};
use std::net::UdpSocket;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// A daemon that is killed when the test ends, pass or fail.
struct Daemon(Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The path of `name`, from PATH or /usr/sbin; a missing program fails the test.
fn program(name: &str) -> PathBuf {
    let path = std::env::var("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/sbin")])
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!("`{name}` is needed to check the block list (Debian: bind9, dnsutils, dnsmasq-base, squid; .ci/run installs them)")
        })
}

fn export(format: &str, dir: &Path) -> PathBuf {
    let path = dir.join(format!("blocklist.{format}"));
    let output = common::dozor(&[
        "export",
        "blocklist",
        "--format",
        format,
        "--output",
        path.to_str().expect("UTF-8 path"),
    ]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    path
}

/// Waits until `named -g` (foreground, logging to stderr) says it is running, which it
/// says after loading its zones: before that it answers SERVFAIL for a response-policy
/// zone still loading. Its log is drained on a thread until it exits.
fn wait_until_named_runs(named: &mut Child) {
    let stderr = named.stderr.take().expect("named's stderr is piped");
    let (running, said_running) = mpsc::channel();
    std::thread::spawn(move || {
        let mut log = String::new();
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if line.ends_with("running") {
                let _ = running.send(Ok(()));
            }
            log.push_str(&line);
            log.push('\n');
        }
        let _ = running.send(Err(log));
    });
    match said_running.recv_timeout(Duration::from_secs(20)) {
        Ok(Ok(())) => {}
        Ok(Err(log)) => panic!("named exited before running:\n{log}"),
        Err(_) => panic!("named did not say it was running within 20 s"),
    }
}

/// A UDP port that was free a moment ago on loopback.
fn free_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .and_then(|s| s.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// The status and answer section of `name` asked from 127.0.0.1:`port`, once the
/// server answers (waiting up to 20 s for it to start).
fn dig(port: u16, name: &str) -> (String, String) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let output = Command::new(program("dig"))
            .args([
                "@127.0.0.1",
                "-p",
                &port.to_string(),
                "+time=1",
                "+tries=1",
                name,
                "A",
            ])
            .output()
            .expect("dig runs");
        let text = String::from_utf8_lossy(&output.stdout).into_owned();
        if let Some(status) = text
            .split("status: ")
            .nth(1)
            .and_then(|s| s.split(',').next())
        {
            let answer = text
                .lines()
                .filter(|l| !l.starts_with(';') && l.contains("\tA\t"))
                .collect::<Vec<_>>()
                .join("\n");
            return (status.to_owned(), answer);
        }
        assert!(
            Instant::now() < deadline,
            "no answer from port {port}: {text}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn bind_serves_the_response_policy_zone() {
    let dir = tempfile::tempdir().expect("temp dir");
    let zone = export("rpz", dir.path());
    let check = Command::new(program("named-checkzone"))
        .arg("rpz.dozor")
        .arg(&zone)
        .output()
        .expect("named-checkzone runs");
    let said = String::from_utf8_lossy(&check.stdout);
    assert!(check.status.success() && said.contains("OK"), "{said}");

    let port = free_port();
    let run = dir.path();
    std::fs::write(
        run.join("telegram.zone"),
        "$TTL 60\n@ SOA ns.telegram.org. h.telegram.org. 1 60 60 60 60\n@ NS ns\nns A 192.0.2.53\napi A 192.0.2.1\nwww A 192.0.2.2\n",
    )
    .expect("write zone");
    let conf = format!(
        "options {{ directory \"{d}\"; pid-file \"{d}/named.pid\"; session-keyfile \"{d}/session.key\";\n\
         listen-on port {port} {{ 127.0.0.1; }}; listen-on-v6 {{ none; }}; recursion no; notify no;\n\
         dnssec-validation no; response-policy {{ zone \"rpz.dozor\"; }} recursive-only no; }};\n\
         controls {{ }};\n\
         zone \"rpz.dozor\" {{ type primary; file \"{zone}\"; allow-query {{ none; }}; }};\n\
         zone \"telegram.org\" {{ type primary; file \"telegram.zone\"; }};\n",
        d = run.display(),
        zone = zone.display()
    );
    std::fs::write(run.join("named.conf"), conf).expect("write named.conf");
    let mut named = Daemon(
        Command::new(program("named"))
            .args(["-g", "-c"])
            .arg(run.join("named.conf"))
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("named starts"),
    );
    wait_until_named_runs(&mut named.0);
    assert_eq!(dig(port, "www.telegram.org").0, "NOERROR");
    assert_eq!(
        dig(port, "api.telegram.org"),
        ("NXDOMAIN".to_owned(), String::new())
    );
}

#[test]
fn dnsmasq_refuses_the_listed_names() {
    let dir = tempfile::tempdir().expect("temp dir");
    let lines = export("dnsmasq", dir.path());
    let check = Command::new(program("dnsmasq"))
        .arg("--test")
        .arg(format!("--conf-file={}", lines.display()))
        .output()
        .expect("dnsmasq runs");
    let said = String::from_utf8_lossy(&check.stderr);
    assert!(
        check.status.success() && said.contains("syntax check OK"),
        "{said}"
    );

    let port = free_port();
    let _dnsmasq = Daemon(
        Command::new(program("dnsmasq"))
            .args([
                "--keep-in-foreground",
                "--no-resolv",
                "--no-hosts",
                "--bind-interfaces",
                "--listen-address=127.0.0.1",
                "--user=root",
                "--pid-file=",
                "--address=/telegram.org/192.0.2.2",
            ])
            .arg(format!("--port={port}"))
            .arg(format!("--conf-file={}", lines.display()))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("dnsmasq starts"),
    );
    let (status, answer) = dig(port, "www.telegram.org");
    assert_eq!(status, "NOERROR");
    assert!(answer.contains("192.0.2.2"), "{answer}");
    assert_eq!(
        dig(port, "api.telegram.org"),
        ("NXDOMAIN".to_owned(), String::new())
    );
    // `*.ngrok.io` in the list: dnsmasq blocks the whole domain; a name in no
    // `address=` line is refused (no upstream here), not answered NXDOMAIN.
    assert_eq!(dig(port, "abc.ngrok.io").0, "NXDOMAIN");
    assert_eq!(dig(port, "www.example.com").0, "REFUSED");
}

#[test]
fn squid_parses_the_acl() {
    let dir = tempfile::tempdir().expect("temp dir");
    let acl = export("squid", dir.path());
    let text = std::fs::read_to_string(&acl).expect("read");
    assert!(
        text.contains("acl dozor_blocklist dstdomain api.telegram.org\n"),
        "{text}"
    );
    assert!(
        text.contains("acl dozor_blocklist dstdomain .ngrok.io\n"),
        "{text}"
    );
    let conf = dir.path().join("squid.conf");
    std::fs::write(
        &conf,
        format!(
            "include {}\nhttp_access deny all\nhttp_port 127.0.0.1:3128\n",
            acl.display()
        ),
    )
    .expect("write squid.conf");
    let check = Command::new(program("squid"))
        .args(["-k", "parse", "-f"])
        .arg(&conf)
        .output()
        .expect("squid runs");
    let said = String::from_utf8_lossy(&check.stderr);
    assert!(check.status.success(), "{said}");
    assert!(
        said.contains("Processing: http_access deny dozor_blocklist"),
        "{said}"
    );
    for problem in ["ERROR", "WARNING", "FATAL"] {
        assert!(!said.contains(problem), "{said}");
    }
}
