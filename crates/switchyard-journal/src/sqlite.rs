//! Writing records to SQLite, and retention.

use std::borrow::Cow;
use std::path::Path;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use rusqlite::{Connection, OpenFlags, params};
use switchyard_recorder::{Record, lossy_text, scrub_secrets};

use crate::schema;

/// Opens (creating) the journal file and migrates it.
pub(crate) fn open(path: &Path) -> Result<Connection, String> {
    let mut conn = Connection::open(path)
        .map_err(|e| format!("opening the journal `{}`: {e}", path.display()))?;
    // WAL: readers never block the writer, and a killed process loses
    // nothing committed. NORMAL sync: durable across process crashes.
    conn.pragma_update(None, "journal_mode", "WAL")
        .and_then(|()| conn.pragma_update(None, "synchronous", "NORMAL"))
        .map_err(|e| format!("setting up the journal: {e}"))?;
    conn.busy_timeout(std::time::Duration::from_secs(5))
        .map_err(|e| format!("setting up the journal: {e}"))?;
    schema::migrate(&mut conn)?;
    Ok(conn)
}

/// A read-only connection to the journal file, for queries.
pub(crate) fn open_reader(path: &Path) -> Result<Connection, String> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| format!("opening the journal `{}`: {e}", path.display()))?;
    conn.busy_timeout(std::time::Duration::from_secs(5))
        .map_err(|e| e.to_string())?;
    Ok(conn)
}

const INSERT: &str = "INSERT OR REPLACE INTO records (
    id, ts_ms, endpoint, protocol, stream, key_id, team, source, project, tags,
    route, requested_model, candidates, attempts, attempt_count, provider, model, response_model,
    status, outcome, error_type, finish_reason,
    input_tokens, output_tokens, cached_tokens, cache_write_tokens, reasoning_tokens, estimated, cost_usd,
    duration_ms, ttfb_ms, ttft_ms, overhead_us, tokens_per_second, chunks, response_bytes,
    request_body, request_truncated, response_body, response_truncated, answer, answer_truncated,
    guard_findings
) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20,
    ?21, ?22, ?23, ?24, ?25, ?26, ?27, ?28, ?29, ?30, ?31, ?32, ?33, ?34, ?35, ?36, ?37, ?38, ?39, ?40, ?41, ?42,
    ?43)";

fn json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "[]".into())
}

/// A body as scrubbed text, borrowed unless it had to change.
fn text(b: &[u8]) -> Cow<'_, str> {
    match lossy_text(b) {
        Cow::Borrowed(t) => scrub_secrets(t),
        Cow::Owned(t) => Cow::Owned(scrub_secrets(&t).into_owned()),
    }
}

/// Writes a batch in one transaction.
pub(crate) fn insert(conn: &mut Connection, batch: &[Arc<Record>]) -> rusqlite::Result<()> {
    let tx = conn.transaction()?;
    {
        let mut stmt = tx.prepare_cached(INSERT)?;
        for r in batch {
            let u = r.usage;
            stmt.execute(params![
                r.id,
                r.ts_ms,
                r.endpoint,
                r.protocol,
                r.stream,
                r.key_id,
                r.team,
                r.source,
                r.project,
                json(&r.tags),
                r.route,
                r.requested_model,
                json(&r.candidates),
                json(&r.attempts),
                r.attempts.len() as i64,
                r.provider,
                r.model,
                r.response_model,
                r.status,
                r.outcome.as_str(),
                r.error_type,
                r.finish_reason,
                u.map(|u| u.input_tokens as i64),
                u.map(|u| u.output_tokens as i64),
                u.map(|u| u.cached_tokens as i64),
                u.map(|u| u.cache_write_tokens as i64),
                u.map(|u| u.reasoning_tokens as i64),
                u.map(|u| u.estimated),
                r.cost_usd,
                r.duration_ms,
                r.ttfb_ms,
                r.ttft_ms,
                r.overhead_us.map(|v| v as i64),
                r.tokens_per_second,
                r.chunks as i64,
                r.response_bytes as i64,
                text(&r.request_body),
                r.request_truncated,
                r.response_body.as_deref().map(text),
                r.response_truncated,
                r.answer,
                r.answer_truncated,
                (!r.guard_findings.is_empty()).then(|| json(&r.guard_findings)),
            ])?;
        }
    }
    tx.commit()
}

/// Deletes records past the retention window and the row limit; returns how many.
pub(crate) fn retain(
    conn: &Connection,
    retention_days: u32,
    max_rows: Option<u64>,
) -> rusqlite::Result<usize> {
    let mut deleted = 0;
    if retention_days > 0 {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64);
        let cutoff = now - i64::from(retention_days) * 86_400_000;
        deleted += conn.execute("DELETE FROM records WHERE ts_ms < ?1", [cutoff])?;
    }
    if let Some(max) = max_rows {
        let max = i64::try_from(max).unwrap_or(i64::MAX);
        deleted += conn.execute(
            "DELETE FROM records WHERE rowid <= (SELECT max(rowid) FROM records) - ?1",
            [max],
        )?;
    }
    Ok(deleted)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page_size(conn: &Connection) -> i64 {
        conn.query_row("PRAGMA page_size", [], |r| r.get(0))
            .unwrap()
    }

    fn indexes(conn: &Connection) -> Vec<String> {
        let mut stmt = conn
            .prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND name NOT LIKE 'sqlite_%' ORDER BY name")
            .unwrap();
        stmt.query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    }

    #[test]
    fn a_file_journal_keeps_every_index_for_its_queries() {
        let dir = std::env::temp_dir().join(format!("sy-journal-page-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = open(&dir.join("j.db")).unwrap();
        assert_eq!(page_size(&file), 4096);
        assert_eq!(
            indexes(&file),
            [
                "records_model_ts",
                "records_project_ts",
                "records_source_ts",
                "records_ts"
            ]
        );
        drop(file);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
