//! [`JournalConfig`]: where and how records are kept.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// The `[journal]` section of the gateway's configuration.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct JournalConfig {
    /// Journal at all (default `true`).
    pub enabled: bool,
    /// The SQLite file; unset: the records are kept in memory, lost at exit.
    pub path: Option<PathBuf>,
    /// Also append every record as one JSON line to this file.
    pub jsonl: Option<PathBuf>,
    /// Records waiting to be written before new ones are dropped (and counted).
    pub queue_capacity: usize,
    /// The most records written in one transaction.
    pub batch_size: usize,
    /// Bytes kept of each request body, answer body and answer text.
    pub max_body_bytes: usize,
    /// Delete records older than this many days (0: keep).
    pub retention_days: u32,
    /// Keep at most this many records, deleting the oldest (0: no limit;
    /// default 10 000 in memory, none for a file).
    pub max_rows: Option<u64>,
    /// In memory (no `path`): also forget the oldest records once the kept
    /// ones hold more than this many MiB, bodies included (0: no limit).
    pub max_memory_mb: u64,
}

impl Default for JournalConfig {
    fn default() -> Self {
        JournalConfig {
            enabled: true,
            path: None,
            jsonl: None,
            queue_capacity: 10_000,
            batch_size: 512,
            max_body_bytes: 64 << 10,
            retention_days: 30,
            max_rows: None,
            max_memory_mb: 64,
        }
    }
}

impl JournalConfig {
    /// Checks the numbers.
    pub fn validate(&self) -> Result<(), String> {
        if self.queue_capacity == 0 {
            return Err("`journal.queue_capacity` must be at least 1".into());
        }
        if self.batch_size == 0 {
            return Err("`journal.batch_size` must be at least 1".into());
        }
        Ok(())
    }

    /// The in-memory journal's byte limit in force.
    pub fn memory_limit(&self) -> Option<usize> {
        (self.max_memory_mb > 0).then(|| {
            usize::try_from(self.max_memory_mb.saturating_mul(1 << 20)).unwrap_or(usize::MAX)
        })
    }

    /// The row limit in force.
    pub fn row_limit(&self) -> Option<u64> {
        match (self.max_rows, &self.path) {
            (Some(0), _) => None,
            (Some(n), _) => Some(n),
            (None, None) => Some(10_000),
            (None, Some(_)) => None,
        }
    }
}
