//! The JSONL sink: one record per line, appended.

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::Path;
use std::sync::Arc;

use switchyard_recorder::Record;

/// An open JSONL file.
pub(crate) struct JsonlSink {
    out: BufWriter<File>,
}

impl JsonlSink {
    pub(crate) fn open(path: &Path) -> Result<Self, String> {
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| format!("opening the JSONL journal `{}`: {e}", path.display()))?;
        Ok(JsonlSink {
            out: BufWriter::with_capacity(256 << 10, file),
        })
    }

    /// Appends a batch and flushes it to the file.
    pub(crate) fn write(&mut self, batch: &[Arc<Record>]) -> std::io::Result<()> {
        for r in batch {
            serde_json::to_writer(&mut self.out, &**r)?;
            self.out.write_all(b"\n")?;
        }
        self.out.flush()
    }
}
