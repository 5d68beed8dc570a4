//! Failover through the real binary against misbehaving fake upstreams.

mod common;

use std::time::Duration;

use common::{Gateway, client, closed_port, fake_provider, sse_data};
use serde_json::{Value, json};
use switchyard_testkit::{FakeUpstream, Reply};

fn chat(stream: bool) -> Value {
    json!({"model":"gpt-4o-mini","stream":stream,"messages":[{"role":"user","content":"hello"}]})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_429_with_retry_after_is_retried_after_the_wait() {
    let up = FakeUpstream::start().await;
    let gw = Gateway::start(&format!(
        "[failover]\nattempts_per_candidate = 2\n{}",
        fake_provider(&up.base_url(), "")
    ));
    up.push(Reply::Status {
        status: 429,
        body: r#"{"error":{"message":"slow down","type":"requests","param":null,"code":null}}"#
            .into(),
        headers: vec![("retry-after".into(), "1".into())],
    });
    let started = std::time::Instant::now();
    let res = client()
        .post(gw.at("/v1/chat/completions"))
        .json(&chat(false))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "waited for Retry-After"
    );
    assert_eq!(res.headers()["x-switchyard-attempts"], "2");
    let v: Value = res.json().await.unwrap();
    assert_eq!(v["choices"][0]["message"]["content"], "echo: hello");
    assert_eq!(up.requests().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_errors_are_never_retried() {
    let up = FakeUpstream::start().await;
    let gw = Gateway::start(&format!(
        "[failover]\nattempts_per_candidate = 3\n{}",
        fake_provider(&up.base_url(), "")
    ));
    up.push(Reply::Status {
        status: 400,
        body: r#"{"error":{"message":"bad"}}"#.into(),
        headers: vec![],
    });
    let res = client()
        .post(gw.at("/v1/chat/completions"))
        .json(&chat(false))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    assert_eq!(res.headers()["x-switchyard-attempts"], "1");
    assert_eq!(up.requests().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_broken_mid_way_ends_with_an_error_chunk_and_no_done() {
    let up = FakeUpstream::start().await;
    let gw = Gateway::start(&fake_provider(&up.base_url(), ""));
    up.push(Reply::BreakAfter {
        events: vec![
            r#"{"choices":[{"index":0,"delta":{"role":"assistant","content":""}}]}"#.into(),
            r#"{"choices":[{"index":0,"delta":{"content":"partial"}}]}"#.into(),
        ],
    });
    let res = client()
        .post(gw.at("/v1/chat/completions"))
        .json(&chat(true))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let body = res
        .text()
        .await
        .expect("the client sees a clean end of the HTTP body");
    let events = sse_data(&body);
    assert_eq!(events.len(), 3, "{body}");
    assert!(events[1].contains("partial"));
    let err: Value = serde_json::from_str(&events[2]).unwrap();
    assert_eq!(err["error"]["type"], "gateway_error");
    assert_eq!(err["error"]["code"], "stream_truncated");
    assert!(!body.contains("[DONE]"));
    assert_eq!(
        up.requests().len(),
        1,
        "no retry once bytes reached the client"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_that_stalls_mid_way_is_cut_by_the_idle_timeout() {
    let up = FakeUpstream::start().await;
    let gw = Gateway::start(&fake_provider(&up.base_url(), "idle_timeout_secs = 0.5"));
    up.push(Reply::Gated {
        first: r#"{"choices":[{"index":0,"delta":{"content":"first"}}]}"#.into(),
        rest: vec!["[DONE]".into()],
        gate: switchyard_testkit::Gate::new(),
    });
    let started = std::time::Instant::now();
    let res = client()
        .post(gw.at("/v1/chat/completions"))
        .json(&chat(true))
        .send()
        .await
        .unwrap();
    let body = res.text().await.unwrap();
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(450) && took < Duration::from_secs(5),
        "{took:?}"
    );
    let events = sse_data(&body);
    assert!(events[0].contains("first"));
    assert!(events[1].contains("upstream_idle_timeout"), "{body}");
    assert!(
        up.wait_stream_dropped(Duration::from_secs(5)).await,
        "the stalled upstream stream is closed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_503_storm_opens_the_circuit_which_recovers_after_the_cooldown() {
    let up = FakeUpstream::start().await;
    let gw = Gateway::start(&format!(
        "[failover]\ncircuit = {{ consecutive_failures = 3, cooldown_secs = 1.0 }}\n{}",
        fake_provider(&up.base_url(), "")
    ));
    for _ in 0..3 {
        up.push(Reply::Status {
            status: 503,
            body: "overloaded".into(),
            headers: vec![],
        });
        let res = client()
            .post(gw.at("/v1/chat/completions"))
            .json(&chat(false))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 503);
        assert_eq!(res.text().await.unwrap(), "overloaded");
    }
    let res = client()
        .post(gw.at("/v1/chat/completions"))
        .json(&chat(false))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 503);
    let v: Value = res.json().await.unwrap();
    assert_eq!(v["error"]["type"], "gateway_error");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("circuit open"),
        "{v}"
    );
    assert_eq!(
        up.requests().len(),
        3,
        "an open circuit sends nothing upstream"
    );
    let health: Value = client()
        .get(gw.at("/health"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health["circuits"][0]["state"], "open", "{health}");
    assert_eq!(health["circuits"][0]["provider"], "fake");
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let res = client()
        .post(gw.at("/v1/chat/completions"))
        .json(&chat(false))
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        200,
        "the trial request after the cool-down succeeds"
    );
    let health: Value = client()
        .get(gw.at("/health"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health["circuits"][0]["state"], "closed");
    assert_eq!(health["circuits"][0]["times_opened"], 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_connections_are_retried_then_reported() {
    let gw = Gateway::start(&format!(
        "[failover]\nattempts_per_candidate = 3\nbackoff_base_ms = 10\n{}",
        fake_provider(&format!("http://127.0.0.1:{}/v1", closed_port()), "")
    ));
    let res = client()
        .post(gw.at("/v1/chat/completions"))
        .json(&chat(false))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 502);
    let v: Value = res.json().await.unwrap();
    assert_eq!(v["error"]["code"], "upstream_connect");
    let logs = gw.logs();
    assert_eq!(
        logs.matches("attempt failed; retrying").count(),
        3,
        "{logs}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn active_probes_mark_a_dead_provider_down() {
    let up = FakeUpstream::start().await;
    let gw = Gateway::start(&fake_provider(
        &up.base_url(),
        "health_check_path = \"/nope\"\nhealth_check_interval_secs = 0.2",
    ));
    let mut healthy = true;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let h: Value = client()
            .get(gw.at("/health"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        healthy = h["providers"][0]["healthy"].as_bool().unwrap();
        if !healthy {
            break;
        }
    }
    assert!(
        !healthy,
        "two failed probes (404 on /v1/nope) mark the provider down"
    );
    assert!(up.requests().iter().any(|r| r.path == "/v1/nope"));
}
