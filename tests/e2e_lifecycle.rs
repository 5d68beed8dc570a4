//! Lifecycle through the real binary: hot reload (SIGHUP and the admin endpoint)
//! and graceful shutdown, with streams in flight.
#![expect(
    clippy::unwrap_used,
    reason = "a test fails loudly on unexpected errors"
)]

mod common;

use std::time::{Duration, Instant};

use common::{Gateway, client, fake_provider, sse_data};
use serde_json::{Value, json};
use switchyard_testkit::{FakeUpstream, Gate, Reply};

const VERSION: &str = "x-switchyard-config-version";

fn mock(delay_ms: u64) -> String {
    format!(
        "[[providers]]\nid = \"mock\"\nkind = \"mock\"\nmodels = [\"mock-*\"]\nchunk_delay_ms = {delay_ms}\n"
    )
}

async fn version(gw: &Gateway) -> String {
    let res = client().get(gw.at("/health")).send().await.unwrap();
    res.headers()[VERSION].to_str().unwrap().to_owned()
}

async fn wait_version(gw: &Gateway, prefix: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let v = version(gw).await;
        if v.starts_with(prefix) {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "version stayed {v}; logs:\n{}",
            gw.logs()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn chat(gw: &Gateway, model: &str, stream: bool) -> reqwest::Response {
    gw.post_json("/v1/chat/completions", &json!({"model": model, "stream": stream, "messages":[{"role":"user","content":"hello there"}]})).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_applies_a_new_config_and_keeps_circuit_state() {
    let up = FakeUpstream::start().await;
    let base = format!(
        "[failover.circuit]\nconsecutive_failures = 2\ncooldown_secs = 60\n{}",
        fake_provider(&up.base_url(), "")
    );
    let gw = Gateway::start(&base);
    let v1 = version(&gw).await;
    assert!(v1.starts_with("1-"), "{v1}");
    for _ in 0..2 {
        up.push(Reply::Status {
            status: 503,
            body: "down".into(),
            headers: vec![],
        });
        assert_eq!(chat(&gw, "gpt-4o-mini", false).await.status(), 503);
    }
    assert_eq!(
        chat(&gw, "mock-1", false).await.status(),
        404,
        "no mock provider yet"
    );
    std::fs::write(gw.config_path(), format!("{base}{}", mock(1))).unwrap();
    gw.signal("HUP");
    let v2 = wait_version(&gw, "2-").await;
    assert_ne!(v1[2..], v2[2..], "the hash changes with the config");
    let res = chat(&gw, "mock-1", false).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()[VERSION], v2.as_str());
    let health: Value = client()
        .get(gw.at("/health"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health["circuits"][0]["provider"], "fake");
    assert_eq!(
        health["circuits"][0]["state"], "open",
        "breaker state survives the reload: {health}"
    );
    assert!(gw.logs().contains("configuration reloaded"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalid_config_is_refused_and_the_old_one_keeps_serving() {
    let gw = Gateway::start(&mock(1));
    let v1 = version(&gw).await;
    std::fs::write(
        gw.config_path(),
        "[[providers]]\nid = \"mock\"\nkind = \"warp-drive\"\n",
    )
    .unwrap();
    gw.signal("HUP");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !gw.logs().contains("reload refused") {
        assert!(
            Instant::now() < deadline,
            "no refusal logged:\n{}",
            gw.logs()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        gw.logs().contains("warp-drive"),
        "the reason is logged:\n{}",
        gw.logs()
    );
    assert_eq!(version(&gw).await, v1);
    assert_eq!(chat(&gw, "mock-1", false).await.status(), 200);
    let res = client().post(gw.at("/admin/reload")).send().await.unwrap();
    assert_eq!(res.status(), 422);
    let v: Value = res.json().await.unwrap();
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("warp-drive"),
        "{v}"
    );
    assert_eq!(v["version"], v1.as_str());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_endpoint_dry_runs_then_applies() {
    let gw = Gateway::start(&format!("admin_key = \"adm-secret\"\n{}", mock(1)));
    let v1 = version(&gw).await;
    std::fs::write(
        gw.config_path(),
        format!("admin_key = \"adm-secret\"\n[failover]\nmax_attempts = 5\n{}[[providers]]\nid = \"other\"\nkind = \"mock\"\nmodels = [\"other-*\"]\n", mock(2)),
    )
    .unwrap();
    let res = client()
        .post(gw.at("/admin/reload?dry_run=true"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401, "the admin key is required");
    let res = client()
        .post(gw.at("/admin/reload?dry_run=true"))
        .bearer_auth("adm-secret")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let v: Value = res.json().await.unwrap();
    assert_eq!(v["applied"], false);
    assert_eq!(v["version"], v1.as_str());
    let changes: Vec<&str> = v["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    assert!(changes.contains(&"failover: changed"), "{changes:?}");
    assert!(changes.contains(&"providers.mock: changed"), "{changes:?}");
    assert!(changes.contains(&"providers.other: added"), "{changes:?}");
    assert_eq!(version(&gw).await, v1, "a dry run applies nothing");
    assert_eq!(chat(&gw, "other-1", false).await.status(), 404);
    let v: Value = client()
        .post(gw.at("/admin/reload"))
        .bearer_auth("adm-secret")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["applied"], true);
    assert!(v["version"].as_str().unwrap().starts_with("2-"));
    assert_eq!(chat(&gw, "other-1", false).await.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_in_flight_finishes_on_the_old_config() {
    let up = FakeUpstream::start().await;
    let gw = Gateway::start(&fake_provider(&up.base_url(), ""));
    let gate = Gate::new();
    up.push(Reply::Gated {
        first: r#"{"choices":[{"index":0,"delta":{"content":"before"}}]}"#.into(),
        rest: vec![
            r#"{"choices":[{"index":0,"delta":{"content":" after"}}]}"#.into(),
            "[DONE]".into(),
        ],
        gate: gate.clone(),
    });
    let mut res = chat(&gw, "gpt-4o-mini", true).await;
    let started_on = res.headers()[VERSION].to_str().unwrap().to_owned();
    let first = res.chunk().await.unwrap().unwrap();
    assert!(std::str::from_utf8(&first).unwrap().contains("before"));
    // Remove the provider that is streaming: the stream must not notice.
    std::fs::write(gw.config_path(), mock(1)).unwrap();
    gw.signal("HUP");
    wait_version(&gw, "2-").await;
    assert_eq!(
        chat(&gw, "gpt-4o-mini", false).await.status(),
        404,
        "the new config has no fake provider"
    );
    gate.open();
    let mut rest = String::new();
    while let Some(c) = res.chunk().await.unwrap() {
        rest.push_str(std::str::from_utf8(&c).unwrap());
    }
    assert_eq!(
        sse_data(&rest),
        [
            r#"{"choices":[{"index":0,"delta":{"content":" after"}}]}"#,
            "[DONE]"
        ]
    );
    assert!(started_on.starts_with("1-"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_streams_survive_ten_reloads() {
    let gw = Gateway::start(&mock(40));
    let url = gw.at("/v1/chat/completions");
    let http = client();
    let streams: Vec<_> = (0..1000)
        .map(|i| {
            let (http, url) = (http.clone(), url.clone());
            tokio::spawn(async move {
                let res = http
                    .post(url)
                    .json(&json!({"model":"mock-1","stream":true,"messages":[{"role":"user","content":format!("stream number {i} of many")}]}))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(res.status(), 200);
                let body = res.text().await.unwrap();
                let events = sse_data(&body);
                assert_eq!(events.last().map(String::as_str), Some("[DONE]"), "stream {i}: {body}");
                let text: String = events[..events.len() - 1]
                    .iter()
                    .map(|e| serde_json::from_str::<Value>(e).unwrap())
                    .filter_map(|c| c["choices"][0]["delta"]["content"].as_str().map(str::to_owned))
                    .collect();
                assert_eq!(text, format!("Mock reply to: stream number {i} of many"));
            })
        })
        .collect();
    for n in 0..10u64 {
        tokio::time::sleep(Duration::from_millis(60)).await;
        std::fs::write(gw.config_path(), mock(40 + (n % 2))).unwrap();
        let v: Value = client()
            .post(gw.at("/admin/reload"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(v["applied"], true, "{v}");
    }
    for s in streams {
        s.await.unwrap();
    }
    assert!(version(&gw).await.starts_with("11-"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_drains_a_hundred_active_streams_then_exits_zero() {
    let mut gw = Gateway::start(&format!("shutdown_grace_secs = 20\n{}", mock(40)));
    let url = gw.at("/v1/chat/completions");
    let (tx, mut rx) = tokio::sync::mpsc::channel(100);
    let streams: Vec<_> = (0..100)
        .map(|i| {
            let (url, tx) = (url.clone(), tx.clone());
            tokio::spawn(async move {
                let mut res = client()
                    .post(url)
                    .json(&json!({"model":"mock-1","stream":true,"messages":[{"role":"user","content":format!("drain me {i} please")}]}))
                    .send()
                    .await
                    .unwrap();
                let mut body = String::from_utf8(res.chunk().await.unwrap().unwrap().to_vec()).unwrap();
                tx.send(()).await.unwrap();
                while let Some(c) = res.chunk().await.unwrap() {
                    body.push_str(std::str::from_utf8(&c).unwrap());
                }
                body
            })
        })
        .collect();
    for _ in 0..100 {
        rx.recv().await.unwrap();
    }
    let signalled = Instant::now();
    gw.signal("TERM");
    for (i, s) in streams.into_iter().enumerate() {
        let body = s.await.unwrap();
        assert!(
            body.ends_with("data: [DONE]\n\n"),
            "stream {i} was cut: {body}"
        );
        assert!(body.contains("drain"), "{body}");
    }
    let status = tokio::task::spawn_blocking(move || {
        let s = gw.wait_exit(Duration::from_secs(25));
        (s, gw)
    })
    .await
    .unwrap();
    assert!(status.0.expect("exited").success());
    assert!(
        signalled.elapsed() < Duration::from_secs(20),
        "drained within the grace period"
    );
}
