//! Following files as they grow. Each file is polled by a thread of its own; a
//! rotation (the path now names another file) is noticed, the old file is read to its
//! end, and the new one is read from its start; a truncated file is read again from
//! its start. Read offsets are saved after each journal append, so a restart resumes
//! where the journal stopped.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::runtime::Handle;

use super::now_ms;
use crate::config::TailSpec;
use crate::journal::{Appender, Kind, Record};
use crate::metrics::{Metrics, Source};

/// How often a file is polled.
const POLL: Duration = Duration::from_millis(250);
/// The most bytes read per poll.
const CHUNK: usize = 4 * 1024 * 1024;

#[derive(Debug, Default, Serialize, Deserialize, PartialEq)]
struct Saved {
    inode: u64,
    offset: u64,
}

/// A followed file.
pub struct Tailer {
    path: PathBuf,
    state_path: PathBuf,
    format: String,
    file: Option<(File, u64)>,
    offset: u64,
    partial: Vec<u8>,
    max: usize,
}

impl Tailer {
    /// Follows `spec`, keeping its offset under `state_dir`.
    pub fn new(spec: &TailSpec, state_dir: &Path, max: usize) -> Self {
        let key = crate::auth::token_hash(&spec.path.display().to_string());
        Self {
            path: spec.path.clone(),
            state_path: state_dir.join(format!("{}.json", &key[..16])),
            format: spec.format.clone().unwrap_or_default(),
            file: None,
            offset: 0,
            partial: Vec::new(),
            max,
        }
    }

    fn saved(&self) -> Option<Saved> {
        let text = std::fs::read_to_string(&self.state_path).ok()?;
        serde_json::from_str(&text).ok()
    }

    fn save(&self) {
        if let Some((_, inode)) = &self.file {
            let saved = Saved {
                inode: *inode,
                offset: self.offset - self.partial.len() as u64,
            };
            if let Ok(text) = serde_json::to_string(&saved) {
                let tmp = self.state_path.with_extension("tmp");
                if std::fs::write(&tmp, text)
                    .and_then(|()| std::fs::rename(&tmp, &self.state_path))
                    .is_err()
                {
                    tracing::warn!(path = %self.state_path.display(), "cannot save tail offset");
                }
            }
        }
    }

    /// Opens the file if it is not open; resumes at the saved offset of the same file.
    fn open(&mut self) -> std::io::Result<()> {
        if self.file.is_some() {
            return Ok(());
        }
        let mut file = File::open(&self.path)?;
        let meta = file.metadata()?;
        let inode = meta.ino();
        self.offset = match self.saved() {
            Some(saved) if saved.inode == inode && saved.offset <= meta.len() => saved.offset,
            _ => 0,
        };
        file.seek(SeekFrom::Start(self.offset))?;
        self.partial.clear();
        self.file = Some((file, inode));
        Ok(())
    }

    /// Reads what was added since the last poll: the complete lines.
    fn read_new(&mut self) -> std::io::Result<Vec<u8>> {
        let Some((file, _)) = self.file.as_mut() else {
            return Ok(Vec::new());
        };
        if file.metadata()?.len() < self.offset {
            // Truncated in place: start over.
            file.seek(SeekFrom::Start(0))?;
            self.offset = 0;
            self.partial.clear();
        }
        let mut buf = Vec::new();
        file.take(CHUNK as u64).read_to_end(&mut buf)?;
        self.offset += buf.len() as u64;
        self.partial.extend_from_slice(&buf);
        let Some(end) = self.partial.iter().rposition(|&b| b == b'\n') else {
            if self.partial.len() > self.max {
                // A line longer than the limit: hand it over so it is rejected, counted and kept.
                return Ok(std::mem::take(&mut self.partial));
            }
            return Ok(Vec::new());
        };
        let rest = self.partial.split_off(end + 1);
        Ok(std::mem::replace(&mut self.partial, rest))
    }

    /// Whether the path now names another file than the one open.
    fn rotated(&self) -> bool {
        match (&self.file, std::fs::metadata(&self.path)) {
            (Some((_, inode)), Ok(meta)) => meta.ino() != *inode,
            (Some(_), Err(_)) => true,
            (None, _) => false,
        }
    }

    /// Appends `data` to the journal, counts its lines and saves the offset; `false`
    /// when the journal is closed.
    fn hand_over(
        &self,
        data: Vec<u8>,
        source: &str,
        appender: &Appender,
        handle: &Handle,
        metrics: &Metrics,
        labels: &Source,
    ) -> bool {
        let lines = data.iter().filter(|&&b| b == b'\n').count().max(1) as u64;
        let record = Record {
            kind: Kind::Lines,
            received: now_ms(),
            source: source.to_owned(),
            format: self.format.clone(),
            data,
        };
        if handle.block_on(appender.append(vec![record])).is_err() {
            return false;
        }
        metrics.records_in.get_or_create(labels).inc_by(lines);
        self.save();
        true
    }

    /// Polls until `stop` is set.
    pub fn run(
        mut self,
        appender: Appender,
        metrics: Arc<Metrics>,
        handle: Handle,
        stop: Arc<AtomicBool>,
    ) {
        let labels = Source {
            source: "tail".into(),
        };
        let source = format!("tail {}", self.path.display());
        while !stop.load(Ordering::Relaxed) {
            if let Err(e) = self.open() {
                tracing::debug!(path = %self.path.display(), error = %e, "waiting for file");
                std::thread::sleep(POLL);
                continue;
            }
            let rotated = self.rotated();
            loop {
                let data = match self.read_new() {
                    Ok(data) => data,
                    Err(e) => {
                        tracing::warn!(path = %self.path.display(), error = %e, "read failed");
                        break;
                    }
                };
                if data.is_empty() {
                    break;
                }
                if self.format.is_empty() {
                    self.format = dozor_formats::detect(&data)
                        .map(|f| f.name().to_owned())
                        .unwrap_or_default();
                }
                if !self.hand_over(data, &source, &appender, &handle, &metrics, &labels) {
                    return;
                }
            }
            if rotated {
                tracing::info!(path = %self.path.display(), "file rotated; following the new one");
                let rest = std::mem::take(&mut self.partial);
                if !rest.is_empty()
                    && !self.hand_over(rest, &source, &appender, &handle, &metrics, &labels)
                {
                    return;
                }
                self.file = None;
                let _ = std::fs::remove_file(&self.state_path);
                continue;
            }
            std::thread::sleep(POLL);
        }
    }
}
