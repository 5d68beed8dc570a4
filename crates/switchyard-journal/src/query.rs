//! Reading the journal back: record listings, one record, stats, projects.

use rusqlite::types::Value as Sql;
use rusqlite::{Connection, Row};
use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::writer::Journal;

/// Which records to list, newest first.
#[derive(Clone, Debug, Default)]
pub struct RecordFilter {
    /// Only this project.
    pub project: Option<String>,
    /// Only this source.
    pub source: Option<String>,
    /// Only this model (as sent to the provider, or as asked for).
    pub model: Option<String>,
    /// Only this provider.
    pub provider: Option<String>,
    /// Only this key id.
    pub key_id: Option<String>,
    /// Only this status (`200`), or a class: `2xx` ... `5xx`, `error` (any error type).
    pub status: Option<String>,
    /// Only this error type.
    pub error_type: Option<String>,
    /// From this time (ms since the epoch), inclusive.
    pub since_ms: Option<i64>,
    /// Until this time (ms since the epoch), exclusive.
    pub until_ms: Option<i64>,
    /// Only records older than this id (the `next` cursor of a previous page).
    pub before: Option<String>,
    /// Page size (default 50, at most 1000).
    pub limit: Option<usize>,
}

/// A page of records, newest first.
#[derive(Clone, Debug, Serialize)]
pub struct Page {
    /// The records, without bodies.
    pub records: Vec<Value>,
    /// Pass as `before` for the next page; `None` on the last.
    pub next: Option<String>,
}

/// Totals and breakdowns over a time window.
#[derive(Clone, Debug, Serialize)]
pub struct Stats {
    /// Everything in the window.
    pub totals: Value,
    /// Per model served (`key` null: no model, e.g. refused requests).
    pub by_model: Vec<Value>,
    /// Per provider.
    pub by_provider: Vec<Value>,
    /// Per `x-source`.
    pub by_source: Vec<Value>,
    /// Per project.
    pub by_project: Vec<Value>,
    /// Per key id.
    pub by_key: Vec<Value>,
    /// Per team (of the caller's key).
    pub by_team: Vec<Value>,
}

/// A project seen recently.
#[derive(Clone, Debug, Serialize)]
pub struct ProjectActivity {
    /// The project.
    pub project: String,
    /// Requests in the window.
    pub requests: i64,
    /// Their cost in USD.
    pub cost_usd: f64,
    /// Tokens in and out.
    pub input_tokens: i64,
    /// Tokens out.
    pub output_tokens: i64,
    /// The last request, RFC 3339.
    pub last_seen: String,
    /// The same, ms since the epoch.
    pub last_seen_ms: i64,
}

/// The columns of a listed record (bodies excluded).
const LEAN: &str = "id, ts_ms, endpoint, protocol, stream, key_id, team, source, project, tags, route,
    requested_model, attempt_count, provider, model, response_model, status, outcome, error_type,
    finish_reason, input_tokens, output_tokens, cached_tokens, cache_write_tokens, reasoning_tokens,
    estimated, cost_usd, duration_ms, ttfb_ms, ttft_ms, overhead_us, tokens_per_second, chunks, response_bytes";

/// Extra columns of a full record.
const FULL: &str = "candidates, attempts, request_body, request_truncated, response_body,
    response_truncated, answer, answer_truncated, guard_findings";

fn sql_err(e: rusqlite::Error) -> String {
    format!("journal query failed: {e}")
}

fn to_json(v: Sql) -> Value {
    match v {
        Sql::Null => Value::Null,
        Sql::Integer(i) => json!(i),
        Sql::Real(f) => json!(f),
        Sql::Text(s) => Value::String(s),
        Sql::Blob(b) => Value::String(String::from_utf8_lossy(&b).into_owned()),
    }
}

/// A row of `LEAN` (and `FULL`) columns as the record's JSON.
fn row_json(row: &Row<'_>, full: bool) -> rusqlite::Result<Value> {
    let names: Vec<String> = row
        .as_ref()
        .column_names()
        .iter()
        .map(|s| s.to_string())
        .collect();
    let mut m = Map::new();
    let mut usage = Map::new();
    for (i, name) in names.iter().enumerate() {
        let v = to_json(row.get::<_, Sql>(i)?);
        match name.as_str() {
            "stream" | "request_truncated" | "response_truncated" | "answer_truncated" => {
                m.insert(name.clone(), json!(v.as_i64().unwrap_or(0) != 0));
            }
            "tags" | "candidates" | "attempts" | "guard_findings" => {
                let parsed = v
                    .as_str()
                    .and_then(|s| serde_json::from_str(s).ok())
                    .unwrap_or(json!([]));
                m.insert(name.clone(), parsed);
            }
            "input_tokens" | "output_tokens" | "cached_tokens" | "cache_write_tokens"
            | "reasoning_tokens" => {
                usage.insert(name.clone(), v);
            }
            "estimated" => {
                usage.insert(name.clone(), json!(v.as_i64().unwrap_or(0) != 0));
            }
            "attempt_count" if full => {}
            "attempt_count" => {
                m.insert("attempts".into(), v);
            }
            _ => {
                m.insert(name.clone(), v);
            }
        }
    }
    if let Some(ts) = m.get("ts_ms").and_then(Value::as_i64) {
        m.insert("time".into(), json!(switchyard_recorder::rfc3339(ts)));
    }
    let has_usage = usage.get("input_tokens").is_some_and(|v| !v.is_null());
    m.insert(
        "usage".into(),
        if has_usage {
            Value::Object(usage)
        } else {
            Value::Null
        },
    );
    Ok(Value::Object(m))
}

/// `WHERE` clauses and their parameters for a filter.
fn conditions(f: &RecordFilter) -> (String, Vec<Sql>) {
    let mut clauses = Vec::new();
    let mut params = Vec::new();
    let mut eq = |col: &str, v: &Option<String>| {
        if let Some(v) = v {
            clauses.push(format!("{col} = ?{}", params.len() + 1));
            params.push(Sql::Text(v.clone()));
        }
    };
    eq("project", &f.project);
    eq("source", &f.source);
    eq("provider", &f.provider);
    eq("key_id", &f.key_id);
    eq("error_type", &f.error_type);
    if let Some(model) = &f.model {
        let n = params.len() + 1;
        clauses.push(format!("(model = ?{n} OR requested_model = ?{n})"));
        params.push(Sql::Text(model.clone()));
    }
    if let Some(status) = &f.status {
        let class = status
            .strip_suffix("xx")
            .and_then(|d| d.parse::<i64>().ok());
        if status == "error" {
            clauses.push("error_type IS NOT NULL".into());
        } else if let Some(c) = class {
            clauses.push(format!("status BETWEEN {} AND {}", c * 100, c * 100 + 99));
        } else {
            let n = params.len() + 1;
            clauses.push(format!("status = ?{n}"));
            params.push(Sql::Integer(status.parse().unwrap_or(-1)));
        }
    }
    let mut range = |op: &str, v: Option<i64>| {
        if let Some(v) = v {
            clauses.push(format!("ts_ms {op} ?{}", params.len() + 1));
            params.push(Sql::Integer(v));
        }
    };
    range(">=", f.since_ms);
    range("<", f.until_ms);
    if let Some(before) = &f.before {
        clauses.push(format!("id < ?{}", params.len() + 1));
        params.push(Sql::Text(before.clone()));
    }
    let sql = if clauses.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", clauses.join(" AND "))
    };
    (sql, params)
}

fn list(conn: &Connection, f: &RecordFilter) -> Result<Page, String> {
    let limit = f.limit.unwrap_or(50).clamp(1, 1000);
    let (filter, params) = conditions(f);
    let sql = format!(
        "SELECT {LEAN} FROM records {filter} ORDER BY id DESC LIMIT {}",
        limit + 1
    );
    let mut stmt = conn.prepare(&sql).map_err(sql_err)?;
    let mut records: Vec<Value> = stmt
        .query_map(rusqlite::params_from_iter(params), |r| row_json(r, false))
        .map_err(sql_err)?
        .collect::<Result<_, _>>()
        .map_err(sql_err)?;
    let next = if records.len() > limit {
        records.truncate(limit);
        records
            .last()
            .and_then(|r| r["id"].as_str())
            .map(str::to_owned)
    } else {
        None
    };
    Ok(Page { records, next })
}

/// The aggregate columns of stats.
const AGGREGATES: &str = "count(*) AS requests,
    count(error_type) AS errors,
    coalesce(sum(input_tokens), 0) AS input_tokens,
    coalesce(sum(output_tokens), 0) AS output_tokens,
    coalesce(sum(cached_tokens), 0) AS cached_tokens,
    coalesce(sum(reasoning_tokens), 0) AS reasoning_tokens,
    coalesce(sum(estimated), 0) AS estimated,
    coalesce(sum(cost_usd), 0.0) AS cost_usd,
    avg(duration_ms) AS avg_duration_ms,
    avg(ttft_ms) AS avg_ttft_ms,
    avg(tokens_per_second) AS avg_tokens_per_second,
    max(ts_ms) AS last_ms";

fn aggregate_json(row: &Row<'_>, offset: usize) -> rusqlite::Result<Map<String, Value>> {
    let names = [
        "requests",
        "errors",
        "input_tokens",
        "output_tokens",
        "cached_tokens",
        "reasoning_tokens",
        "estimated",
        "cost_usd",
        "avg_duration_ms",
        "avg_ttft_ms",
        "avg_tokens_per_second",
    ];
    let mut m = Map::new();
    for (i, name) in names.iter().enumerate() {
        m.insert((*name).into(), to_json(row.get::<_, Sql>(offset + i)?));
    }
    let last = row.get::<_, Option<i64>>(offset + names.len())?;
    m.insert(
        "last_seen".into(),
        json!(last.map(switchyard_recorder::rfc3339)),
    );
    Ok(m)
}

fn window(since_ms: i64, until_ms: i64) -> (String, [i64; 2]) {
    (
        "WHERE ts_ms >= ?1 AND ts_ms < ?2".into(),
        [since_ms, until_ms],
    )
}

fn percentile(
    conn: &Connection,
    since: i64,
    until: i64,
    col: &str,
    n: i64,
    p: f64,
) -> Result<Value, String> {
    if n == 0 {
        return Ok(Value::Null);
    }
    let offset = ((n - 1) as f64 * p).round() as i64;
    let sql = format!(
        "SELECT {col} FROM records WHERE ts_ms >= ?1 AND ts_ms < ?2 AND {col} IS NOT NULL ORDER BY {col} LIMIT 1 OFFSET ?3"
    );
    conn.query_row(&sql, [since, until, offset], |r| r.get::<_, Sql>(0))
        .map(to_json)
        .or_else(|e| match e {
            rusqlite::Error::QueryReturnedNoRows => Ok(Value::Null),
            e => Err(sql_err(e)),
        })
}

fn stats(conn: &Connection, since: i64, until: i64) -> Result<Stats, String> {
    let (filter, params) = window(since, until);
    let mut totals = conn
        .query_row(
            &format!("SELECT {AGGREGATES} FROM records {filter}"),
            params,
            |r| aggregate_json(r, 0),
        )
        .map_err(sql_err)?;
    for (col, name) in [("duration_ms", "duration_ms"), ("ttft_ms", "ttft_ms")] {
        for (p, label) in [(0.5, "p50"), (0.95, "p95"), (0.99, "p99")] {
            let count: i64 = conn
                .query_row(
                    &format!("SELECT count({col}) FROM records {filter}"),
                    params,
                    |r| r.get(0),
                )
                .map_err(sql_err)?;
            totals.insert(
                format!("{label}_{name}"),
                percentile(conn, since, until, col, count, p)?,
            );
        }
    }
    let group = |col: &str| -> Result<Vec<Value>, String> {
        let sql = format!(
            "SELECT {col}, {AGGREGATES} FROM records {filter} GROUP BY {col} ORDER BY cost_usd DESC, requests DESC LIMIT 200"
        );
        let mut stmt = conn.prepare(&sql).map_err(sql_err)?;
        let rows = stmt
            .query_map(params, |r| {
                let mut m = Map::new();
                m.insert("key".into(), to_json(r.get::<_, Sql>(0)?));
                m.extend(aggregate_json(r, 1)?);
                Ok(Value::Object(m))
            })
            .map_err(sql_err)?;
        rows.collect::<Result<_, _>>().map_err(sql_err)
    };
    Ok(Stats {
        totals: Value::Object(totals),
        by_model: group("model")?,
        by_provider: group("provider")?,
        by_source: group("source")?,
        by_project: group("project")?,
        by_key: group("key_id")?,
        by_team: group("team")?,
    })
}

fn projects(conn: &Connection, since_ms: i64) -> Result<Vec<ProjectActivity>, String> {
    let mut stmt = conn
        .prepare(
            "SELECT project, count(*), coalesce(sum(cost_usd), 0.0), coalesce(sum(input_tokens), 0),
                    coalesce(sum(output_tokens), 0), max(ts_ms)
             FROM records WHERE ts_ms >= ?1 AND project IS NOT NULL
             GROUP BY project ORDER BY max(ts_ms) DESC",
        )
        .map_err(sql_err)?;
    let rows = stmt
        .query_map([since_ms], |r| {
            let last: i64 = r.get(5)?;
            Ok(ProjectActivity {
                project: r.get(0)?,
                requests: r.get(1)?,
                cost_usd: r.get(2)?,
                input_tokens: r.get(3)?,
                output_tokens: r.get(4)?,
                last_seen: switchyard_recorder::rfc3339(last),
                last_seen_ms: last,
            })
        })
        .map_err(sql_err)?;
    rows.collect::<Result<_, _>>().map_err(sql_err)
}

impl Journal {
    /// A page of records matching `filter`, newest first, without bodies.
    pub async fn records(&self, filter: RecordFilter) -> Result<Page, String> {
        let f = filter.clone();
        self.query(move |ring| ring.list(&f), move |c| list(c, &filter))
            .await
    }

    /// One record with everything, bodies included.
    pub async fn record(&self, id: String) -> Result<Option<Value>, String> {
        let wanted = id.clone();
        self.query(
            move |ring| ring.record(&wanted),
            move |c| {
                let sql = format!("SELECT {LEAN}, {FULL} FROM records WHERE id = ?1");
                match c.query_row(&sql, [id], |r| row_json(r, true)) {
                    Ok(v) => Ok(Some(v)),
                    Err(rusqlite::Error::QueryReturnedNoRows) => Ok(None),
                    Err(e) => Err(sql_err(e)),
                }
            },
        )
        .await
    }

    /// Totals and breakdowns of the records in `[since_ms, until_ms)`.
    pub async fn stats(&self, since_ms: i64, until_ms: i64) -> Result<Stats, String> {
        self.query(
            move |ring| ring.stats(since_ms, until_ms),
            move |c| stats(c, since_ms, until_ms),
        )
        .await
    }

    /// Projects with a request since `since_ms`, most recent first.
    pub async fn projects(&self, since_ms: i64) -> Result<Vec<ProjectActivity>, String> {
        self.query(
            move |ring| ring.projects(since_ms),
            move |c| projects(c, since_ms),
        )
        .await
    }

    /// How many records the journal holds.
    pub async fn count(&self) -> Result<u64, String> {
        self.query(
            |ring| ring.len() as u64,
            |c| {
                c.query_row("SELECT count(*) FROM records", [], |r| r.get::<_, i64>(0))
                    .map(|n| n as u64)
                    .map_err(sql_err)
            },
        )
        .await
    }
}
