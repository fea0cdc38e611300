//! The journal: every accepted record is appended here and synced to disk before its
//! sender is told it was accepted. The pipeline reads it back in order; its checkpoint
//! (stored with the events, in one transaction) says how far it got, so after a crash
//! the records past the checkpoint are replayed and none are lost or stored twice.
//!
//! Layout: segment files `NNNNNNNNNNNNNNNNNNNN.log` named by the position of their first
//! byte; a record is `[len u32 LE][crc32 u32 LE][payload]`. A torn record at the end of
//! the last segment (a crash in mid-write) is cut off when the journal opens.
//!
//! Appends are group-committed by one writer thread: whatever is waiting is written and
//! synced together, so a busy journal costs one `fdatasync` per batch, not per record.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use tokio::sync::{mpsc, oneshot};

/// A segment is closed and a new one started past this size.
const SEGMENT_BYTES: u64 = 64 * 1024 * 1024;
/// Record header: length and checksum.
const HEADER: usize = 8;

/// How a record arrived, which decides how it is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// One syslog message (any transport).
    Syslog = 1,
    /// Lines in a named format, or in a format to detect.
    Lines = 2,
}

/// One accepted record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// How to read it.
    pub kind: Kind,
    /// When it was received, ms since the epoch.
    pub received: i64,
    /// Where it came from (`syslog-udp 10.0.0.5:514`, `http 10.0.0.9`, a path).
    pub source: String,
    /// The format to read it with (`Lines` only); detected when empty.
    pub format: String,
    /// The bytes.
    pub data: Vec<u8>,
}

/// A record read back, with where it is in the journal.
#[derive(Debug, Clone)]
pub struct Positioned {
    /// The position of its first byte.
    pub position: u64,
    /// The position just past it.
    pub next: u64,
    /// The record.
    pub record: Record,
}

/// Why the journal failed.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    /// The disk failed.
    #[error("journal I/O: {0}")]
    Io(#[from] io::Error),
    /// The writer has stopped (the service is shutting down).
    #[error("journal closed")]
    Closed,
}

fn encode(record: &Record, out: &mut Vec<u8>) {
    let start = out.len();
    out.extend_from_slice(&[0; HEADER]);
    out.push(record.kind as u8);
    out.extend_from_slice(&record.received.to_le_bytes());
    let source = &record.source.as_bytes()[..record.source.len().min(u16::MAX as usize)];
    out.extend_from_slice(&(source.len() as u16).to_le_bytes());
    out.extend_from_slice(source);
    let format = &record.format.as_bytes()[..record.format.len().min(255)];
    out.push(format.len() as u8);
    out.extend_from_slice(format);
    out.extend_from_slice(&record.data);
    let len = (out.len() - start - HEADER) as u32;
    let crc = crc32fast::hash(&out[start + HEADER..]);
    out[start..start + 4].copy_from_slice(&len.to_le_bytes());
    out[start + 4..start + 8].copy_from_slice(&crc.to_le_bytes());
}

fn decode(payload: &[u8]) -> Option<Record> {
    let kind = match *payload.first()? {
        1 => Kind::Syslog,
        2 => Kind::Lines,
        _ => return None,
    };
    let received = i64::from_le_bytes(payload.get(1..9)?.try_into().ok()?);
    let source_len = u16::from_le_bytes(payload.get(9..11)?.try_into().ok()?) as usize;
    let source = payload.get(11..11 + source_len)?;
    let at = 11 + source_len;
    let format_len = *payload.get(at)? as usize;
    let format = payload.get(at + 1..at + 1 + format_len)?;
    let data = payload.get(at + 1 + format_len..)?;
    Some(Record {
        kind,
        received,
        source: String::from_utf8_lossy(source).into_owned(),
        format: String::from_utf8_lossy(format).into_owned(),
        data: data.to_vec(),
    })
}

/// The segment files of `dir`, by start position.
fn segments(dir: &Path) -> io::Result<Vec<(u64, PathBuf)>> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        let start = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_suffix(".log"))
            .and_then(|n| n.parse::<u64>().ok());
        if let Some(start) = start {
            out.push((start, path));
        }
    }
    out.sort();
    Ok(out)
}

fn segment_path(dir: &Path, start: u64) -> PathBuf {
    dir.join(format!("{start:020}.log"))
}

/// Reads the records of one segment from byte `offset`, at most `limit` bytes of them
/// (but always the whole first record); stops at the first torn or corrupt record and
/// returns where the good ones end.
fn read_segment(
    path: &Path,
    start: u64,
    offset: u64,
    limit: u64,
    out: &mut dyn FnMut(Positioned),
) -> io::Result<u64> {
    let mut file = File::open(path)?;
    file.seek(SeekFrom::Start(offset))?;
    let mut bytes = Vec::new();
    let limit = limit.max(HEADER as u64);
    (&mut file).take(limit).read_to_end(&mut bytes)?;
    if let Some(header) = bytes.get(..HEADER) {
        let len = u32::from_le_bytes([header[0], header[1], header[2], header[3]]) as usize;
        if bytes.len() < HEADER + len && bytes.len() as u64 == limit {
            // A record larger than the limit: read the whole of it.
            (&mut file)
                .take((HEADER + len - bytes.len()) as u64)
                .read_to_end(&mut bytes)?;
        }
    }
    let mut at = 0usize;
    while let Some(header) = bytes.get(at..at + HEADER) {
        let len = u32::from_le_bytes([header[0], header[1], header[2], header[3]]) as usize;
        let crc = u32::from_le_bytes([header[4], header[5], header[6], header[7]]);
        let Some(payload) = bytes.get(at + HEADER..at + HEADER + len) else {
            break;
        };
        if crc32fast::hash(payload) != crc {
            break;
        }
        let Some(record) = decode(payload) else { break };
        let position = start + offset + at as u64;
        at += HEADER + len;
        out(Positioned {
            position,
            next: start + offset + at as u64,
            record,
        });
    }
    Ok(offset + at as u64)
}

/// The journal directory, opened: torn tails cut, the end position known.
#[derive(Debug)]
pub struct Journal {
    dir: PathBuf,
    end: u64,
}

impl Journal {
    /// Opens (creating) the journal in `dir`.
    pub fn open(dir: &Path) -> Result<Self, JournalError> {
        fs::create_dir_all(dir)?;
        let segments = segments(dir)?;
        let end = match segments.last() {
            None => 0,
            Some((start, path)) => {
                let good = read_segment(path, *start, 0, u64::MAX, &mut |_| {})?;
                let file = OpenOptions::new().write(true).open(path)?;
                if file.metadata()?.len() > good {
                    tracing::warn!(segment = %path.display(), kept = good, "journal: cutting a torn record at the end");
                    file.set_len(good)?;
                    file.sync_all()?;
                }
                start + good
            }
        };
        Ok(Self {
            dir: dir.to_owned(),
            end,
        })
    }

    /// The position after the last record.
    pub fn end(&self) -> u64 {
        self.end
    }

    /// The records from `position` up to `end` (a position the writer has synced),
    /// about `budget` bytes of them (at least one record when there is one).
    pub fn read(
        dir: &Path,
        position: u64,
        end: u64,
        budget: u64,
    ) -> Result<Vec<Positioned>, JournalError> {
        let mut out = Vec::new();
        if position >= end {
            return Ok(out);
        }
        let segments = segments(dir)?;
        let Some((start, path)) = segments.iter().rev().find(|(start, _)| *start <= position)
        else {
            return Ok(out);
        };
        let limit = budget.min(end - position).max(1);
        read_segment(path, *start, position - start, limit, &mut |p| {
            if p.next <= end {
                out.push(p);
            }
        })?;
        Ok(out)
    }

    /// Starts the writer thread. Appends wait while more than `max_lag` bytes are
    /// journaled but not yet stored (`stored` is the pipeline's position): the journal
    /// is a bounded queue on disk.
    pub fn start(
        self,
        capacity: usize,
        stored: std::sync::Arc<std::sync::atomic::AtomicU64>,
        max_lag: u64,
    ) -> Result<Appender, JournalError> {
        let (sender, receiver) = mpsc::channel(capacity.max(1));
        let writer = Writer::new(self.dir, self.end)?;
        let depth = std::sync::Arc::new(std::sync::atomic::AtomicI64::new(0));
        let written = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(self.end));
        let (thread_depth, thread_written) = (depth.clone(), written.clone());
        std::thread::Builder::new()
            .name("journal".into())
            .spawn(move || writer.run(receiver, thread_depth, thread_written))?;
        Ok(Appender {
            sender,
            depth,
            written,
            stored,
            max_lag,
        })
    }

    /// Deletes the segments wholly before `position` (the pipeline has stored them).
    pub fn remove_before(dir: &Path, position: u64) -> Result<usize, JournalError> {
        let segments = segments(dir)?;
        let mut removed = 0;
        for window in segments.windows(2) {
            if window[1].0 <= position {
                fs::remove_file(&window[0].1)?;
                removed += 1;
            }
        }
        Ok(removed)
    }
}

struct Append {
    records: Vec<Record>,
    done: oneshot::Sender<Result<(), String>>,
}

/// A handle to append records; cheap to clone, one per listener.
#[derive(Clone, Debug)]
pub struct Appender {
    sender: mpsc::Sender<Append>,
    depth: std::sync::Arc<std::sync::atomic::AtomicI64>,
    written: std::sync::Arc<std::sync::atomic::AtomicU64>,
    stored: std::sync::Arc<std::sync::atomic::AtomicU64>,
    max_lag: u64,
}

impl Appender {
    /// Appends `records` and waits until they are on disk; waits for room first when
    /// the journal is behind (backpressure).
    pub async fn append(&self, records: Vec<Record>) -> Result<(), JournalError> {
        if records.is_empty() {
            return Ok(());
        }
        while self.lag() > self.max_lag {
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        let (done, wait) = oneshot::channel();
        self.depth
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.sender
            .send(Append { records, done })
            .await
            .map_err(|_| JournalError::Closed)?;
        match wait.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(JournalError::Io(io::Error::other(e))),
            Err(_) => Err(JournalError::Closed),
        }
    }

    /// Appends without waiting for room or for the disk; `false` when the journal is
    /// full (UDP senders cannot be slowed down, so their excess is counted and dropped).
    pub fn try_append(&self, records: Vec<Record>) -> bool {
        if self.lag() > self.max_lag {
            return false;
        }
        let (done, _) = oneshot::channel();
        self.depth
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let sent = self.sender.try_send(Append { records, done }).is_ok();
        if !sent {
            self.depth
                .fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
        }
        sent
    }

    /// Journal bytes synced but not yet stored.
    pub fn lag(&self) -> u64 {
        self.written()
            .saturating_sub(self.stored.load(std::sync::atomic::Ordering::Acquire))
    }

    /// A shared view of the synced position.
    pub fn written_handle(&self) -> std::sync::Arc<std::sync::atomic::AtomicU64> {
        self.written.clone()
    }

    /// The journal position synced so far.
    pub fn written(&self) -> u64 {
        self.written.load(std::sync::atomic::Ordering::Acquire)
    }

    /// Appends waiting to be written.
    pub fn depth(&self) -> i64 {
        self.depth.load(std::sync::atomic::Ordering::Relaxed)
    }
}

struct Writer {
    dir: PathBuf,
    segment_start: u64,
    file: BufWriter<File>,
    end: u64,
}

impl Writer {
    fn new(dir: PathBuf, end: u64) -> io::Result<Self> {
        let segment_start = segments(&dir)?.last().map_or(end, |(start, _)| *start);
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(segment_path(&dir, segment_start))?;
        Ok(Self {
            dir,
            segment_start,
            file: BufWriter::with_capacity(1 << 20, file),
            end,
        })
    }

    fn run(
        mut self,
        mut receiver: mpsc::Receiver<Append>,
        depth: std::sync::Arc<std::sync::atomic::AtomicI64>,
        written_to: std::sync::Arc<std::sync::atomic::AtomicU64>,
    ) {
        let mut buffer = Vec::new();
        while let Some(first) = receiver.blocking_recv() {
            let mut group = vec![first];
            while group.len() < 4096 {
                match receiver.try_recv() {
                    Ok(next) => group.push(next),
                    Err(_) => break,
                }
            }
            depth.fetch_sub(group.len() as i64, std::sync::atomic::Ordering::Relaxed);
            let result = self.write_group(&mut group, &mut buffer);
            let reply = result.as_ref().map(|_| ()).map_err(|e| e.to_string());
            if let Err(e) = &result {
                tracing::error!(error = %e, "journal write failed; records refused");
            } else {
                written_to.store(self.end, std::sync::atomic::Ordering::Release);
            }
            for append in group {
                let _ = append.done.send(reply.clone());
            }
        }
        let _ = self.file.flush();
        let _ = self.file.get_ref().sync_data();
    }

    fn write_group(&mut self, group: &mut [Append], buffer: &mut Vec<u8>) -> io::Result<()> {
        for append in group.iter_mut() {
            for record in std::mem::take(&mut append.records) {
                if self.end - self.segment_start >= SEGMENT_BYTES {
                    self.roll()?;
                }
                buffer.clear();
                encode(&record, buffer);
                self.file.write_all(buffer)?;
                self.end += buffer.len() as u64;
            }
        }
        self.file.flush()?;
        self.file.get_ref().sync_data()?;
        Ok(())
    }

    fn roll(&mut self) -> io::Result<()> {
        self.file.flush()?;
        self.file.get_ref().sync_data()?;
        self.segment_start = self.end;
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(segment_path(&self.dir, self.segment_start))?;
        File::open(&self.dir)?.sync_all()?;
        self.file = BufWriter::with_capacity(1 << 20, file);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(data: &str) -> Record {
        Record {
            kind: Kind::Syslog,
            received: 1_700_000_000_000,
            source: "syslog-tcp 127.0.0.1:5000".into(),
            format: String::new(),
            data: data.as_bytes().to_vec(),
        }
    }

    fn stored() -> std::sync::Arc<std::sync::atomic::AtomicU64> {
        std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0))
    }

    #[tokio::test]
    async fn appended_records_read_back_from_any_position() {
        let dir = tempfile::tempdir().expect("tempdir");
        let journal = Journal::open(dir.path()).expect("open");
        let appender = journal.start(16, stored(), u64::MAX).expect("start");
        appender
            .append(vec![record("one"), record("two")])
            .await
            .expect("append");
        appender
            .append(vec![record("three")])
            .await
            .expect("append");
        let end = appender.written();
        let all = Journal::read(dir.path(), 0, end, 1 << 20).expect("read");
        assert_eq!(all.len(), 3);
        assert_eq!(all[2].next, end);
        // A small budget still yields one record; reading on continues from `next`.
        let first = Journal::read(dir.path(), 0, end, 1).expect("read");
        assert_eq!(first.len(), 1);
        let rest = Journal::read(dir.path(), first[0].next, end, 1 << 20).expect("read");
        let data: Vec<_> = rest.iter().map(|p| p.record.data.clone()).collect();
        assert_eq!(data, [b"two".to_vec(), b"three".to_vec()]);
        drop(appender);
        let journal = Journal::open(dir.path()).expect("reopen");
        assert_eq!(journal.end(), end);
    }

    #[tokio::test]
    async fn appends_wait_while_the_pipeline_is_behind() {
        let dir = tempfile::tempdir().expect("tempdir");
        let journal = Journal::open(dir.path()).expect("open");
        let progress = stored();
        let appender = journal.start(16, progress.clone(), 10).expect("start");
        appender
            .append(vec![record("first")])
            .await
            .expect("append");
        assert!(
            !appender.try_append(vec![record("dropped")]),
            "full: UDP drops"
        );
        let waiting = appender.append(vec![record("second")]);
        tokio::pin!(waiting);
        let early = tokio::time::timeout(std::time::Duration::from_millis(50), &mut waiting).await;
        assert!(
            early.is_err(),
            "an append waits while the lag is over the limit"
        );
        progress.store(appender.written(), std::sync::atomic::Ordering::Release);
        waiting.await.expect("append once the pipeline caught up");
    }

    #[tokio::test]
    async fn torn_tail_is_cut() {
        let dir = tempfile::tempdir().expect("tempdir");
        let journal = Journal::open(dir.path()).expect("open");
        let appender = journal.start(16, stored(), u64::MAX).expect("start");
        appender.append(vec![record("kept")]).await.expect("append");
        let kept = appender.written();
        drop(appender);
        // A crash in the middle of the next record's write.
        let path = segment_path(dir.path(), 0);
        let mut file = OpenOptions::new()
            .append(true)
            .open(&path)
            .expect("segment");
        file.write_all(&[9, 0, 0, 0, 1, 2]).expect("write");
        drop(file);
        let journal = Journal::open(dir.path()).expect("reopen");
        assert_eq!(journal.end(), kept);
        assert_eq!(fs::metadata(&path).expect("meta").len(), kept);
    }

    #[test]
    fn garbage_payload_does_not_decode() {
        assert!(decode(&[7, 1, 2]).is_none());
        assert!(decode(&[]).is_none());
    }
}
