//! The in-memory journal: the newest records in a ring, queried in Rust.
//!
//! Without a `path` the journal keeps its records (`max_rows`, 10,000 by
//! default, and no more than `max_memory_mb`, 64 MiB by default, bodies
//! included) in memory and loses them at exit. An in-memory SQLite database
//! did that job at about a quarter of a non-streamed request's CPU time
//! (binding 43 columns, copying and scrubbing the bodies, the B-tree and its
//! rollback journal); the ring keeps the records the recorder already built
//! (`Arc`s, their bodies copied out of the read buffers) and answers the same
//! queries with the same JSON by scanning them. Secrets in bodies are
//! scrubbed when a record is read, as the SQLite journal scrubs them when it
//! writes. `tests/journal.rs` checks that both answer alike.

use std::collections::VecDeque;
use std::collections::hash_map::Entry;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;
use serde_json::{Map, Value, json};
use switchyard_recorder::{Record, UsageRecord, lossy_text, rfc3339, scrub_secrets};

use crate::query::{Page, ProjectActivity, RecordFilter, Stats};

/// The records, oldest first, and the limits that keep them few.
pub(crate) struct Ring {
    rows: Mutex<Rows>,
    max_rows: Option<usize>,
    max_bytes: Option<usize>,
    retention_ms: Option<i64>,
}

/// The kept records and the bytes they hold ([`Record::size`]).
#[derive(Default)]
struct Rows {
    records: VecDeque<Arc<Record>>,
    bytes: usize,
}

impl Rows {
    fn pop_front(&mut self) {
        if let Some(r) = self.records.pop_front() {
            self.bytes -= r.size();
        }
    }
}

impl Ring {
    pub(crate) fn new(
        max_rows: Option<u64>,
        max_bytes: Option<usize>,
        retention_days: u32,
    ) -> Ring {
        Ring {
            rows: Mutex::default(),
            max_rows: max_rows.map(|n| usize::try_from(n).unwrap_or(usize::MAX)),
            max_bytes,
            retention_ms: (retention_days > 0).then(|| i64::from(retention_days) * 86_400_000),
        }
    }

    /// Keeps `record`, forgetting the oldest past `max_rows`, the memory
    /// limit (the newest record is always kept) or the retention window.
    pub(crate) fn push(&self, record: Arc<Record>) {
        let cutoff = self.retention_ms.map(|ms| now_ms() - ms);
        let size = record.size();
        let mut rows = lock(&self.rows);
        rows.records.push_back(record);
        rows.bytes += size;
        let max_rows = self.max_rows.unwrap_or(usize::MAX);
        let max_bytes = self.max_bytes.unwrap_or(usize::MAX);
        while rows.records.len() > max_rows || (rows.bytes > max_bytes && rows.records.len() > 1) {
            rows.pop_front();
        }
        if let Some(cutoff) = cutoff {
            while rows.records.front().is_some_and(|r| r.ts_ms < cutoff) {
                rows.pop_front();
            }
        }
    }

    pub(crate) fn len(&self) -> usize {
        lock(&self.rows).records.len()
    }

    /// The records `keep` accepts, oldest first; the lock is held only to
    /// copy their `Arc`s, never while a query computes.
    fn select(&self, keep: impl Fn(&Record) -> bool) -> Vec<Arc<Record>> {
        let cutoff = self.retention_ms.map(|ms| now_ms() - ms);
        lock(&self.rows)
            .records
            .iter()
            .filter(|r| cutoff.is_none_or(|c| r.ts_ms >= c) && keep(r))
            .cloned()
            .collect()
    }

    /// The newest record with this id, everything included.
    pub(crate) fn record(&self, id: &str) -> Option<Value> {
        let found = lock(&self.rows)
            .records
            .iter()
            .rev()
            .find(|r| r.id == id)
            .cloned();
        found.map(|r| record_json(&r, true))
    }

    pub(crate) fn list(&self, f: &RecordFilter) -> Page {
        let limit = f.limit.unwrap_or(50).clamp(1, 1000);
        let status = f.status.as_deref().map(StatusFilter::parse);
        let mut rows = self.select(|r| matches(r, f, status.as_ref()));
        // Newest first by id, as the SQLite journal orders them. Only the
        // page is sorted: the console lists the newest 50 of 10,000 often.
        let newest_first = |a: &Arc<Record>, b: &Arc<Record>| b.id.cmp(&a.id);
        let more = rows.len() > limit;
        if more {
            rows.select_nth_unstable_by(limit - 1, newest_first);
            rows.truncate(limit);
        }
        rows.sort_unstable_by(newest_first);
        let next = more.then(|| rows[limit - 1].id.clone());
        Page {
            records: rows.iter().map(|r| record_json(r, false)).collect(),
            next,
        }
    }

    pub(crate) fn stats(&self, since_ms: i64, until_ms: i64) -> Stats {
        let rows = self.select(|r| r.ts_ms >= since_ms && r.ts_ms < until_ms);
        let all: Aggregate = rows.iter().map(|r| &**r).collect();
        let mut totals = all.json();
        let durations: Vec<f64> = rows.iter().filter_map(|r| real(r.duration_ms)).collect();
        let ttfts: Vec<f64> = rows
            .iter()
            .filter_map(|r| r.ttft_ms.and_then(real))
            .collect();
        for (name, mut values) in [("duration_ms", durations), ("ttft_ms", ttfts)] {
            values.sort_unstable_by(f64::total_cmp);
            for (p, label) in [(0.5, "p50"), (0.95, "p95"), (0.99, "p99")] {
                let at = ((values.len() as f64 - 1.0) * p).round();
                let v = (!values.is_empty()).then(|| values[at as usize]);
                totals.insert(format!("{label}_{name}"), json!(v));
            }
        }
        let group = |key: fn(&Record) -> Option<&str>| groups(&rows, key);
        Stats {
            totals: Value::Object(totals),
            by_model: group(|r| r.model.as_deref()),
            by_provider: group(|r| r.provider.as_deref()),
            by_source: group(|r| r.source.as_deref()),
            by_project: group(|r| r.project.as_deref()),
            by_key: group(|r| r.key_id.as_deref()),
            by_team: group(|r| r.team.as_deref()),
        }
    }

    pub(crate) fn projects(&self, since_ms: i64) -> Vec<ProjectActivity> {
        let rows = self.select(|r| r.ts_ms >= since_ms && r.project.is_some());
        let mut by: foldhash::HashMap<&str, Aggregate> = foldhash::HashMap::default();
        for r in &rows {
            let project = r.project.as_deref().unwrap_or_default();
            by.entry(project).or_default().add(r);
        }
        let mut out: Vec<ProjectActivity> = by
            .into_iter()
            .map(|(project, a)| ProjectActivity {
                project: project.to_owned(),
                requests: a.requests,
                cost_usd: a.cost_usd.total(),
                input_tokens: a.input_tokens,
                output_tokens: a.output_tokens,
                last_seen: a.last_ms.map(rfc3339).unwrap_or_default(),
                last_seen_ms: a.last_ms.unwrap_or_default(),
            })
            .collect();
        out.sort_by(|a, b| {
            b.last_seen_ms
                .cmp(&a.last_seen_ms)
                .then_with(|| a.project.cmp(&b.project))
        });
        out
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// A float as SQLite keeps it: NaN is stored as NULL.
fn real(v: f64) -> Option<f64> {
    (!v.is_nan()).then_some(v)
}

/// `status` of a [`RecordFilter`]: `error`, a class (`2xx`), or one status.
enum StatusFilter {
    Error,
    Between(i64, i64),
    Is(i64),
}

impl StatusFilter {
    fn parse(status: &str) -> StatusFilter {
        let class = status
            .strip_suffix("xx")
            .and_then(|d| d.parse::<i64>().ok());
        if status == "error" {
            StatusFilter::Error
        } else if let Some(c) = class {
            StatusFilter::Between(c.saturating_mul(100), c.saturating_mul(100) + 99)
        } else {
            StatusFilter::Is(status.parse().unwrap_or(-1))
        }
    }

    fn matches(&self, r: &Record) -> bool {
        let status = i64::from(r.status);
        match *self {
            StatusFilter::Error => r.error_type.is_some(),
            StatusFilter::Between(lo, hi) => (lo..=hi).contains(&status),
            StatusFilter::Is(s) => status == s,
        }
    }
}

/// Whether `r` passes every condition of `f` (the same ones the SQLite
/// journal's `WHERE` clause puts).
fn matches(r: &Record, f: &RecordFilter, status: Option<&StatusFilter>) -> bool {
    fn eq(field: Option<&str>, wanted: Option<&String>) -> bool {
        wanted.is_none_or(|w| field == Some(w.as_str()))
    }
    eq(r.project.as_deref(), f.project.as_ref())
        && eq(r.source.as_deref(), f.source.as_ref())
        && eq(r.provider.as_deref(), f.provider.as_ref())
        && eq(r.key_id.as_deref(), f.key_id.as_ref())
        && eq(r.error_type, f.error_type.as_ref())
        && f.model.as_deref().is_none_or(|m| {
            r.model.as_deref() == Some(m) || r.requested_model.as_deref() == Some(m)
        })
        && status.is_none_or(|s| s.matches(r))
        && f.since_ms.is_none_or(|t| r.ts_ms >= t)
        && f.until_ms.is_none_or(|t| r.ts_ms < t)
        && f.before.as_deref().is_none_or(|b| r.id.as_str() < b)
}

/// A sum of floats with Neumaier's compensation, as SQLite's `sum()` keeps it.
#[derive(Clone, Copy, Default)]
struct Sum {
    sum: f64,
    compensation: f64,
}

impl Sum {
    fn add(&mut self, v: f64) {
        let t = self.sum + v;
        if self.sum.abs() >= v.abs() {
            self.compensation += (self.sum - t) + v;
        } else {
            self.compensation += (v - t) + self.sum;
        }
        self.sum = t;
    }

    fn total(self) -> f64 {
        self.sum + self.compensation
    }
}

/// The aggregate figures of stats, over some records.
#[derive(Default)]
struct Aggregate {
    requests: i64,
    errors: i64,
    input_tokens: i64,
    output_tokens: i64,
    cached_tokens: i64,
    reasoning_tokens: i64,
    estimated: i64,
    cost_usd: Sum,
    duration: (Sum, i64),
    ttft: (Sum, i64),
    tokens_per_second: (Sum, i64),
    last_ms: Option<i64>,
}

impl Aggregate {
    fn add(&mut self, r: &Record) {
        fn mean(m: &mut (Sum, i64), v: Option<f64>) {
            if let Some(v) = v.and_then(real) {
                m.0.add(v);
                m.1 += 1;
            }
        }
        let n = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
        self.requests += 1;
        self.errors += i64::from(r.error_type.is_some());
        if let Some(u) = r.usage {
            self.input_tokens = self.input_tokens.saturating_add(n(u.input_tokens));
            self.output_tokens = self.output_tokens.saturating_add(n(u.output_tokens));
            self.cached_tokens = self.cached_tokens.saturating_add(n(u.cached_tokens));
            self.reasoning_tokens = self.reasoning_tokens.saturating_add(n(u.reasoning_tokens));
            self.estimated += i64::from(u.estimated);
        }
        if let Some(c) = r.cost_usd.and_then(real) {
            self.cost_usd.add(c);
        }
        mean(&mut self.duration, Some(r.duration_ms));
        mean(&mut self.ttft, r.ttft_ms);
        mean(&mut self.tokens_per_second, r.tokens_per_second);
        self.last_ms = self.last_ms.max(Some(r.ts_ms));
    }

    /// The figures under the names the admin API gives them.
    fn json(&self) -> Map<String, Value> {
        let mean = |(sum, n): (Sum, i64)| (n > 0).then(|| sum.total() / n as f64);
        let mut m = Map::new();
        m.insert("requests".into(), json!(self.requests));
        m.insert("errors".into(), json!(self.errors));
        m.insert("input_tokens".into(), json!(self.input_tokens));
        m.insert("output_tokens".into(), json!(self.output_tokens));
        m.insert("cached_tokens".into(), json!(self.cached_tokens));
        m.insert("reasoning_tokens".into(), json!(self.reasoning_tokens));
        m.insert("estimated".into(), json!(self.estimated));
        m.insert("cost_usd".into(), json!(self.cost_usd.total()));
        m.insert("avg_duration_ms".into(), json!(mean(self.duration)));
        m.insert("avg_ttft_ms".into(), json!(mean(self.ttft)));
        m.insert(
            "avg_tokens_per_second".into(),
            json!(mean(self.tokens_per_second)),
        );
        m.insert("last_seen".into(), json!(self.last_ms.map(rfc3339)));
        m
    }
}

impl<'a> FromIterator<&'a Record> for Aggregate {
    fn from_iter<I: IntoIterator<Item = &'a Record>>(iter: I) -> Self {
        let mut a = Aggregate::default();
        iter.into_iter().for_each(|r| a.add(r));
        a
    }
}

/// Stats grouped by `key`: costliest first, then busiest, then by key (no
/// key first); at most 200 groups.
fn groups(rows: &[Arc<Record>], key: fn(&Record) -> Option<&str>) -> Vec<Value> {
    let mut by: foldhash::HashMap<Option<&str>, Aggregate> = foldhash::HashMap::default();
    for r in rows {
        match by.entry(key(r)) {
            Entry::Occupied(mut e) => e.get_mut().add(r),
            Entry::Vacant(e) => e.insert(Aggregate::default()).add(r),
        }
    }
    let mut groups: Vec<(Option<&str>, Aggregate)> = by.into_iter().collect();
    groups.sort_by(|(ka, a), (kb, b)| {
        b.cost_usd
            .total()
            .total_cmp(&a.cost_usd.total())
            .then(b.requests.cmp(&a.requests))
            .then(ka.cmp(kb))
    });
    groups.truncate(200);
    groups
        .into_iter()
        .map(|(k, a)| {
            let mut m = Map::new();
            m.insert("key".into(), json!(k));
            m.extend(a.json());
            Value::Object(m)
        })
        .collect()
}

/// A body as the journal shows it: text, secrets scrubbed.
fn text(b: &[u8]) -> String {
    scrub_secrets(&lossy_text(b)).into_owned()
}

/// A record as the admin API lists it (`full`: with bodies, candidates and
/// attempts), field for field what the SQLite journal answers.
fn record_json(r: &Record, full: bool) -> Value {
    #[derive(Serialize)]
    struct Json<'a> {
        id: &'a str,
        ts_ms: i64,
        endpoint: &'a str,
        protocol: &'a str,
        stream: bool,
        key_id: &'a Option<String>,
        team: &'a Option<String>,
        source: &'a Option<String>,
        project: &'a Option<String>,
        tags: &'a [String],
        route: &'a Option<String>,
        requested_model: &'a Option<String>,
        #[serde(rename = "attempts", skip_serializing_if = "Option::is_none")]
        attempt_count: Option<usize>,
        provider: &'a Option<String>,
        model: &'a Option<String>,
        response_model: &'a Option<String>,
        status: u16,
        outcome: &'a str,
        error_type: Option<&'a str>,
        finish_reason: &'a Option<String>,
        cost_usd: Option<f64>,
        duration_ms: Option<f64>,
        ttfb_ms: Option<f64>,
        ttft_ms: Option<f64>,
        overhead_us: Option<u64>,
        tokens_per_second: Option<f64>,
        chunks: u64,
        response_bytes: u64,
        #[serde(flatten, skip_serializing_if = "Option::is_none")]
        full: Option<Full<'a>>,
        time: String,
        usage: Option<UsageRecord>,
    }
    #[derive(Serialize)]
    struct Full<'a> {
        candidates: &'a [String],
        attempts: &'a [switchyard_recorder::AttemptRecord],
        request_body: String,
        request_truncated: bool,
        response_body: Option<String>,
        response_truncated: bool,
        answer: &'a Option<String>,
        answer_truncated: bool,
        guard_findings: &'a [switchyard_recorder::FindingRecord],
    }
    let value = Json {
        id: &r.id,
        ts_ms: r.ts_ms,
        endpoint: r.endpoint,
        protocol: r.protocol,
        stream: r.stream,
        key_id: &r.key_id,
        team: &r.team,
        source: &r.source,
        project: &r.project,
        tags: &r.tags,
        route: &r.route,
        requested_model: &r.requested_model,
        attempt_count: (!full).then_some(r.attempts.len()),
        provider: &r.provider,
        model: &r.model,
        response_model: &r.response_model,
        status: r.status,
        outcome: r.outcome.as_str(),
        error_type: r.error_type,
        finish_reason: &r.finish_reason,
        cost_usd: r.cost_usd.and_then(real),
        duration_ms: real(r.duration_ms),
        ttfb_ms: r.ttfb_ms.and_then(real),
        ttft_ms: r.ttft_ms.and_then(real),
        overhead_us: r.overhead_us,
        tokens_per_second: r.tokens_per_second.and_then(real),
        chunks: r.chunks,
        response_bytes: r.response_bytes,
        full: full.then(|| Full {
            candidates: &r.candidates,
            attempts: &r.attempts,
            request_body: text(&r.request_body),
            request_truncated: r.request_truncated,
            response_body: r.response_body.as_deref().map(text),
            response_truncated: r.response_truncated,
            answer: &r.answer,
            answer_truncated: r.answer_truncated,
            guard_findings: &r.guard_findings,
        }),
        time: rfc3339(r.ts_ms),
        usage: r.usage,
    };
    serde_json::to_value(value).unwrap_or(Value::Null)
}
