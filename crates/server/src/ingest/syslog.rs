//! Syslog listeners: UDP datagrams, and TCP or TLS streams.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::net::{TcpListener, UdpSocket};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;

use super::framing::{Frame, next_frame};
use super::now_ms;
use crate::journal::{Appender, Kind, Record};
use crate::metrics::{Metrics, Source};

/// Datagrams gathered into one journal append at most.
const UDP_BATCH: usize = 512;

fn record(source: &str, data: &[u8]) -> Record {
    Record {
        kind: Kind::Syslog,
        received: now_ms(),
        source: source.to_owned(),
        format: String::new(),
        data: data.to_vec(),
    }
}

/// Receives syslog datagrams until the socket fails.
pub async fn serve_udp(socket: UdpSocket, appender: Appender, metrics: Arc<Metrics>, max: usize) {
    let labels = Source {
        source: "syslog-udp".into(),
    };
    let mut buf = vec![0u8; 65_536];
    loop {
        let mut records = Vec::new();
        match socket.recv_from(&mut buf).await {
            Ok((n, peer)) => records.push(udp_record(&buf[..n], peer, max)),
            Err(e) => {
                tracing::warn!(error = %e, "syslog UDP receive failed");
                continue;
            }
        }
        while records.len() < UDP_BATCH {
            match socket.try_recv_from(&mut buf) {
                Ok((n, peer)) => records.push(udp_record(&buf[..n], peer, max)),
                Err(_) => break,
            }
        }
        let count = records.len() as u64;
        if appender.try_append(records) {
            metrics.records_in.get_or_create(&labels).inc_by(count);
        } else {
            metrics.records_dropped.get_or_create(&labels).inc_by(count);
        }
    }
}

fn udp_record(datagram: &[u8], peer: SocketAddr, max: usize) -> Record {
    let mut data = datagram;
    while let Some(rest) = data
        .strip_suffix(b"\n")
        .or_else(|| data.strip_suffix(b"\0"))
    {
        data = rest;
    }
    record(
        &format!("syslog-udp {peer}"),
        &data[..data.len().min(max + 1)],
    )
}

/// Accepts syslog TCP connections (plain, or TLS when `tls` is given).
pub async fn serve_tcp(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    appender: Appender,
    metrics: Arc<Metrics>,
    max: usize,
) {
    let transport = if tls.is_some() {
        "syslog-tls"
    } else {
        "syslog-tcp"
    };
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                tracing::warn!(error = %e, "syslog {transport} accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                continue;
            }
        };
        let appender = appender.clone();
        let metrics = metrics.clone();
        let tls = tls.clone();
        tokio::spawn(async move {
            let source = format!("{transport} {peer}");
            let result = match tls {
                Some(acceptor) => match acceptor.accept(stream).await {
                    Ok(stream) => {
                        read_stream(stream, &source, transport, &appender, &metrics, max).await
                    }
                    Err(e) => Err(e),
                },
                None => read_stream(stream, &source, transport, &appender, &metrics, max).await,
            };
            if let Err(e) = result {
                tracing::debug!(peer = %peer, error = %e, "syslog connection ended");
            }
        });
    }
}

/// Reads one connection: frames messages, appends each read's worth to the journal and
/// waits for it to be synced before reading more.
async fn read_stream<S: AsyncRead + Unpin>(
    mut stream: S,
    source: &str,
    transport: &str,
    appender: &Appender,
    metrics: &Metrics,
    max: usize,
) -> std::io::Result<()> {
    let labels = Source {
        source: transport.into(),
    };
    let mut buf: Vec<u8> = Vec::with_capacity(256 * 1024);
    let mut chunk = vec![0u8; 256 * 1024];
    let mut skipping = false;
    loop {
        let n = stream.read(&mut chunk).await?;
        let eof = n == 0;
        buf.extend_from_slice(&chunk[..n]);
        let mut used = 0;
        let mut records: Vec<Record> = Vec::new();
        // Newline-framed messages are joined into one record per read; the syslog
        // reader splits them again.
        let mut lines: Vec<u8> = Vec::new();
        let mut line_count = 0u64;
        if skipping {
            match buf.iter().position(|&b| b == b'\n') {
                Some(at) => {
                    used = at + 1;
                    skipping = false;
                }
                None => used = buf.len(),
            }
        }
        while let Some((frame, n)) = next_frame(&buf[used..], max, eof) {
            let ended = buf[used + n - 1] == b'\n';
            match frame {
                Frame::Message(message) if !message.contains(&b'\n') => {
                    lines.extend_from_slice(message);
                    lines.push(b'\n');
                    line_count += 1;
                }
                Frame::Message(message) => {
                    records.push(record(source, message));
                }
                Frame::Oversize(start) => {
                    records.push(record(source, start));
                    skipping = !ended;
                }
            }
            used += n;
        }
        buf.drain(..used);
        if !lines.is_empty() {
            records.push(record(source, &lines));
        }
        let count = line_count + records.len() as u64 - u64::from(!lines.is_empty());
        if !records.is_empty() {
            appender
                .append(records)
                .await
                .map_err(std::io::Error::other)?;
            metrics.records_in.get_or_create(&labels).inc_by(count);
        }
        if eof {
            return Ok(());
        }
    }
}

/// A TLS acceptor from PEM files.
pub fn tls_acceptor(cert: &Path, key: &Path) -> anyhow::Result<TlsAcceptor> {
    use anyhow::Context;
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};
    let certs = CertificateDer::pem_file_iter(cert)
        .with_context(|| format!("cannot read certificate {}", cert.display()))?
        .collect::<Result<Vec<_>, _>>()
        .with_context(|| format!("bad certificate {}", cert.display()))?;
    let key = PrivateKeyDer::from_pem_file(key)
        .with_context(|| format!("bad private key {}", key.display()))?;
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("TLS protocol versions")?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .context("TLS certificate and key do not match")?;
    Ok(TlsAcceptor::from(Arc::new(config)))
}
