//! The journal: batches, queries, stats, retention, restart, close, drops.
#![expect(clippy::unwrap_used, reason = "test helpers unwrap")]

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use switchyard_journal::{Journal, JournalConfig, RecordFilter};
use switchyard_recorder::{Outcome, Record, UsageRecord};

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
    let j = Journal::open(&JournalConfig {
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
    // 10 s: at thousands of records a second an in-memory journal would
    // otherwise hold many times its limit.
    let j = Journal::open(&JournalConfig {
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
    let j = Journal::open(&JournalConfig::default()).unwrap();
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
}

#[tokio::test]
async fn a_query_sees_every_record_queued_before_it() {
    let j = Journal::open(&JournalConfig::default()).unwrap();
    let t = now_ms();
    for round in 0..3u64 {
        for i in 0..200 {
            j.push(record(round * 1000 + i, t));
        }
        // No wait: the in-memory journal writes what is queued before it answers.
        assert_eq!(j.count().await.unwrap(), (round + 1) * 200);
    }
    assert_eq!(j.dropped(), 0);
    j.close(Duration::from_secs(10));
}

#[tokio::test]
async fn a_burst_larger_than_a_batch_is_written_whole() {
    let j = Journal::open(&JournalConfig {
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
}
