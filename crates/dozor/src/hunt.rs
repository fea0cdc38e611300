//! `dozor hunt`: normalize and detect over files offline, printing alerts.

use std::io::{self, BufWriter, IsTerminal, Write};
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result};
use dozor_analytics::{Analytics, AnalyticsConfig, Watched};
use dozor_collect::DEFAULT_MAX_RECORD;
use dozor_event::Event;
use dozor_formats::{Reject, Sink};
use dozor_rules::{Alert, RuleSet, RuleSetOptions};

use crate::inputs::{FormatSink, format_named, read_inputs};

/// Bytes of `jsonl` output gathered before a write, unless the output is a terminal
/// (where each alert shows at once): an alert carries whole events (16 KB each on
/// Sysmon process creations), so a write per alert, or the default 8 KiB buffer,
/// would make a system call of nearly every alert.
const OUTPUT_BATCH: usize = 1 << 20;

/// How alerts are printed.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputKind {
    /// One line per alert, aligned.
    Table,
    /// One JSON object per alert.
    Jsonl,
}

/// Arguments of `dozor hunt`.
#[derive(clap::Args)]
pub struct Args {
    /// Files or directories to read (`-` for stdin).
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// Sigma rule files or directories to load besides (or instead of) the shipped pack.
    #[arg(long = "rules", value_name = "PATH")]
    rules: Vec<PathBuf>,
    /// List files or directories for `|expand` placeholders.
    #[arg(long = "lists", value_name = "PATH")]
    lists: Vec<PathBuf>,
    /// Do not load the shipped rules.
    #[arg(long)]
    no_builtin: bool,
    /// Read every input as this format instead of detecting it.
    #[arg(long)]
    format: Option<String>,
    /// How to print alerts.
    #[arg(long, value_enum, default_value = "table")]
    output: OutputKind,
    /// Threads (default: all cores): rule files are parsed in parallel, inputs are read
    /// and normalized in parallel, the matching of events against the rules runs on
    /// every thread, and alerts and correlations are applied in input order, so every
    /// count gives the same alerts.
    #[arg(long)]
    threads: Option<usize>,
    /// Also run the stateful analytics (first seen, beaconing) on event time, before
    /// the rules see each event; they judge events in order, so detection runs on one
    /// thread.
    #[arg(long)]
    analytics: bool,
    /// Start the analytics from the baselines saved in FILE, if it exists, and save
    /// them there at the end (implies --analytics).
    #[arg(long, value_name = "FILE")]
    analytics_state: Option<PathBuf>,
    /// How long each host's first-seen baseline learns before reporting: a number and
    /// a unit, `s`, `m`, `h` or `d` (`7d`, `36h`).
    #[arg(long, value_name = "DURATION", default_value = "7d", value_parser = duration_ms)]
    learning: i64,
}

/// Feeds every event to the rule set and prints alerts as they come.
struct Hunter<W: Write> {
    rules: RuleSet,
    analytics: Option<Analytics>,
    out: W,
    kind: OutputKind,
    alerts: Vec<Alert>,
    fired: u64,
    events: u64,
    rejected: u64,
    error: Option<io::Error>,
    progress: Option<Progress>,
    /// `jsonl` alerts written but not yet output (up to `batch_limit` bytes; a
    /// batch that large goes past the `BufWriter`'s buffer, copied once).
    batch: Vec<u8>,
    /// [`OUTPUT_BATCH`], or 0 on a terminal.
    batch_limit: usize,
    /// The JSON of an event several rules matched, kept between events.
    rendered: Vec<u8>,
    /// Whether formats may defer the mapping of taxonomy fields that no rule reads
    /// (see [`defer_mapping`]); the events that match are completed.
    defer_mapping: bool,
}

/// A one-line progress report on a terminal's stderr, redrawn at most every 200 ms.
struct Progress {
    started: std::time::Instant,
    last: std::time::Instant,
}

impl Progress {
    /// A progress line, when stderr is a terminal.
    fn on_terminal() -> Option<Self> {
        use std::io::IsTerminal;
        let now = std::time::Instant::now();
        io::stderr().is_terminal().then_some(Self {
            started: now,
            last: now,
        })
    }

    fn tick(&mut self, events: u64, alerts: u64) {
        let now = std::time::Instant::now();
        if now.duration_since(self.last).as_millis() >= 200 {
            self.last = now;
            self.draw(events, alerts);
        }
    }

    fn draw(&self, events: u64, alerts: u64) {
        let seconds = self.started.elapsed().as_secs_f64().max(0.001);
        eprint!(
            "\r\x1b[K{events} events, {alerts} alerts, {:.0} events/s",
            events as f64 / seconds
        );
    }

    fn finish(&self, events: u64, alerts: u64) {
        self.draw(events, alerts);
        eprintln!();
    }
}

impl<W: Write> Hunter<W> {
    /// Counts one event and redraws the progress line now and then.
    fn count_event(&mut self) {
        self.count_events(1);
    }

    /// Counts `count` events and redraws the progress line now and then.
    fn count_events(&mut self, count: u64) {
        let before = self.events;
        self.events += count;
        if before / 1024 != self.events / 1024
            && let Some(progress) = self.progress.as_mut()
        {
            progress.tick(self.events, self.fired);
        }
    }

    /// Applies the matches a detection thread found for `event`, in input order;
    /// `rendered` is the event's JSON if that thread wrote it already. Gives the
    /// event back unless something (a correlation) still holds it.
    fn detected(
        &mut self,
        event: Event,
        matched: &[usize],
        rendered: Option<&[u8]>,
    ) -> Option<Event> {
        let event = Arc::new(event);
        self.rules.apply_shared(&event, matched, &mut self.alerts);
        self.print_alerts(rendered.map(|json| (&*event, json)));
        Arc::into_inner(event)
    }

    fn print_alerts(&mut self, rendered: Option<(&Event, &[u8])>) {
        for alert in self.alerts.drain(..) {
            self.fired += 1;
            if self.error.is_none()
                && let Err(e) = print_alert(
                    &mut self.out,
                    self.kind,
                    &alert,
                    rendered,
                    self.batch_limit,
                    &mut self.batch,
                )
            {
                self.error = Some(e);
            }
        }
    }
}

impl<W: Write> Sink for Hunter<W> {
    fn event(&mut self, mut event: Event) {
        self.count_event();
        if let Some(analytics) = self.analytics.as_mut() {
            analytics.observe(&mut event, &mut self.alerts);
        }
        // Completed if a rule matched it, and shared, so that its alerts hold it
        // rather than copies.
        let event = self.rules.evaluate_owned(event, &mut self.alerts);
        // An event that several rules matched is written once and copied into each
        // alert: writing the event is most of an alert's cost.
        let several = self.kind == OutputKind::Jsonl && self.alerts.len() > 1;
        let mut rendered = std::mem::take(&mut self.rendered);
        rendered.clear();
        if several {
            event.write_json(&mut rendered);
        }
        self.print_alerts(several.then_some((&event, rendered.as_slice())));
        self.rendered = rendered;
    }

    fn reject(&mut self, _reject: Reject) {
        self.rejected += 1;
    }
}

impl<W: Write> FormatSink for Hunter<W> {
    fn begin(&mut self, _format: &'static str) {}

    fn failed(&mut self) -> Option<io::Error> {
        self.error.take()
    }

    fn defers_mapping(&self) -> bool {
        self.defer_mapping
    }
}

fn print_alert(
    out: &mut impl Write,
    kind: OutputKind,
    alert: &Alert,
    rendered: Option<(&Event, &[u8])>,
    batch_limit: usize,
    batch: &mut Vec<u8>,
) -> io::Result<()> {
    match kind {
        OutputKind::Jsonl => {
            alert.write_json(batch, rendered);
            batch.push(b'\n');
            if batch.len() >= batch_limit {
                out.write_all(batch)?;
                out.flush()?;
                batch.clear();
            }
            Ok(())
        }
        OutputKind::Table => {
            let time = alert.time.map(dozor_event::format_time).unwrap_or_default();
            let host = alert
                .events
                .last()
                .and_then(|e| {
                    e.get(dozor_event::taxonomy::EVENT_SRC_HOST)
                        .or_else(|| e.get(dozor_event::taxonomy::SRC_IP))
                })
                .map(ToString::to_string)
                .unwrap_or_else(|| "-".to_owned());
            writeln!(
                out,
                "{time:<24} {:<8} {:<12} {:<20} {} [{}] events={}",
                alert.rule.level,
                alert.rule.reference_rule.as_deref().unwrap_or("-"),
                host,
                alert.rule.title,
                alert.rule.techniques.join(","),
                alert.events.len()
            )?;
            if !alert.details.is_empty() {
                let details: Vec<String> = alert
                    .details
                    .iter()
                    .map(|(k, v)| format!("{k}: {v}"))
                    .collect();
                writeln!(out, "{:<24} {}", "", details.join("; "))?;
            }
            Ok(())
        }
    }
}

/// What a reading thread sends for one input.
enum Message {
    Event(Box<Event>),
    /// Whole lines for a detection thread to normalize.
    Part(Part),
    /// A record that could not be normalized (counted; `hunt` does not print rejects).
    Reject,
    Failed(anyhow::Error),
}

/// Forwards one input's events to the detection thread.
struct Forward {
    tx: std::sync::mpsc::SyncSender<Message>,
    /// What [`FormatSink::defers_mapping`] answers.
    defer_mapping: bool,
}

impl Sink for Forward {
    fn event(&mut self, event: Event) {
        // A closed channel means the detection side stopped; nothing is left to do.
        let _ = self.tx.send(Message::Event(Box::new(event)));
    }

    fn reject(&mut self, reject: Reject) {
        drop(reject);
        let _ = self.tx.send(Message::Reject);
    }
}

impl FormatSink for Forward {
    fn begin(&mut self, _format: &'static str) {}

    fn defers_mapping(&self) -> bool {
        self.defer_mapping
    }
}

/// Events handed to the detection threads at once.
const BATCH: usize = 256;

/// The most batches out to the detection threads and not yet applied.
const IN_FLIGHT: u64 = 16;

/// The size of the parts an input that splits at line ends is cut into.
const PART_BYTES: usize = 256 * 1024;

/// The room a new part buffer is made with: a part is sent once it holds
/// [`PART_BYTES`], so most end a line past it.
const PART_CAPACITY: usize = PART_BYTES + 64 * 1024;

/// Part buffers that detection threads have read, on their way back to the reading
/// threads. A part is filled on the reading thread and freed on a detection thread,
/// and an allocator does not give such memory back to the thread that allocated it
/// soon: every part was fresh memory, which the kernel zeroes when it is first
/// written, on the reading thread, which shares the cores with the detection threads.
/// With `--threads 2` on the process-creation lane, reusing them took peak memory
/// from 128 to 95 MB and system time from 0.125 to 0.095 s (medians of 10 alternating
/// runs; the wall time moved within noise).
struct SpareParts {
    give: std::sync::mpsc::SyncSender<Vec<u8>>,
    take: std::sync::Mutex<std::sync::mpsc::Receiver<Vec<u8>>>,
}

impl SpareParts {
    /// Room for `count` spare buffers; more given back are freed.
    fn new(count: usize) -> Self {
        let (give, take) = std::sync::mpsc::sync_channel(count);
        Self {
            give,
            take: std::sync::Mutex::new(take),
        }
    }

    /// An empty buffer for a part: a spare one if there is one.
    fn take(&self) -> Vec<u8> {
        let spare = self.take.lock().ok().and_then(|rx| rx.try_recv().ok());
        match spare {
            Some(mut bytes) => {
                bytes.clear();
                bytes
            }
            None => Vec::with_capacity(PART_CAPACITY),
        }
    }

    /// Gives a read part's buffer back for reuse (freed if enough are spare).
    fn give(&self, bytes: Vec<u8>) {
        let _ = self.give.try_send(bytes);
    }
}

/// Whole lines of one input, for a detection thread to normalize.
struct Part {
    bytes: Vec<u8>,
    format: &'static dyn dozor_formats::Format,
    ctx: std::sync::Arc<dozor_formats::ReadContext>,
}

/// A run of consecutive events (or the lines they come from) and, once a detection
/// thread has seen them, the ones that matched a rule with the rules each matches:
/// the others are dropped on that thread and only counted.
struct Batch {
    sequence: u64,
    /// The detection thread that saw the batch (see [`Applied`]).
    detected_by: usize,
    events: Vec<Event>,
    part: Option<Part>,
    rejected: u64,
    /// How many events the batch held before those that matched no rule were dropped.
    read: u64,
    matched: Vec<Vec<usize>>,
    /// With JSON output: the JSON of each event kept, written on the detection
    /// thread so that printing in order only copies it.
    rendered: Vec<Vec<u8>>,
}

impl Batch {
    fn of_events(sequence: u64, events: Vec<Event>) -> Self {
        Self {
            sequence,
            detected_by: 0,
            events,
            part: None,
            rejected: 0,
            read: 0,
            matched: Vec::new(),
            rendered: Vec::new(),
        }
    }

    /// Normalizes the batch's lines, if it has them (giving their buffer to
    /// `spares`), finds each event's matches, keeps (completed) only the events that
    /// matched and, if `render`, writes their JSON. Dropping the rest here spares the
    /// thread that applies the matches, in order and alone, from freeing every event.
    fn detect(
        &mut self,
        detector: &dozor_rules::Detector,
        state: &mut dozor_rules::MatchState,
        render: bool,
        spares: &SpareParts,
    ) {
        if let Some(part) = self.part.take() {
            let mut collected = dozor_formats::Collected::default();
            // Reading from memory cannot fail.
            let _ = part
                .format
                .read_part(&part.bytes, &part.ctx, &mut collected);
            spares.give(part.bytes);
            self.events = collected.events;
            self.rejected = collected.rejects.len() as u64;
        }
        self.read = self.events.len() as u64;
        let mut kept = Vec::new();
        self.matched.clear();
        for mut event in std::mem::take(&mut self.events) {
            let mut matched = Vec::new();
            detector.matching(&event, state, &mut matched);
            if !matched.is_empty() {
                event.complete();
                kept.push(event);
                self.matched.push(matched);
            }
        }
        self.events = kept;
        if render {
            self.rendered = self
                .events
                .iter()
                .map(|event| {
                    let mut json = Vec::new();
                    event.write_json(&mut json);
                    json
                })
                .collect();
        }
    }
}

/// Reads one input for [`read_parallel`]: an input whose format splits at line ends
/// is cut into parts (in buffers from `spares`) that the detection threads normalize;
/// any other is normalized here, event by event.
fn read_for_batches(
    input: &dozor_collect::Input,
    forced: Option<&'static dyn dozor_formats::Format>,
    forward: &mut Forward,
    spares: &SpareParts,
) -> Result<()> {
    use dozor_collect::LineBlocks;

    let Some(crate::inputs::OpenedInput {
        mut opened,
        format,
        ctx,
    }) = crate::inputs::open_input(input, forced, DEFAULT_MAX_RECORD, forward)?
    else {
        return Ok(());
    };
    let splits = match opened.reader.fill_buf() {
        Ok(head) => format.splits_at_lines(head),
        Err(e) => {
            eprintln!("dozor: error reading {}: {e}", opened.name);
            return Ok(());
        }
    };
    if !splits {
        if let Err(e) = format.read(&mut opened.reader, &ctx, forward) {
            eprintln!("dozor: error reading {}: {e}", opened.name);
        }
        return Ok(());
    }
    let ctx = std::sync::Arc::new(ctx);
    let send = |forward: &mut Forward, bytes: Vec<u8>| {
        let part = Part {
            bytes,
            format,
            ctx: ctx.clone(),
        };
        forward.tx.send(Message::Part(part)).is_ok()
    };
    let mut blocks = LineBlocks::new(
        &mut opened.reader,
        ctx.max_record,
        PART_BYTES,
        PART_CAPACITY,
    );
    loop {
        let mut part = spares.take();
        let read = blocks.next_block(&mut part);
        let ended = match &read {
            Ok(read) => {
                // Counted as the format would count them; `hunt` prints no rejects.
                for _ in 0..read.too_long {
                    let _ = forward.tx.send(Message::Reject);
                }
                read.ended
            }
            Err(e) => {
                eprintln!("dozor: error reading {}: {e}", opened.name);
                true
            }
        };
        if !part.is_empty() && !send(forward, part) {
            return Ok(());
        }
        if ended {
            return Ok(());
        }
    }
}

/// Reads and normalizes inputs on `threads` threads and matches events against the
/// rules on `threads` more; this thread takes the inputs strictly in order, hands their
/// events out in numbered batches and applies the matches (alerts, correlations) in
/// that order, so the result does not depend on the thread count.
fn read_parallel<W: Write>(
    paths: &[PathBuf],
    forced: Option<&'static dyn dozor_formats::Format>,
    threads: usize,
    hunter: &mut Hunter<W>,
) -> Result<()> {
    use std::collections::BTreeMap;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::mpsc::{Receiver, channel, sync_channel};
    use std::sync::{Arc, Mutex};

    let inputs = dozor_collect::expand_inputs(paths)?;
    let mut senders = Vec::with_capacity(inputs.len());
    let mut receivers: Vec<Receiver<Message>> = Vec::with_capacity(inputs.len());
    for _ in &inputs {
        let (tx, rx) = sync_channel(64);
        senders.push(Mutex::new(Some(tx)));
        receivers.push(rx);
    }
    let next = AtomicUsize::new(0);
    let detector = hunter.rules.detector();
    let render = hunter.kind == OutputKind::Jsonl;
    let defer_mapping = hunter.defer_mapping;
    let (work_tx, work_rx) = sync_channel::<Batch>(threads * 4);
    let work_rx = Arc::new(Mutex::new(work_rx));
    let spares = &SpareParts::new(threads * 4);
    let (done_tx, done_rx) = channel::<Batch>();
    std::thread::scope(|scope| -> Result<()> {
        for _ in 0..threads {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    let Some(slot) = senders.get(i) else { break };
                    let Some(tx) = slot.lock().ok().and_then(|mut s| s.take()) else {
                        continue;
                    };
                    let mut forward = Forward { tx, defer_mapping };
                    if let Err(e) = read_for_batches(&inputs[i], forced, &mut forward, spares) {
                        let _ = forward.tx.send(Message::Failed(e));
                    }
                }
            });
        }
        let mut applied = Vec::with_capacity(threads);
        for thread in 0..threads {
            let (work_rx, done_tx, detector) = (work_rx.clone(), done_tx.clone(), detector.clone());
            let (applied_tx, applied_rx) = channel::<Applied>();
            applied.push(applied_tx);
            scope.spawn(move || {
                let mut state = dozor_rules::MatchState::default();
                loop {
                    // What the applied batches left is freed here, where it was made.
                    while let Ok(done) = applied_rx.try_recv() {
                        drop(done);
                    }
                    let batch = match work_rx.lock() {
                        Ok(rx) => rx.recv(),
                        Err(_) => break,
                    };
                    let Ok(mut batch) = batch else { break };
                    batch.detected_by = thread;
                    batch.detect(&detector, &mut state, render, spares);
                    if done_tx.send(batch).is_err() {
                        break;
                    }
                }
            });
        }
        drop(done_tx);
        let mut order = InOrder {
            next: 0,
            waiting: BTreeMap::new(),
            applied,
        };
        let mut sequence = 0u64;
        let mut pending: Vec<Event> = Vec::with_capacity(BATCH);
        let mut result = Ok(());
        'inputs: for rx in receivers {
            for message in rx {
                match message {
                    Message::Event(event) => {
                        pending.push(*event);
                        if pending.len() == BATCH {
                            let events = std::mem::replace(&mut pending, Vec::with_capacity(BATCH));
                            order.make_room(sequence, &done_rx, hunter);
                            if work_tx.send(Batch::of_events(sequence, events)).is_err() {
                                break 'inputs;
                            }
                            sequence += 1;
                        }
                    }
                    Message::Part(part) => {
                        if !pending.is_empty() {
                            let events = std::mem::replace(&mut pending, Vec::with_capacity(BATCH));
                            order.make_room(sequence, &done_rx, hunter);
                            if work_tx.send(Batch::of_events(sequence, events)).is_err() {
                                break 'inputs;
                            }
                            sequence += 1;
                        }
                        order.make_room(sequence, &done_rx, hunter);
                        let batch = Batch {
                            part: Some(part),
                            ..Batch::of_events(sequence, Vec::new())
                        };
                        if work_tx.send(batch).is_err() {
                            break 'inputs;
                        }
                        sequence += 1;
                    }
                    Message::Reject => hunter.rejected += 1,
                    Message::Failed(e) => {
                        result = Err(e);
                        break 'inputs;
                    }
                }
                while let Ok(batch) = done_rx.try_recv() {
                    order.arrive(batch, hunter);
                }
                if let Some(e) = hunter.error.take() {
                    result = Err(e).context("cannot write output");
                    break 'inputs;
                }
            }
        }
        if result.is_ok() && !pending.is_empty() {
            let _ = work_tx.send(Batch::of_events(sequence, pending));
        }
        drop(work_tx);
        for batch in done_rx {
            order.arrive(batch, hunter);
        }
        if let Some(e) = hunter.error.take() {
            result = result.and(Err(e).context("cannot write output"));
        }
        result
    })
}

/// What a batch leaves once its matches are applied: its events and their JSON,
/// sent back to be freed on the detection thread that allocated them. Freed on the
/// thread that applies matches, every block went back to the other thread's heap
/// through mimalloc's cross-thread free lists, which took 5% of the samples of a
/// `--threads 2` run (`perf record -e cpu-clock`, process-creation lane).
struct Applied {
    events: Vec<Event>,
    rendered: Vec<Vec<u8>>,
}

/// Puts detected batches back in input order before their matches are applied.
struct InOrder {
    next: u64,
    waiting: std::collections::BTreeMap<u64, Batch>,
    /// Per detection thread, where its batches' [`Applied`] remains go.
    applied: Vec<std::sync::mpsc::Sender<Applied>>,
}

impl InOrder {
    /// Waits, applying detected batches, until batch `sequence` may be sent without
    /// more than `IN_FLIGHT` batches being out at once (which bounds memory).
    fn make_room<W: Write>(
        &mut self,
        sequence: u64,
        done: &std::sync::mpsc::Receiver<Batch>,
        hunter: &mut Hunter<W>,
    ) {
        while sequence.saturating_sub(self.next) >= IN_FLIGHT {
            match done.recv() {
                Ok(batch) => self.arrive(batch, hunter),
                Err(_) => break,
            }
        }
    }

    fn arrive<W: Write>(&mut self, batch: Batch, hunter: &mut Hunter<W>) {
        self.waiting.insert(batch.sequence, batch);
        while let Some(batch) = self.waiting.remove(&self.next) {
            hunter.rejected += batch.rejected;
            hunter.count_events(batch.read);
            let mut applied = Applied {
                events: Vec::with_capacity(batch.events.len()),
                rendered: Vec::new(),
            };
            let events = batch.events.into_iter().zip(&batch.matched);
            for (i, (event, matched)) in events.enumerate() {
                let rendered = batch.rendered.get(i).map(Vec::as_slice);
                applied
                    .events
                    .extend(hunter.detected(event, matched, rendered));
            }
            applied.rendered = batch.rendered;
            // A detection thread that has stopped leaves them to be freed here.
            if let Some(back) = self.applied.get(batch.detected_by) {
                let _ = back.send(applied);
            }
            self.next += 1;
        }
    }
}

/// Whether formats may defer the taxonomy mapping that only matched events need:
/// when no analytics run (they read every event's taxonomy) and the rules read no
/// taxonomy field that a deferred mapping fills later.
fn defer_mapping(rules: &RuleSet, analytics: bool) -> bool {
    !analytics
        && rules
            .taxonomy_fields_read()
            .iter()
            .all(|field| dozor_formats::SET_BEFORE_DEFERRAL.contains(field))
}

/// The analytics `args` ask for, from their saved state when there is one.
fn analytics_of(args: &Args, rules: &RuleSet) -> Result<Option<Analytics>> {
    if !args.analytics && args.analytics_state.is_none() {
        return Ok(None);
    }
    let config = AnalyticsConfig {
        learning_ms: args.learning,
        ..AnalyticsConfig::default()
    };
    let saved = match &args.analytics_state {
        Some(path) => match std::fs::read_to_string(path) {
            Ok(text) => Some(text),
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            Err(e) => {
                return Err(e).with_context(|| format!("cannot read {}", path.display()));
            }
        },
        None => None,
    };
    let watched = Watched::of_rules(rules);
    Ok(Some(match saved {
        Some(text) => Analytics::restore(&text, config, watched)?,
        None => Analytics::new(config, watched),
    }))
}

/// Milliseconds of a duration such as `7d`, `36h`, `90m`, `30s`.
fn duration_ms(text: &str) -> Result<i64, String> {
    let split = text.len().saturating_sub(1);
    let (number, unit) = text.split_at(split);
    let unit_ms: i64 = match unit {
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => return Err(format!("{text:?}: give a number and a unit, s, m, h or d")),
    };
    number
        .parse::<u32>()
        .map(|n| i64::from(n) * unit_ms)
        .map_err(|_| format!("{text:?}: give a number and a unit, s, m, h or d"))
}

/// Runs `dozor hunt`; the exit code is 0 without alerts, 1 with alerts.
pub fn run(args: &Args) -> Result<i32> {
    let forced = args.format.as_deref().map(format_named).transpose()?;
    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from))
        .max(1);
    let options = RuleSetOptions {
        builtin_rules: !args.no_builtin,
        rule_paths: args.rules.clone(),
        list_paths: args.lists.clone(),
        threads,
        ..RuleSetOptions::default()
    };
    let rules = RuleSet::load(&options)?;
    let report = rules.report();
    if !report.rejected.is_empty() {
        eprintln!(
            "dozor: {} rules rejected (see `dozor rules validate`)",
            report.rejected.len()
        );
    }
    let analytics = analytics_of(args, &rules)?;
    let defer_mapping = defer_mapping(&rules, analytics.is_some());
    let stdout = io::stdout().lock();
    let batch_limit = if stdout.is_terminal() {
        0
    } else {
        OUTPUT_BATCH
    };
    let mut hunter = Hunter {
        rules,
        analytics,
        out: BufWriter::new(stdout),
        kind: args.output,
        alerts: Vec::new(),
        fired: 0,
        events: 0,
        rejected: 0,
        error: None,
        progress: Progress::on_terminal(),
        batch: Vec::new(),
        batch_limit,
        rendered: Vec::new(),
        defer_mapping,
    };
    if threads == 1 || hunter.analytics.is_some() {
        read_inputs(&args.paths, forced, DEFAULT_MAX_RECORD, &mut hunter)?;
    } else {
        read_parallel(&args.paths, forced, threads, &mut hunter)?;
    }
    if let Some(e) = hunter.error.take() {
        return Err(e).context("cannot write output");
    }
    hunter
        .out
        .write_all(&hunter.batch)
        .and_then(|()| hunter.out.flush())
        .context("cannot write output")?;
    if let Some(progress) = &hunter.progress {
        progress.finish(hunter.events, hunter.fired);
    }
    if hunter.rules.evicted() > 0 {
        eprintln!(
            "dozor: correlation state full: {} hits evicted",
            hunter.rules.evicted()
        );
    }
    if let (Some(path), Some(analytics)) = (&args.analytics_state, &hunter.analytics) {
        std::fs::write(path, analytics.save())
            .with_context(|| format!("cannot save the analytics state to {}", path.display()))?;
    }
    eprintln!(
        "dozor: {} events, {} rejected records, {} alerts",
        hunter.events, hunter.rejected, hunter.fired
    );
    Ok(i32::from(hunter.fired > 0))
}
