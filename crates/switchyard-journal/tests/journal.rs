//! The journal: batches, queries, stats, retention, restart, close, drops.
#![expect(clippy::unwrap_used, reason = "test helpers unwrap")]

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use switchyard_journal::{Journal, JournalConfig, RecordFilter};
use switchyard_recorder::{AttemptRecord, FindingRecord, Outcome, Record, UsageRecord};

fn record(i: u64, ts_ms: i64) -> Arc<Record> {
    let error = i.is_multiple_of(5);
    Arc::new(Record {
        id: format!("01TEST{i:020}"),
        time: switchyard_recorder::rfc3339(ts_ms),
        ts_ms,
        endpoint: "chat_completions",
        protocol: "openai",
        stream: i.is_multiple_of(2),
        key_id: Some(format!("key-{}", i % 2)),
        team: None,
        source: Some("tests".into()),
        project: Some(if i.is_multiple_of(3) { "alpha" } else { "beta" }.into()),
        tags: vec!["t".into()],
        route: Some("openai".into()),
        requested_model: Some("gpt-4o-mini".into()),
        candidates: vec!["openai/gpt-4o-mini".into()],
        attempts: vec![],
        provider: Some("openai".into()),
        model: Some("gpt-4o-mini".into()),
        response_model: None,
        status: if error { 502 } else { 200 },
        outcome: Outcome::Completed,
        error_type: error.then_some("upstream_5xx"),
        finish_reason: Some("stop".into()),
        usage: (!error).then_some(UsageRecord {
            input_tokens: 10,
            output_tokens: 20,
            ..UsageRecord::default()
        }),
        cost_usd: (!error).then_some(0.5),
        duration_ms: i as f64,
        ttfb_ms: None,
        ttft_ms: None,
        overhead_us: Some(40),
        tokens_per_second: None,
        chunks: 1,
        response_bytes: 10,
        request_body: Bytes::from_static(br#"{"model":"gpt-4o-mini","api_key":"sk-1"}"#),
        request_truncated: false,
        response_body: Some(Bytes::from_static(b"{}")),
        response_truncated: false,
        answer: Some("hi".into()),
        answer_truncated: false,
        guard_findings: vec![],
    })
}

fn temp(name: &str) -> std::path::PathBuf {
    let dir =
        std::env::temp_dir().join(format!("switchyard-journal-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

#[tokio::test]
async fn writes_queries_and_survives_a_restart() {
    let dir = temp("restart");
    let config = JournalConfig {
        path: Some(dir.join("j.db")),
        jsonl: Some(dir.join("j.jsonl")),
        ..JournalConfig::default()
    };
    let j = Journal::open(&config).unwrap();
    let t = now_ms();
    for i in 1..=30 {
        j.push(record(i, t - 1000 + i as i64));
    }
    j.close(Duration::from_secs(10));
    assert_eq!((j.written(), j.dropped()), (30, 0));
    let lines = std::fs::read_to_string(dir.join("j.jsonl")).unwrap();
    assert_eq!(lines.lines().count(), 30);

    let j = Journal::open(&config).unwrap();
    assert_eq!(j.count().await.unwrap(), 30);
    let page = j
        .records(RecordFilter {
            project: Some("alpha".into()),
            limit: Some(4),
            ..RecordFilter::default()
        })
        .await
        .unwrap();
    let ids: Vec<&str> = page
        .records
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [
            "01TEST00000000000000000030",
            "01TEST00000000000000000027",
            "01TEST00000000000000000024",
            "01TEST00000000000000000021"
        ]
    );
    let next = j
        .records(RecordFilter {
            project: Some("alpha".into()),
            before: page.next.clone(),
            ..RecordFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(next.records.len(), 6);
    assert!(next.next.is_none());
    let errors = j
        .records(RecordFilter {
            status: Some("error".into()),
            ..RecordFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(errors.records.len(), 6);
    assert_eq!(errors.records[0]["error_type"], "upstream_5xx");
    assert!(errors.records[0]["usage"].is_null());

    let full = j
        .record("01TEST00000000000000000001".into())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        full["request_body"],
        r#"{"model":"gpt-4o-mini","api_key":"[redacted]"}"#
    );
    assert_eq!(full["usage"]["output_tokens"], 20);
    assert_eq!(full["stream"], false);
    assert_eq!(full["tags"], serde_json::json!(["t"]));
    assert!(j.record("nope".into()).await.unwrap().is_none());

    let stats = j.stats(t - 2000, t + 1000).await.unwrap();
    assert_eq!(stats.totals["requests"], 30);
    assert_eq!(stats.totals["errors"], 6);
    assert_eq!(stats.totals["output_tokens"], 480);
    assert_eq!(stats.totals["cost_usd"], 12.0);
    assert_eq!(stats.totals["p50_duration_ms"], 16.0);
    let alpha = stats
        .by_project
        .iter()
        .find(|g| g["key"] == "alpha")
        .unwrap();
    assert_eq!(alpha["requests"], 10);
    assert_eq!(stats.by_key.len(), 2);

    let projects = j.projects(t - 60_000).await.unwrap();
    assert_eq!(projects.len(), 2);
    assert_eq!(projects.iter().map(|p| p.requests).sum::<i64>(), 30);
    assert!(j.projects(t + 60_000).await.unwrap().is_empty());
    j.close(Duration::from_secs(10));
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_full_queue_drops_and_counts_and_close_drops_later_records() {
    let dir = temp("full-queue");
    let j = Journal::open(&JournalConfig {
        path: Some(dir.join("q.db")),
        queue_capacity: 1,
        batch_size: 1,
        ..JournalConfig::default()
    })
    .unwrap();
    let t = now_ms();
    for i in 0..2000 {
        j.push(record(i, t));
    }
    j.close(Duration::from_secs(10));
    assert_eq!(j.written() + j.dropped(), 2000);
    assert!(
        j.dropped() > 0,
        "a queue of 1 cannot keep up with 2000 pushes"
    );
    j.push(record(1, t));
    assert_eq!(j.written() + j.dropped(), 2001);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn the_memory_journal_keeps_everything_at_once_and_nothing_after_close() {
    let j = Journal::open(&JournalConfig::default()).unwrap();
    let t = now_ms();
    for i in 0..2000 {
        j.push(record(i, t));
    }
    // No queue, no writer: every record is there when push returns.
    assert_eq!((j.written(), j.dropped(), j.queued()), (2000, 0, 0));
    assert_eq!(j.count().await.unwrap(), 2000);
    j.close(Duration::from_secs(10));
    j.push(record(2000, t));
    assert_eq!((j.written(), j.dropped()), (2000, 1));
    assert_eq!(j.count().await.unwrap(), 2000);
}

#[tokio::test]
async fn retention_keeps_max_rows_and_drops_old_ones() {
    let j = Journal::open(&JournalConfig {
        max_rows: Some(10),
        retention_days: 1,
        ..JournalConfig::default()
    })
    .unwrap();
    let t = now_ms();
    j.push(record(999, t - 3 * 86_400_000));
    for i in 0..25 {
        j.push(record(i, t));
    }
    // Retention runs on close too.
    let probe = j.clone();
    j.close(Duration::from_secs(10));
    assert_eq!(probe.written(), 26);
    let dir = temp("retention");
    let path = dir.join("r.db");
    let j = Journal::open(&JournalConfig {
        path: Some(path.clone()),
        max_rows: Some(10),
        ..JournalConfig::default()
    })
    .unwrap();
    for i in 0..25 {
        j.push(record(i, t));
    }
    j.close(Duration::from_secs(10));
    let j = Journal::open(&JournalConfig {
        path: Some(path),
        ..JournalConfig::default()
    })
    .unwrap();
    assert_eq!(j.count().await.unwrap(), 10);
    let newest = j.records(RecordFilter::default()).await.unwrap();
    assert_eq!(newest.records[0]["id"], "01TEST00000000000000000024");
    j.close(Duration::from_secs(5));
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_busy_journal_keeps_near_its_row_limit_between_timed_runs() {
    // Retention also runs every tenth of `max_rows` written, not only every
    // 10 s: at thousands of records a second a journal would otherwise hold
    // many times its limit.
    let dir = temp("busy");
    let j = Journal::open(&JournalConfig {
        path: Some(dir.join("b.db")),
        max_rows: Some(100),
        ..JournalConfig::default()
    })
    .unwrap();
    let t = now_ms();
    for wave in 0..100 {
        for i in 0..50 {
            j.push(record(wave * 50 + i, t));
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
    j.push(record(5_000, t));
    tokio::time::sleep(Duration::from_millis(50)).await;
    let rows = j.count().await.unwrap();
    assert_eq!(j.written(), 5_001);
    assert!(
        (100..=200).contains(&rows),
        "{rows} rows kept of 5,001 written with max_rows = 100"
    );
    j.close(Duration::from_secs(5));
    let _ = std::fs::remove_dir_all(&dir);
    // In memory the limit holds exactly, at every push.
    let j = Journal::open(&JournalConfig {
        max_rows: Some(100),
        ..JournalConfig::default()
    })
    .unwrap();
    for i in 0..5_001 {
        j.push(record(i, t));
    }
    assert_eq!(j.count().await.unwrap(), 100);
    let newest = j.records(RecordFilter::default()).await.unwrap();
    assert_eq!(newest.records[0]["id"], "01TEST00000000000000005000");
}

#[tokio::test]
async fn the_memory_journal_keeps_within_its_memory_limit() {
    // 64 KiB request and answer bodies (the default cap): 10,000 of them
    // would hold 1.3 GB; with `max_memory_mb = 1` the ring forgets the
    // oldest records as soon as the kept ones pass 1 MiB.
    let j = Journal::open(&JournalConfig {
        max_memory_mb: 1,
        ..JournalConfig::default()
    })
    .unwrap();
    let t = now_ms();
    let big = |i: u64| {
        let mut r = Arc::unwrap_or_clone(record(i, t));
        r.request_body = Bytes::from(vec![b'a'; 64 << 10]);
        r.response_body = Some(Bytes::from(vec![b'b'; 64 << 10]));
        Arc::new(r)
    };
    let size = big(0).size();
    assert!((128 << 10..140 << 10).contains(&size), "{size}");
    for i in 0..100 {
        j.push(big(i));
    }
    let kept = j.count().await.unwrap();
    assert_eq!(kept, ((1 << 20) / size) as u64, "{kept} kept of 100");
    let newest = j.records(RecordFilter::default()).await.unwrap();
    assert_eq!(newest.records[0]["id"], "01TEST00000000000000000099");
    // Small records fill the freed room: the limit counts bytes, not rows.
    for i in 100..1100 {
        j.push(record(i, t));
    }
    let kept = j.count().await.unwrap();
    assert!((1000..1007).contains(&kept), "{kept}");
    // A record larger than the whole limit is still kept, alone.
    let j = Journal::open(&JournalConfig {
        max_memory_mb: 1,
        ..JournalConfig::default()
    })
    .unwrap();
    let mut huge = Arc::unwrap_or_clone(record(7, t));
    huge.request_body = Bytes::from(vec![b'c'; 2 << 20]);
    j.push(record(6, t));
    j.push(Arc::new(huge));
    assert_eq!(j.count().await.unwrap(), 1);
    // 0: no memory limit, only `max_rows`.
    let j = Journal::open(&JournalConfig {
        max_memory_mb: 0,
        max_rows: Some(20),
        ..JournalConfig::default()
    })
    .unwrap();
    for i in 0..30 {
        j.push(big(i));
    }
    assert_eq!(j.count().await.unwrap(), 20);
}

#[tokio::test]
async fn a_newer_schema_is_refused() {
    let dir = temp("schema");
    let path = dir.join("s.db");
    {
        let c = rusqlite_conn(&path);
        c.execute_batch("PRAGMA user_version = 99").unwrap();
    }
    let e = Journal::open(&JournalConfig {
        path: Some(path),
        ..JournalConfig::default()
    })
    .unwrap_err();
    assert!(e.contains("version 99"), "{e}");
    let _ = std::fs::remove_dir_all(&dir);
}

fn rusqlite_conn(path: &std::path::Path) -> rusqlite::Connection {
    rusqlite::Connection::open(path).unwrap()
}

/// Waits (up to 10 s) until `j` has written `n` records.
async fn written(j: &Journal, n: u64) -> u64 {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while j.written() < n && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    j.written()
}

#[tokio::test]
async fn records_are_written_in_timed_batches_without_a_close() {
    let dir = temp("timed");
    let j = Journal::open(&JournalConfig {
        path: Some(dir.join("t.db")),
        ..JournalConfig::default()
    })
    .unwrap();
    let t = now_ms();
    for i in 0..10 {
        j.push(record(i, t));
    }
    // The writer wakes on the first record, lets more gather for a few
    // milliseconds, then writes them in one batch.
    assert_eq!(written(&j, 10).await, 10);
    assert_eq!((j.dropped(), j.queued()), (0, 0));
    // Later records, after the writer went idle again, are written too.
    tokio::time::sleep(Duration::from_millis(50)).await;
    j.push(record(10, t));
    assert_eq!(written(&j, 11).await, 11);
    j.close(Duration::from_secs(10));
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_burst_larger_than_a_batch_is_written_whole() {
    let dir = temp("burst");
    let j = Journal::open(&JournalConfig {
        path: Some(dir.join("b.db")),
        queue_capacity: 5_000,
        batch_size: 64,
        ..JournalConfig::default()
    })
    .unwrap();
    let t = now_ms();
    for i in 0..3_000 {
        j.push(record(i, t));
    }
    assert_eq!(written(&j, 3_000).await, 3_000);
    assert_eq!(j.dropped(), 0);
    assert_eq!(j.count().await.unwrap(), 3_000);
    j.close(Duration::from_secs(10));
    let _ = std::fs::remove_dir_all(&dir);
}

/// Records that differ in every way the queries look at: teams and sources
/// missing or not, errors, estimates, streams, floats that are not round,
/// no answer body, invalid UTF-8, secrets, guard findings, attempts.
fn varied(i: u64, t: i64) -> Arc<Record> {
    let pick = |n: u64| i.wrapping_mul(2_654_435_761) % n;
    let error = ["upstream_5xx", "rate_limited", "timeout"];
    let failed = pick(7) == 0;
    let ts_ms = t - 600_000 + (i as i64) * 997 % 600_000;
    Arc::new(Record {
        id: format!("01VAR{:04}{i:016}", pick(9973)),
        time: switchyard_recorder::rfc3339(ts_ms),
        ts_ms,
        endpoint: ["chat_completions", "messages", "responses"][pick(3) as usize],
        protocol: ["openai", "anthropic"][pick(2) as usize],
        stream: pick(2) == 1,
        key_id: (pick(4) != 0).then(|| format!("key-{}", pick(5))),
        team: (pick(3) == 0).then(|| format!("team-{}", pick(2))),
        source: (pick(5) != 0).then(|| ["cli", "web", "ci"][pick(3) as usize].into()),
        project: (pick(6) != 0).then(|| format!("p{}", pick(4))),
        tags: (0..pick(3)).map(|k| format!("tag{k}")).collect(),
        route: Some(format!("rule-{}", pick(3))),
        requested_model: Some(["fast", "gpt-4o", "claude"][pick(3) as usize].into()),
        candidates: vec!["openai/gpt-4o".into(), "anthropic/claude".into()],
        attempts: (0..pick(3))
            .map(|k| AttemptRecord {
                provider: format!("prov{k}"),
                model: "gpt-4o".into(),
                status: (k % 2 == 0).then_some(503),
                error: (k % 2 == 1).then(|| "connect refused".into()),
                duration_ms: 0.25 * (i + k) as f64,
            })
            .collect(),
        provider: (pick(8) != 0)
            .then(|| ["openai", "anthropic", "gemini"][pick(3) as usize].into()),
        model: (pick(8) != 0)
            .then(|| ["gpt-4o", "claude", "gemini-pro", "fast"][pick(4) as usize].into()),
        response_model: (pick(2) == 0).then(|| "gpt-4o-2024".into()),
        status: if failed {
            [502, 429, 504][pick(3) as usize]
        } else {
            [200, 201][pick(2) as usize]
        },
        outcome: [
            Outcome::Completed,
            Outcome::ClientDisconnected,
            Outcome::StreamError,
        ][pick(3) as usize],
        error_type: failed.then(|| error[pick(3) as usize]),
        finish_reason: (!failed).then(|| "stop".into()),
        usage: (!failed).then_some(UsageRecord {
            input_tokens: pick(1000),
            output_tokens: pick(500),
            cached_tokens: pick(50),
            cache_write_tokens: pick(20),
            reasoning_tokens: pick(30),
            estimated: pick(4) == 0,
        }),
        cost_usd: (!failed && pick(5) != 0).then(|| pick(1 << 12) as f64 / 1024.0),
        duration_ms: pick(4096) as f64 / 8.0 + 0.125,
        ttfb_ms: (pick(3) != 0).then(|| pick(999) as f64 / 4.0),
        ttft_ms: (pick(3) != 0).then(|| pick(777) as f64 / 16.0),
        overhead_us: (pick(9) != 0).then(|| pick(300)),
        tokens_per_second: (pick(2) == 0).then(|| pick(8000) as f64 / 32.0),
        chunks: pick(40),
        response_bytes: pick(100_000),
        request_body: match pick(4) {
            0 => Bytes::from(format!(r#"{{"model":"m","password":"hunter{i}","n":{i}}}"#)),
            1 => Bytes::from_static(b"not utf-8 \xff\xfe here"),
            2 => Bytes::new(),
            _ => Bytes::from(format!(
                r#"{{"messages":[{{"role":"user","content":"caf\u00e9 {i}"}}]}}"#
            )),
        },
        request_truncated: pick(10) == 0,
        response_body: (pick(3) != 0)
            .then(|| Bytes::from(format!(r#"{{"id":"r{i}","access_token":"x"}}"#))),
        response_truncated: pick(11) == 0,
        answer: (pick(4) != 0).then(|| format!("answer {i}")),
        answer_truncated: pick(12) == 0,
        guard_findings: if pick(5) == 0 {
            vec![FindingRecord {
                kind: "email",
                field: "/messages/0/content".into(),
                offset: i as usize,
                length: 17,
                action: "redact",
            }]
        } else {
            vec![]
        },
    })
}

/// Groups sorted by key, for comparing two answers whose tie order may differ.
fn by_key(mut groups: Vec<serde_json::Value>) -> Vec<serde_json::Value> {
    groups.sort_by_key(|g| g["key"].to_string());
    groups
}

#[tokio::test]
async fn the_memory_journal_answers_exactly_as_the_sqlite_file() {
    let dir = temp("parity");
    let file = Journal::open(&JournalConfig {
        path: Some(dir.join("p.db")),
        ..JournalConfig::default()
    })
    .unwrap();
    let memory = Journal::open(&JournalConfig::default()).unwrap();
    let t = now_ms();
    let n = 400;
    for i in 0..n {
        let r = varied(i, t);
        file.push(r.clone());
        memory.push(r);
    }
    assert_eq!(written(&file, n).await, n);
    assert_eq!(memory.count().await.unwrap(), file.count().await.unwrap());

    // Listings: every filter, paged to the end.
    let filters = [
        RecordFilter::default(),
        RecordFilter {
            project: Some("p1".into()),
            ..RecordFilter::default()
        },
        RecordFilter {
            source: Some("cli".into()),
            ..RecordFilter::default()
        },
        RecordFilter {
            model: Some("fast".into()),
            ..RecordFilter::default()
        },
        RecordFilter {
            provider: Some("gemini".into()),
            ..RecordFilter::default()
        },
        RecordFilter {
            key_id: Some("key-3".into()),
            ..RecordFilter::default()
        },
        RecordFilter {
            status: Some("error".into()),
            ..RecordFilter::default()
        },
        RecordFilter {
            status: Some("2xx".into()),
            ..RecordFilter::default()
        },
        RecordFilter {
            status: Some("5xx".into()),
            ..RecordFilter::default()
        },
        RecordFilter {
            status: Some("429".into()),
            ..RecordFilter::default()
        },
        RecordFilter {
            status: Some("nonsense".into()),
            ..RecordFilter::default()
        },
        RecordFilter {
            error_type: Some("timeout".into()),
            ..RecordFilter::default()
        },
        RecordFilter {
            since_ms: Some(t - 300_000),
            until_ms: Some(t - 100_000),
            ..RecordFilter::default()
        },
        RecordFilter {
            project: Some("p2".into()),
            status: Some("2xx".into()),
            model: Some("claude".into()),
            ..RecordFilter::default()
        },
        RecordFilter {
            project: Some("nobody".into()),
            ..RecordFilter::default()
        },
    ];
    for (k, filter) in filters.into_iter().enumerate() {
        for limit in [Some(7), None, Some(0), Some(5000)] {
            let mut f = RecordFilter {
                limit,
                ..filter.clone()
            };
            let mut pages = 0;
            loop {
                let (a, b) = (
                    memory.records(f.clone()).await.unwrap(),
                    file.records(f.clone()).await.unwrap(),
                );
                assert_eq!(
                    a.records, b.records,
                    "filter {k}, limit {limit:?}, page {pages}"
                );
                assert_eq!(a.next, b.next, "filter {k}, limit {limit:?}, page {pages}");
                // Same JSON text too: same fields in the same order.
                assert_eq!(
                    serde_json::to_string(&a.records).unwrap(),
                    serde_json::to_string(&b.records).unwrap()
                );
                pages += 1;
                match a.next {
                    Some(next) if pages < 100 => f.before = Some(next),
                    _ => break,
                }
            }
        }
    }

    // Every record whole, bodies scrubbed the same way.
    for i in 0..n {
        let id = varied(i, t).id.clone();
        let (a, b) = (
            memory.record(id.clone()).await.unwrap().unwrap(),
            file.record(id).await.unwrap().unwrap(),
        );
        assert_eq!(
            serde_json::to_string(&a).unwrap(),
            serde_json::to_string(&b).unwrap()
        );
    }
    let full = memory
        .record(varied(0, t).id.clone())
        .await
        .unwrap()
        .unwrap();
    assert!(
        full["request_body"]
            .as_str()
            .unwrap()
            .contains(r#""password":"[redacted]""#),
        "{full}"
    );
    assert!(memory.record("nope".into()).await.unwrap().is_none());

    // Stats over several windows, an empty one included.
    for (since, until) in [
        (t - 700_000, t + 1),
        (t - 300_000, t - 250_000),
        (t + 5, t + 10),
    ] {
        let (a, b) = (
            memory.stats(since, until).await.unwrap(),
            file.stats(since, until).await.unwrap(),
        );
        assert_eq!(a.totals, b.totals, "window {since}..{until}");
        for (x, y) in [
            (a.by_model, b.by_model),
            (a.by_provider, b.by_provider),
            (a.by_source, b.by_source),
            (a.by_project, b.by_project),
            (a.by_key, b.by_key),
            (a.by_team, b.by_team),
        ] {
            // Costliest first, then busiest.
            let order: Vec<(f64, i64)> = x
                .iter()
                .map(|g| {
                    (
                        g["cost_usd"].as_f64().unwrap(),
                        g["requests"].as_i64().unwrap(),
                    )
                })
                .collect();
            assert!(order.windows(2).all(|w| w[0] >= w[1]), "{order:?}");
            assert_eq!(by_key(x), by_key(y));
        }
    }
    let stats = memory.stats(t - 700_000, t + 1).await.unwrap();
    assert_eq!(stats.totals["requests"], n);
    assert!(stats.totals["p99_ttft_ms"].as_f64().unwrap() > 0.0);

    for since in [t - 700_000, t - 100_000, t + 1] {
        let mut a = memory.projects(since).await.unwrap();
        let mut b = file.projects(since).await.unwrap();
        assert!(a.windows(2).all(|w| w[0].last_seen_ms >= w[1].last_seen_ms));
        a.sort_by(|x, y| x.project.cmp(&y.project));
        b.sort_by(|x, y| x.project.cmp(&y.project));
        assert_eq!(
            serde_json::to_value(&a).unwrap(),
            serde_json::to_value(&b).unwrap()
        );
    }
    file.close(Duration::from_secs(10));
    memory.close(Duration::from_secs(10));
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_memory_journal_with_a_jsonl_file_writes_each_record_once_to_each() {
    let dir = temp("memory-jsonl");
    let j = Journal::open(&JournalConfig {
        jsonl: Some(dir.join("m.jsonl")),
        ..JournalConfig::default()
    })
    .unwrap();
    let t = now_ms();
    for i in 0..25 {
        j.push(record(i, t));
    }
    // In memory at once; the JSONL file through the writer, flushed by close.
    assert_eq!(j.count().await.unwrap(), 25);
    j.close(Duration::from_secs(10));
    assert_eq!((j.written(), j.dropped()), (25, 0));
    let lines = std::fs::read_to_string(dir.join("m.jsonl")).unwrap();
    assert_eq!(lines.lines().count(), 25);
    let first: serde_json::Value = serde_json::from_str(lines.lines().next().unwrap()).unwrap();
    assert_eq!(first["id"], "01TEST00000000000000000000");
    assert_eq!(
        first["request_body"],
        r#"{"model":"gpt-4o-mini","api_key":"[redacted]"}"#
    );
    assert_eq!(
        j.count().await.unwrap(),
        25,
        "queries still answer after close"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
