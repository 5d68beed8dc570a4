//! [`Journal`]: the in-memory ring, the bounded queue and writer thread of
//! the file sinks, and queries.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{
    Receiver, RecvTimeoutError, Sender, TrySendError, bounded, select, unbounded,
};
use rusqlite::Connection;
use switchyard_recorder::{OnRecord, Record};

use crate::config::JournalConfig;
use crate::jsonl::JsonlSink;
use crate::memory::Ring;
use crate::sqlite;
use crate::{DROPPED_METRIC, QUEUE_METRIC, WRITTEN_METRIC};

enum Control {
    /// The queue filled to its wake-up mark: write now.
    Flush,
    Close(std::sync::mpsc::Sender<()>),
}

/// How long the writer lets records gather between two batches while they
/// keep coming: a request costs a queue push, never a thread wake-up.
const FLUSH_EVERY: Duration = Duration::from_millis(5);

/// The journal: a hook for the recorder and a handle for queries.
///
/// Clones share the queue and the writer. See the [crate documentation](crate).
#[derive(Clone)]
pub struct Journal {
    tx: Sender<Arc<Record>>,
    control: Sender<Control>,
    shared: Arc<Shared>,
}

struct Shared {
    dropped: Arc<AtomicU64>,
    written: Arc<AtomicU64>,
    closed: AtomicBool,
    capacity: usize,
    /// Queue depth at which a push wakes the writer before its tick.
    wake_at: usize,
    store: Store,
    /// Whether a file sink (SQLite or JSONL) takes records through the queue.
    queued_sinks: bool,
    /// `switchyard_journal_written_total`, looked up once.
    written_metric: std::sync::OnceLock<metrics::Counter>,
    writer: Mutex<Option<JoinHandle<()>>>,
    /// What the writer needs, until [`Journal::start`] takes it.
    pending: Mutex<Option<Pending>>,
}

/// Where the journal keeps its records and answers queries from.
enum Store {
    /// The SQLite file (`path`), written by the writer thread.
    File(PathBuf),
    /// No `path`: records go straight into the ring.
    Memory(Ring),
}

struct Pending {
    config: JournalConfig,
    records: Receiver<Arc<Record>>,
    control: Receiver<Control>,
}

impl std::fmt::Debug for Journal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Journal")
            .field(
                "file",
                &match &self.shared.store {
                    Store::File(path) => Some(path),
                    Store::Memory(_) => None,
                },
            )
            .field("queued", &self.tx.len())
            .finish_non_exhaustive()
    }
}

struct Writer {
    /// The SQLite file, if any (else only a JSONL file).
    conn: Option<Connection>,
    jsonl: Option<JsonlSink>,
    records: Receiver<Arc<Record>>,
    control: Receiver<Control>,
    batch_size: usize,
    retention_days: u32,
    max_rows: Option<u64>,
    /// Rows written since retention last ran.
    unretained: u64,
    written: Arc<AtomicU64>,
    dropped: Arc<AtomicU64>,
}

impl Journal {
    /// Opens the sinks `config` names and starts the writer thread (if a file sink needs one).
    pub fn open(config: &JournalConfig) -> Result<Journal, String> {
        let journal = Journal::new(config)?;
        journal.start()?;
        Ok(journal)
    }

    /// A journal whose sinks are opened later, by [`start`](Self::start):
    /// records pushed before wait in the queue. Validates the configuration.
    pub fn new(config: &JournalConfig) -> Result<Journal, String> {
        config.validate()?;
        let (tx, records) = bounded(config.queue_capacity);
        let (control, control_rx) = unbounded();
        Ok(Journal {
            tx,
            control,
            shared: Arc::new(Shared {
                dropped: Arc::default(),
                written: Arc::default(),
                closed: AtomicBool::new(false),
                capacity: config.queue_capacity,
                wake_at: (config.batch_size.min(config.queue_capacity) / 2).max(1),
                store: match &config.path {
                    Some(path) => Store::File(path.clone()),
                    None => Store::Memory(Ring::new(
                        config.row_limit(),
                        config.memory_limit(),
                        config.retention_days,
                    )),
                },
                queued_sinks: config.path.is_some() || config.jsonl.is_some(),
                written_metric: std::sync::OnceLock::new(),
                writer: Mutex::new(None),
                pending: Mutex::new(Some(Pending {
                    config: config.clone(),
                    records,
                    control: control_rx,
                })),
            }),
        })
    }

    /// Opens the file sinks (creating and migrating the database) and starts
    /// their writer thread; does nothing if already started. An in-memory
    /// journal without a JSONL file has no thread.
    pub fn start(&self) -> Result<(), String> {
        let mut pending = lock(&self.shared.pending);
        let Some(p) = pending.take() else {
            return Ok(());
        };
        if !self.shared.queued_sinks {
            return Ok(());
        }
        let opened = p
            .config
            .path
            .as_deref()
            .map(sqlite::open)
            .transpose()
            .and_then(|conn| {
                let jsonl = p.config.jsonl.as_deref().map(JsonlSink::open).transpose()?;
                Ok((conn, jsonl))
            });
        let (conn, jsonl) = match opened {
            Ok(sinks) => sinks,
            Err(e) => {
                *pending = Some(p);
                return Err(e);
            }
        };
        let writer = Writer {
            conn,
            jsonl,
            records: p.records,
            control: p.control,
            batch_size: p.config.batch_size,
            retention_days: p.config.retention_days,
            max_rows: p.config.row_limit(),
            unretained: 0,
            written: self.shared.written.clone(),
            dropped: self.shared.dropped.clone(),
        };
        let handle = std::thread::Builder::new()
            .name("switchyard-journal".into())
            .spawn(move || writer.run())
            .map_err(|e| format!("starting the journal writer: {e}"))?;
        *lock(&self.shared.writer) = Some(handle);
        Ok(())
    }

    /// Keeps a record: in the in-memory ring at once, and/or queued for the
    /// file sinks' writer. Counts it as dropped if the queue is full or the
    /// journal closed.
    pub fn push(&self, record: Arc<Record>) {
        if self.shared.closed.load(Ordering::Acquire) {
            return self.drop_one();
        }
        if let Store::Memory(ring) = &self.shared.store {
            ring.push(record.clone());
            self.shared.written.fetch_add(1, Ordering::Relaxed);
            self.shared
                .written_metric
                .get_or_init(|| metrics::counter!(WRITTEN_METRIC))
                .increment(1);
            if !self.shared.queued_sinks {
                return;
            }
        }
        match self.tx.try_send(record) {
            Ok(()) => {
                // Half a batch (or half the queue) waiting: wake the writer
                // now rather than at its next tick. Only the push that
                // reaches the mark sends the wake-up.
                if self.tx.len() == self.shared.wake_at {
                    let _ = self.control.send(Control::Flush);
                }
            }
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => self.drop_one(),
        }
    }

    fn drop_one(&self) {
        self.shared.dropped.fetch_add(1, Ordering::Relaxed);
        metrics::counter!(DROPPED_METRIC).increment(1);
    }

    /// Records dropped so far (queue full, or after close).
    pub fn dropped(&self) -> u64 {
        self.shared.dropped.load(Ordering::Relaxed)
    }

    /// Records written so far (kept in memory, or committed to the SQLite file).
    pub fn written(&self) -> u64 {
        self.shared.written.load(Ordering::Relaxed)
    }

    /// Records waiting in the queue.
    pub fn queued(&self) -> usize {
        self.tx.len()
    }

    /// The queue's capacity.
    pub fn capacity(&self) -> usize {
        self.shared.capacity
    }

    /// Writes everything queued, then stops the writer, waiting up to
    /// `timeout`. Records pushed afterwards are counted as dropped.
    pub fn close(&self, timeout: Duration) {
        self.shared.closed.store(true, Ordering::Release);
        if !self.shared.queued_sinks || lock(&self.shared.pending).is_some() {
            return; // no writer, or never started: nothing waits to be written
        }
        let (ack, done) = std::sync::mpsc::channel();
        if self.control.send(Control::Close(ack)).is_ok() && done.recv_timeout(timeout).is_err() {
            tracing::warn!("the journal did not finish writing within {timeout:?}");
            return;
        }
        let handle = lock(&self.shared.writer).take();
        if let Some(handle) = handle {
            let _ = handle.join();
        }
    }

    /// Runs `memory` on the in-memory ring, or `file` on a fresh read-only
    /// connection to the SQLite file; either on a blocking thread, since a
    /// query scans up to all the records.
    pub(crate) async fn query<T, M, F>(&self, memory: M, file: F) -> Result<T, String>
    where
        T: Send + 'static,
        M: FnOnce(&Ring) -> T + Send + 'static,
        F: FnOnce(&Connection) -> Result<T, String> + Send + 'static,
    {
        let shared = self.shared.clone();
        tokio::task::spawn_blocking(move || match &shared.store {
            Store::File(path) => file(&sqlite::open_reader(path)?),
            Store::Memory(ring) => Ok(memory(ring)),
        })
        .await
        .map_err(|e| format!("journal query failed: {e}"))?
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl OnRecord for Journal {
    fn on_complete(&self, record: &Arc<Record>) {
        self.push(record.clone());
    }
}

impl Writer {
    /// How often retention runs, at most.
    const RETAIN_EVERY: Duration = Duration::from_secs(10);

    /// Waits for the first record (or a control message) with no timeout;
    /// then, while records keep coming, wakes every [`FLUSH_EVERY`] (or when
    /// a push finds the queue at its wake-up mark) and writes what
    /// queued up meanwhile. A producer never wakes the writer per record.
    fn run(mut self) {
        let mut batch = Vec::with_capacity(self.batch_size);
        let mut last_retain = Instant::now() - Self::RETAIN_EVERY;
        let mut busy = false;
        loop {
            let control = if busy {
                match self.control.recv_timeout(FLUSH_EVERY) {
                    Ok(c) => Some(c),
                    Err(RecvTimeoutError::Timeout) => None,
                    Err(RecvTimeoutError::Disconnected) => {
                        self.drain(&mut batch);
                        return;
                    }
                }
            } else {
                select! {
                    recv(self.records) -> r => match r {
                        Ok(r) => {
                            batch.push(r);
                            busy = true;
                            continue;
                        }
                        Err(_) => return,
                    },
                    recv(self.control) -> c => match c {
                        Ok(c) => Some(c),
                        Err(_) => return,
                    },
                }
            };
            match control {
                Some(Control::Close(ack)) => {
                    self.drain(&mut batch);
                    self.retain();
                    let _ = ack.send(());
                    return;
                }
                Some(Control::Flush) | None => {
                    busy = self.drain(&mut batch) > 0;
                }
            }
            if self.retention_due() || last_retain.elapsed() >= Self::RETAIN_EVERY {
                last_retain = Instant::now();
                self.retain();
            }
        }
    }

    /// Writes everything queued, in batches; returns how many records.
    fn drain(&mut self, batch: &mut Vec<Arc<Record>>) -> usize {
        let mut n = 0;
        loop {
            self.fill(batch);
            if batch.is_empty() {
                return n;
            }
            n += batch.len();
            self.unretained += batch.len() as u64;
            self.write(batch);
        }
    }

    fn fill(&self, batch: &mut Vec<Arc<Record>>) {
        while batch.len() < self.batch_size {
            match self.records.try_recv() {
                Ok(r) => batch.push(r),
                Err(_) => break,
            }
        }
        metrics::gauge!(QUEUE_METRIC).set(self.records.len() as f64);
    }

    fn write(&mut self, batch: &mut Vec<Arc<Record>>) {
        if batch.is_empty() {
            return;
        }
        if let Some(conn) = &mut self.conn {
            if let Err(e) = sqlite::insert(conn, batch) {
                tracing::error!(error = %e, records = batch.len(), "writing the journal failed");
                self.dropped
                    .fetch_add(batch.len() as u64, Ordering::Relaxed);
                metrics::counter!(DROPPED_METRIC).increment(batch.len() as u64);
            } else {
                self.written
                    .fetch_add(batch.len() as u64, Ordering::Relaxed);
                metrics::counter!(WRITTEN_METRIC).increment(batch.len() as u64);
            }
        }
        if let Some(jsonl) = &mut self.jsonl
            && let Err(e) = jsonl.write(batch)
        {
            tracing::error!(error = %e, "writing the JSONL journal failed");
        }
        batch.clear();
    }

    /// Whether a row limit is a tenth overrun: at thousands of records a
    /// second, ten seconds between retention runs would let an in-memory
    /// journal hold ten times its `max_rows` (hundreds of MB).
    fn retention_due(&self) -> bool {
        self.max_rows
            .is_some_and(|max| max > 0 && self.unretained >= (max / 10).max(1))
    }

    fn retain(&mut self) {
        self.unretained = 0;
        let Some(conn) = &self.conn else { return };
        match sqlite::retain(conn, self.retention_days, self.max_rows) {
            Ok(0) => {}
            Ok(n) => tracing::debug!(deleted = n, "journal retention"),
            Err(e) => tracing::warn!(error = %e, "journal retention failed"),
        }
    }
}
