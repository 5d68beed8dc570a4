//! The SQLite schema and its versioned migrations.

use rusqlite::Connection;

/// Each migration, in order; `PRAGMA user_version` is how many were applied.
const MIGRATIONS: &[&str] = &[
    // 1: records, with the columns the admin API filters and groups by indexed.
    "CREATE TABLE records (
        id TEXT PRIMARY KEY,
        ts_ms INTEGER NOT NULL,
        endpoint TEXT NOT NULL,
        protocol TEXT NOT NULL,
        stream INTEGER NOT NULL,
        key_id TEXT,
        team TEXT,
        source TEXT,
        project TEXT,
        tags TEXT NOT NULL DEFAULT '[]',
        route TEXT,
        requested_model TEXT,
        candidates TEXT NOT NULL DEFAULT '[]',
        attempts TEXT NOT NULL DEFAULT '[]',
        attempt_count INTEGER NOT NULL DEFAULT 0,
        provider TEXT,
        model TEXT,
        response_model TEXT,
        status INTEGER NOT NULL,
        outcome TEXT NOT NULL,
        error_type TEXT,
        finish_reason TEXT,
        input_tokens INTEGER,
        output_tokens INTEGER,
        cached_tokens INTEGER,
        cache_write_tokens INTEGER,
        reasoning_tokens INTEGER,
        estimated INTEGER,
        cost_usd REAL,
        duration_ms REAL NOT NULL,
        ttfb_ms REAL,
        ttft_ms REAL,
        overhead_us INTEGER,
        tokens_per_second REAL,
        chunks INTEGER NOT NULL,
        response_bytes INTEGER NOT NULL,
        request_body TEXT,
        request_truncated INTEGER NOT NULL DEFAULT 0,
        response_body TEXT,
        response_truncated INTEGER NOT NULL DEFAULT 0,
        answer TEXT,
        answer_truncated INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX records_ts ON records (ts_ms);
    CREATE INDEX records_project_ts ON records (project, ts_ms);
    CREATE INDEX records_source_ts ON records (source, ts_ms);
    CREATE INDEX records_model_ts ON records (model, ts_ms);",
    // 2: the prompt guard's findings (JSON), null when there are none.
    "ALTER TABLE records ADD COLUMN guard_findings TEXT;",
];

/// The schema version this build writes.
pub(crate) const VERSION: usize = MIGRATIONS.len();

/// Applies the missing migrations; refuses a database from a newer build.
pub(crate) fn migrate(conn: &mut Connection) -> Result<(), String> {
    let current: usize = conn
        .query_row("PRAGMA user_version", [], |r| r.get::<_, i64>(0))
        .map_err(|e| format!("reading the journal's schema version: {e}"))?
        .try_into()
        .unwrap_or(usize::MAX);
    if current > VERSION {
        return Err(format!(
            "the journal's schema is version {current}, newer than this build's {VERSION}: use a newer switchyard or another file"
        ));
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(current) {
        let tx = conn
            .transaction()
            .map_err(|e| format!("migrating the journal: {e}"))?;
        tx.execute_batch(sql)
            .and_then(|()| tx.pragma_update(None, "user_version", (i + 1) as i64))
            .and_then(|()| tx.commit())
            .map_err(|e| format!("migrating the journal to version {}: {e}", i + 1))?;
    }
    Ok(())
}
