//! Load: one million syslog lines over TCP into `dozor serve`; every one must be
//! counted in and stored. Prints the sustained rates and the peak memory. Ignored by
//! default (it is a measurement); run it with
//! `cargo test --release -p dozor --test load -- --ignored --nocapture`.

mod common;

use std::io::Write;
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::server::Server;

/// Peak resident memory of `pid`, in MiB (VmHWM).
fn peak_rss_mib(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

#[test]
#[ignore = "measurement: run with --ignored --nocapture"]
fn one_million_syslog_lines_over_tcp() {
    const LINES: usize = 1_000_000;
    const CONNECTIONS: usize = 4;
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).expect("data dir");
    let mut server = Server::start(&data, None, &[]);
    let pid = server.pid();
    let tcp = server.tcp.clone();

    let started = Instant::now();
    let senders: Vec<_> = (0..CONNECTIONS)
        .map(|c| {
            let tcp = tcp.clone();
            std::thread::spawn(move || {
                let mut stream = TcpStream::connect(&tcp).expect("connect");
                let mut buf = Vec::with_capacity(1 << 20);
                for i in (c..LINES).step_by(CONNECTIONS) {
                    let client = i % 250;
                    writeln!(
                        buf,
                        "<30>Nov 27 19:25:14 dns{c} dnsmasq[6139]: query[A] host{i}.load.example from 10.1.{}.{client}",
                        c
                    )
                    .expect("format");
                    if buf.len() > (1 << 20) - 256 {
                        stream.write_all(&buf).expect("send");
                        buf.clear();
                    }
                }
                stream.write_all(&buf).expect("send");
            })
        })
        .collect();
    for sender in senders {
        sender.join().expect("sender");
    }
    let sent = started.elapsed();
    let deadline = Instant::now() + Duration::from_secs(900);
    let mut received_at = None;
    loop {
        let received = server.metric("dozor_records_received_total", "source=\"syslog-tcp\"");
        if received_at.is_none() && received >= LINES as f64 {
            received_at = Some(started.elapsed());
        }
        let stored = server.metric("dozor_events_stored_total", "");
        if stored >= LINES as f64 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "stored {stored} of {LINES}; received {received}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let stored_at = started.elapsed();
    let received_at = received_at.unwrap_or(stored_at);
    let total = server.get("/api/v1/events?q=load.example&count=true&limit=1")["total"].as_i64();
    assert_eq!(total, Some(LINES as i64));
    assert_eq!(
        server.metric("dozor_records_received_total", "source=\"syslog-tcp\""),
        LINES as f64
    );
    let rate = |d: Duration| LINES as f64 / d.as_secs_f64();
    println!(
        "load: {LINES} lines over {CONNECTIONS} TCP connections; sent in {:.1} s; received (journaled) in {:.1} s = {:.0} lines/s; stored in {:.1} s = {:.0} events/s; peak RSS {:.0} MiB",
        sent.as_secs_f64(),
        received_at.as_secs_f64(),
        rate(received_at),
        stored_at.as_secs_f64(),
        rate(stored_at),
        peak_rss_mib(pid)
    );
    server.stop();
}
