//! The journal of the Switchyard LLM gateway: every exchange's [`Record`],
//! written off the hot path, in batches, to SQLite and/or a JSONL file, and
//! read back for the admin API's stats and record listings.
//!
//! [`Journal`] is an [`OnRecord`](switchyard_recorder::OnRecord) hook: the
//! recorder hands it each finished record, which goes into a bounded queue
//! (never blocking the request; a full queue drops the record and counts it
//! in [`Journal::dropped`] and the `switchyard_journal_dropped_total` metric).
//! One writer thread drains the queue in transactions of up to `batch_size`
//! records. Without a file (`path` unset) the records are kept in memory,
//! the newest `max_rows` of them within `max_memory_mb`, and queried there:
//! no queue, no thread.
//!
//! # Example
//!
//! ```
//! use switchyard_journal::{Journal, JournalConfig, RecordFilter};
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let journal = Journal::open(&JournalConfig::default()).unwrap(); // in memory
//! // RecorderLayer::new().hooks(journal.clone()) in a stack ...
//! let page = journal.records(RecordFilter::default()).await.unwrap();
//! assert!(page.records.is_empty());
//! journal.close(std::time::Duration::from_secs(5));
//! # });
//! ```
//!
//! # Behavior
//!
//! - SQLite (WAL mode) is the embedded store: a file named by `path`. Its
//!   schema is versioned (`PRAGMA user_version`) and migrated on open; a
//!   newer schema is refused. Without a `path` the records stay in memory
//!   (lost at exit), and queries answer the same JSON.
//! - Retention: rows older than `retention_days`, and the oldest rows past
//!   `max_rows`, are deleted as the writer goes.
//! - [`Journal::close`] writes everything queued before it returns: a clean
//!   shutdown loses nothing. A killed process loses at most what was queued
//!   and not yet committed.
//! - Queries on a file run on their own read-only connection; in memory
//!   they copy the matching records' `Arc`s under a short lock, then compute.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod config;
mod jsonl;
mod memory;
mod query;
mod schema;
mod sqlite;
mod writer;

pub use config::JournalConfig;
pub use query::{Page, ProjectActivity, RecordFilter, Stats};
pub use switchyard_recorder::Record;
pub use writer::Journal;

/// Records dropped because the queue was full or the journal closed.
pub const DROPPED_METRIC: &str = "switchyard_journal_dropped_total";
/// Records written.
pub const WRITTEN_METRIC: &str = "switchyard_journal_written_total";
/// Records waiting in the queue.
pub const QUEUE_METRIC: &str = "switchyard_journal_queue_depth";
