//! End to end: the journal under load. 10,000 requests (streamed, whole and
//! failing) become exactly 10,000 rows with the right figures; a clean
//! shutdown loses none; `kill -9` loses at most what was still queued; the
//! SQLite file survives restarts and the admin API reads it.
#![expect(clippy::unwrap_used, reason = "test helpers unwrap")]

mod common;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use common::{Gateway, client, temp_dir};
use futures_util::StreamExt;
use serde_json::{Value, json};

fn config(db: &Path, journal: &str) -> String {
    format!(
        r#"
shutdown_grace_secs = 10

[journal]
path = "{db}"
{journal}

[[providers]]
id = "mock"
kind = "mock"
models = ["mock-*", "gpt-4o-mini"]
chunk_delay_ms = 0
"#,
        db = db.display()
    )
}

/// What request `i` of a workload is: 10% refused (unknown model), 10% an
/// upstream 400, a third of the rest streamed.
fn body(i: u64) -> Value {
    match i % 10 {
        0 => {
            json!({"model": "no-such-model", "messages": [{"role": "user", "content": "hello world"}]})
        }
        5 => {
            json!({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "[mock-error:400] hello"}]})
        }
        _ => json!({"model": "gpt-4o-mini", "stream": i.is_multiple_of(3),
                     "messages": [{"role": "user", "content": "hello world"}]}),
    }
}

/// Sends requests `0..n`, `concurrency` at a time, reading every answer to
/// its end; counts finished ones in `done`.
async fn load(url: String, n: u64, concurrency: usize, done: Arc<AtomicU64>) {
    let client = client();
    futures_util::stream::iter(0..n)
        .map(|i| {
            let (client, url, done) = (client.clone(), url.clone(), done.clone());
            async move {
                let Ok(res) = client.post(&url).json(&body(i)).send().await else {
                    return;
                };
                if res.bytes().await.is_ok() {
                    done.fetch_add(1, Ordering::SeqCst);
                }
            }
        })
        .buffer_unordered(concurrency)
        .collect::<Vec<()>>()
        .await;
}

async fn stats(gw: &Gateway) -> Value {
    let url = gw.at("/admin/stats?since=0");
    client()
        .get(url)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

fn signal(gw: &Gateway, sig: &str) {
    let ok = std::process::Command::new("kill")
        .args([sig, &gw.pid().to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill {sig}");
}

fn group<'a>(groups: &'a Value, key: &str) -> &'a Value {
    groups
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["key"] == key)
        .unwrap_or_else(|| panic!("no group {key} in {groups}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_requests_become_ten_thousand_rows_and_survive_a_restart() {
    let dir = temp_dir("journal-10k");
    let db = dir.join("journal.db");
    let mut gw = Gateway::start(&config(&db, ""));
    // One probe for the mock's figures: "hello world" -> 3 prompt, 5 answer tokens.
    let probe: Value = client()
        .post(gw.at("/v1/chat/completions"))
        .json(&body(1))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let (input, output) = (
        probe["usage"]["prompt_tokens"].as_u64().unwrap(),
        probe["usage"]["completion_tokens"].as_u64().unwrap(),
    );
    assert_eq!((input, output), (3, 5));
    let n = 10_000 - 1;
    let done = Arc::new(AtomicU64::new(0));
    let started = std::time::Instant::now();
    load(gw.at("/v1/chat/completions"), n, 32, done.clone()).await;
    assert_eq!(done.load(Ordering::SeqCst), n, "every request was answered");
    eprintln!("10,000 requests in {:?}", started.elapsed());
    // Stop at once, whatever the journal still has queued: none may be lost.
    signal(&gw, "-TERM");
    let status = gw
        .wait_exit(Duration::from_secs(30))
        .expect("exits on SIGTERM");
    assert!(status.success(), "{status:?}\n{}", gw.logs());
    assert!(gw.logs().contains("journal closed"), "{}", gw.logs());

    let gw = Gateway::start(&config(&db, ""));
    let s = stats(&gw).await;
    let t = &s["totals"];
    let ok = 8_000u64; // i % 10 not in {0, 5}, the probe included
    assert_eq!(t["requests"], 10_000, "{s}");
    assert_eq!(t["errors"], 2_000);
    assert_eq!(t["input_tokens"], ok * input);
    assert_eq!(t["output_tokens"], ok * output);
    assert_eq!(t["estimated"], 0);
    let model = group(&s["by_model"], "gpt-4o-mini");
    assert_eq!(model["requests"], 9_000);
    assert_eq!(model["errors"], 1_000);
    // gpt-4o-mini is priced even on the mock: 3 * 0.15 + 5 * 0.60 micro-dollars each.
    let cost = model["cost_usd"].as_f64().unwrap();
    assert!((cost - ok as f64 * 3.45e-6).abs() < 1e-9, "{cost}");
    assert_eq!(group(&s["by_provider"], "mock")["requests"], 9_000);

    let refused: Value = client()
        .get(gw.at("/admin/records?error_type=client_error&limit=1000"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(refused["records"].as_array().unwrap().len(), 1000);
    assert_eq!(refused["records"][0]["status"], 404);
    assert!(refused["next"].is_null());
    let upstream: Value = client()
        .get(gw.at("/admin/records?error_type=upstream_4xx&limit=1"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(upstream["records"][0]["status"], 400);
    assert!(upstream["next"].is_string(), "paginated");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_loses_at_most_what_was_queued() {
    let dir = temp_dir("journal-kill");
    let db = dir.join("journal.db");
    let (capacity, batch) = (256u64, 64u64);
    let journal = format!("queue_capacity = {capacity}\nbatch_size = {batch}");
    let gw = Gateway::start(&config(&db, &journal));
    let done = Arc::new(AtomicU64::new(0));
    let load = tokio::spawn(load(gw.at("/v1/chat/completions"), 20_000, 8, done.clone()));
    while done.load(Ordering::SeqCst) < 2_000 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // Every answer counted here was queued for the journal right after its
    // last byte left (at most one per connection, 8, may still wait then).
    let finished = done.load(Ordering::SeqCst);
    signal(&gw, "-KILL");
    load.await.unwrap();
    drop(gw);

    let gw = Gateway::start(&config(&db, ""));
    let rows = stats(&gw).await["totals"]["requests"].as_u64().unwrap();
    eprintln!("answered {finished} before kill -9, journaled {rows}");
    assert!(rows <= done.load(Ordering::SeqCst) + 8, "{rows} rows");
    assert!(
        rows + capacity + batch + 8 >= finished,
        "lost more than the queue could hold: {finished} answered, {rows} journaled"
    );
    // The file is sound: the restarted gateway reads and writes it.
    let res = client()
        .post(gw.at("/v1/chat/completions"))
        .json(&body(1))
        .send()
        .await
        .unwrap();
    let id = res.headers()["x-switchyard-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    res.bytes().await.unwrap();
    let mut found = false;
    for _ in 0..500 {
        let r = client()
            .get(gw.at(&format!("/admin/records/{id}")))
            .send()
            .await
            .unwrap();
        if r.status() == 200 {
            found = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(found, "a new record after the restart");
    let _ = std::fs::remove_dir_all(&dir);
}
