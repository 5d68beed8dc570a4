//! Failover through the real binary against misbehaving fake upstreams.

mod common;

use std::time::{Duration, Instant};

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
    let res = gw.post_json("/v1/chat/completions", &chat(false)).await;
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
    let res = gw.post_json("/v1/chat/completions", &chat(false)).await;
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
    let res = gw.post_json("/v1/chat/completions", &chat(true)).await;
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
    let res = gw.post_json("/v1/chat/completions", &chat(true)).await;
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
        let res = gw.post_json("/v1/chat/completions", &chat(false)).await;
        assert_eq!(res.status(), 503);
        assert_eq!(res.text().await.unwrap(), "overloaded");
    }
    let res = gw.post_json("/v1/chat/completions", &chat(false)).await;
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
    let res = gw.post_json("/v1/chat/completions", &chat(false)).await;
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
    let res = gw.post_json("/v1/chat/completions", &chat(false)).await;
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

/// Two fake upstreams `a` and `b` behind one virtual model `ha` (a first).
async fn pair(failover: &str, extra_a: &str) -> (FakeUpstream, FakeUpstream, Gateway) {
    let (a, b) = (FakeUpstream::start().await, FakeUpstream::start().await);
    let config = format!(
        r#"{failover}
[[providers]]
id = "a"
kind = "openai"
base_url = "{}"
models = ["gpt-*"]
discover = false
{extra_a}

[[providers]]
id = "b"
kind = "openai"
base_url = "{}"
models = ["gpt-*"]
discover = false

[virtual_models.ha]
targets = ["a/gpt-4o-mini", "b/gpt-4o-mini"]
"#,
        a.base_url(),
        b.base_url()
    );
    let gw = Gateway::start(&config);
    (a, b, gw)
}

fn ha(stream: bool) -> Value {
    json!({"model":"ha","stream":stream,"messages":[{"role":"user","content":"fail me over"}]})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_503_fails_over_to_the_next_provider_invisibly() {
    let (a, b, gw) = pair("", "").await;
    for stream in [false, true] {
        a.push(Reply::Status {
            status: 503,
            body: "busy".into(),
            headers: vec![],
        });
        let res = gw.post_json("/v1/chat/completions", &ha(stream)).await;
        assert_eq!(res.status(), 200);
        assert_eq!(res.headers()["x-switchyard-provider"], "b");
        assert_eq!(res.headers()["x-switchyard-attempts"], "2");
        let body = res.text().await.unwrap();
        assert!(body.contains("fail") && !body.contains("busy"), "{body}");
        if stream {
            assert!(body.ends_with("data: [DONE]\n\n"));
        }
    }
    // Exactly which upstream saw which attempt: a twice (both 503), b twice (both served).
    assert_eq!(a.requests().len(), 2);
    assert_eq!(b.requests().len(), 2);
    assert!(
        b.requests()
            .iter()
            .all(|r| r.json()["model"] == "gpt-4o-mini")
    );
    let metrics = client()
        .get(gw.at("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let mitigated = metrics
        .lines()
        .find(|l| {
            l.starts_with("switchyard_requests_mitigated_total") && l.contains("provider=\"b\"")
        })
        .unwrap_or_else(|| panic!("no mitigated counter in:\n{metrics}"));
    assert!(mitigated.ends_with(" 2"), "{mitigated}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_before_the_first_byte_fail_over_never_client_errors() {
    let (a, b, gw) = pair("", "timeout_secs = 0.4").await;
    for reply in [Reply::Hang, Reply::HeadersThenHang] {
        a.push(reply);
        let res = gw.post_json("/v1/chat/completions", &ha(true)).await;
        assert_eq!(
            res.status(),
            200,
            "a timed out before its first byte: b serves"
        );
        assert_eq!(res.headers()["x-switchyard-provider"], "b");
        assert!(res.text().await.unwrap().ends_with("data: [DONE]\n\n"));
    }
    a.push(Reply::Status {
        status: 400,
        body: r#"{"error":{"message":"bad request"}}"#.into(),
        headers: vec![],
    });
    let res = gw.post_json("/v1/chat/completions", &ha(false)).await;
    assert_eq!(res.status(), 400, "a client error is final");
    assert_eq!(a.requests().len(), 3);
    assert_eq!(b.requests().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_open_circuit_sends_traffic_straight_to_the_next_provider() {
    let (a, b, gw) = pair(
        "[failover.circuit]\nconsecutive_failures = 2\ncooldown_secs = 60\n",
        "",
    )
    .await;
    for _ in 0..2 {
        a.push(Reply::Status {
            status: 500,
            body: "boom".into(),
            headers: vec![],
        });
        let res = gw.post_json("/v1/chat/completions", &ha(false)).await;
        assert_eq!(res.headers()["x-switchyard-provider"], "b");
    }
    for _ in 0..3 {
        let res = gw.post_json("/v1/chat/completions", &ha(false)).await;
        assert_eq!(res.headers()["x-switchyard-attempts"], "1");
        assert_eq!(res.headers()["x-switchyard-provider"], "b");
    }
    assert_eq!(
        a.requests().len(),
        2,
        "a is skipped while its circuit is open"
    );
    assert_eq!(b.requests().len(), 5);
    let metrics = client()
        .get(gw.at("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("switchyard_circuit_state")
                && l.contains("provider=\"a\"")
                && l.ends_with(" 2")),
        "{metrics}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_reader_keeps_gateway_memory_bounded() {
    // The upstream offers 50 MiB at once; the client reads a piece every 300 ms.
    // The gateway must not buffer the answer for it: backpressure reaches the
    // upstream, and the gateway's RSS stays near its resting size.
    let up = FakeUpstream::start().await;
    let gw = Gateway::start(&fake_provider(&up.base_url(), ""));
    let rss = |pid: u32| -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
        let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
        line.split_whitespace()
            .nth(1)
            .unwrap()
            .parse::<u64>()
            .unwrap()
            * 1024
    };
    // Warm up first (tokenizer tables, pools, one-time allocations), so the
    // baseline is the gateway at rest, not the gateway starting.
    // Rest means RSS flat for 1.5 s (six samples); the tokenizer tables load in
    // the background at start and take seconds in a debug build.
    let mut before = 0;
    let mut flat = 0;
    let warmed = Instant::now();
    while flat < 6 {
        assert!(
            warmed.elapsed() < Duration::from_secs(60),
            "the gateway never came to rest"
        );
        let res = gw.post_json("/v1/chat/completions", &chat(true)).await;
        assert!(res.text().await.unwrap().ends_with("[DONE]\n\n"));
        tokio::time::sleep(Duration::from_millis(250)).await;
        let now = rss(gw.pid());
        flat = if now.abs_diff(before) < 256 * 1024 {
            flat + 1
        } else {
            0
        };
        before = now;
    }
    let big = "x".repeat(64 * 1024);
    let events: Vec<String> = (0..800)
        .map(|_| format!(r#"{{"choices":[{{"index":0,"delta":{{"content":"{big}"}}}}]}}"#))
        .chain(["[DONE]".to_owned()])
        .collect();
    up.push(Reply::Events {
        events,
        delay: Duration::ZERO,
    });
    let mut res = gw.post_json("/v1/chat/completions", &chat(true)).await;
    let mut read = 0usize;
    let mut samples = Vec::new();
    for _ in 0..8 {
        let chunk = res.chunk().await.unwrap().unwrap();
        read += chunk.len();
        tokio::time::sleep(Duration::from_millis(300)).await;
        samples.push(rss(gw.pid()));
    }
    // 800 x 64 KiB = 50 MiB offered. Holding it would grow RSS past 50 MiB and
    // keep growing; what the gateway holds is bounded (codec buffers, one
    // event's tail per parser, the allocator's high-water mark) and flat.
    let (mid, late) = (samples[4], samples[7]);
    eprintln!("rss at rest {before}, samples {samples:?}, read {read}");
    assert!(
        late < before + 40 * 1024 * 1024,
        "gateway RSS grew from {before} to {late} bytes while a slow client read {read} bytes"
    );
    assert!(
        late <= mid + 2 * 1024 * 1024,
        "gateway RSS keeps growing while the client stalls: {samples:?}"
    );
    drop(res);
    assert!(up.wait_stream_dropped(Duration::from_secs(5)).await);
}
