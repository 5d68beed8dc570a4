//! Rate limits and budgets through the binary: the boundary on one instance,
//! budget reservations and settlement, the stream cutoff for OpenAI and
//! Anthropic clients, two instances sharing one limit on a real Redis, and
//! Redis killed mid-test under both policies.
#![expect(clippy::unwrap_used, reason = "test helpers unwrap")]

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{Gateway, client, fake_provider, record, request_id, sse_data, temp_dir};
use serde_json::{Value, json};
use switchyard_testkit::FakeUpstream;

/// A `redis-server` of our own on a free 127.0.0.1 port, killed (by PID) on drop.
struct Redis {
    child: Child,
    port: u16,
    _dir: common::TempDir,
}

impl Redis {
    /// Starts one, or `None` when `redis-server` is missing outside CI
    /// (under `CI=true` a missing server fails the test).
    fn start() -> Option<Redis> {
        let found = Command::new("redis-server")
            .arg("--version")
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !found {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "redis-server is missing: ./scripts/test installs it (apt-get install redis-server)"
            );
            eprintln!("SKIPPED: redis-server is not installed (./scripts/test installs it)");
            return None;
        }
        let port = common::closed_port();
        let dir = temp_dir("redis");
        let log = std::fs::File::create(dir.join("redis.log")).unwrap();
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
            .arg("--dir")
            .arg(&dir)
            .stdout(log)
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let redis = Redis {
            child,
            port,
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while !redis.pings() {
            assert!(Instant::now() < deadline, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        Some(redis)
    }

    fn pings(&self) -> bool {
        let Ok(mut s) = TcpStream::connect(("127.0.0.1", self.port)) else {
            return false;
        };
        let mut buf = [0u8; 7];
        s.set_read_timeout(Some(Duration::from_secs(1))).ok();
        s.write_all(b"PING\r\n").is_ok() && s.read_exact(&mut buf).is_ok() && &buf == b"+PONG\r\n"
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.kill();
    }
}

fn chat(max_tokens: u64) -> Value {
    json!({"model": "gpt-4o-mini", "max_tokens": max_tokens,
           "messages": [{"role": "user", "content": "hi there"}]})
}

async fn post(gw: &Gateway, path: &str, key: Option<&str>, body: &Value) -> reqwest::Response {
    let mut req = client().post(gw.at(path)).json(body);
    if let Some(k) = key {
        req = req.bearer_auth(k);
    }
    req.send().await.unwrap()
}

fn header<'a>(res: &'a reqwest::Response, name: &str) -> &'a str {
    res.headers()
        .get(name)
        .unwrap_or_else(|| panic!("no {name} header"))
        .to_str()
        .unwrap()
}

#[tokio::test]
async fn model_rpm_holds_exactly_at_the_boundary() {
    let up = FakeUpstream::start().await;
    let config = fake_provider(&up.base_url(), "") + "\n[limits.models.\"gpt-4o-mini\"]\nrpm = 3\n";
    let gw = Gateway::start(&config);
    for left in ["2", "1", "0"] {
        let res = post(&gw, "/v1/chat/completions", None, &chat(16)).await;
        assert_eq!(res.status(), 200);
        assert_eq!(header(&res, "x-ratelimit-limit-requests"), "3");
        assert_eq!(header(&res, "x-ratelimit-remaining-requests"), left);
    }
    let res = post(&gw, "/v1/chat/completions", None, &chat(16)).await;
    assert_eq!(res.status(), 429);
    let retry: u64 = header(&res, "retry-after").parse().unwrap();
    // One of 3 slides out of the last minute 20 s into the next one: at most 80 s away.
    assert!((1..=80).contains(&retry), "retry-after {retry}");
    let id = request_id(&res);
    let v: Value = res.json().await.unwrap();
    assert_eq!(v["error"]["type"], "rate_limit_exceeded");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("model `gpt-4o-mini`"),
        "{v}"
    );
    assert_eq!(record(&gw, &id).await["error_type"], "rate_limited");
    // The Anthropic client is refused in its own shape; the upstream saw only 3 requests.
    let body = json!({"model": "gpt-4o-mini", "max_tokens": 8, "messages": [{"role": "user", "content": "hi"}]});
    let res = post(&gw, "/v1/messages", None, &body).await;
    assert_eq!(res.status(), 429);
    let v: Value = res.json().await.unwrap();
    assert_eq!(
        (v["type"].as_str(), v["error"]["type"].as_str()),
        (Some("error"), Some("rate_limit_error"))
    );
    assert_eq!(up.requests().len(), 3);
}

const KEY_A: &str = "sk-limit-a-0123456789";
const KEY_B: &str = "sk-limit-b-0123456789";

fn keys(budget_usd: f64, extra: &str) -> String {
    format!(
        r#"
[auth]
mode = "virtual_keys"

[[auth.keys]]
id = "a"
team = "ml"
key = "{KEY_A}"
budget_daily_usd = {budget_usd}

[[auth.keys]]
id = "b"
key = "{KEY_B}"
budget_daily_usd = {budget_usd}

[limits]
{extra}
"#
    )
}

#[tokio::test]
async fn budgets_reserve_max_tokens_and_settle_with_the_real_cost() {
    let up = FakeUpstream::start().await;
    // gpt-4o-mini: $0.15 / M input, $0.60 / M output. $0.0005 covers one
    // reservation of 500 output tokens ($0.0003) at a time.
    let gw = Gateway::start(&(fake_provider(&up.base_url(), "") + &keys(0.0005, "")));
    let res = post(&gw, "/v1/chat/completions", Some(KEY_A), &chat(1000)).await;
    assert_eq!(res.status(), 429, "1000 output tokens ($0.0006) cannot fit");
    assert_eq!(header(&res, "x-should-retry"), "false");
    // More than the whole budget: no time to wait would help.
    assert!(res.headers().get("retry-after").is_none());
    let id = request_id(&res);
    let v: Value = res.json().await.unwrap();
    assert_eq!(v["error"]["code"], "insufficient_quota");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("budget of key `a`"),
        "{v}"
    );
    assert_eq!(record(&gw, &id).await["error_type"], "budget");
    assert!(up.requests().is_empty());
    // Each answer costs a few millionths of a dollar: the unused reservation
    // comes back, so ten in a row pass.
    for i in 0..10 {
        let res = post(&gw, "/v1/chat/completions", Some(KEY_A), &chat(500)).await;
        assert_eq!(res.status(), 200, "request {i}");
    }
    assert_eq!(up.requests().len(), 10);
    // What is left is reported once each request settles, per budget.
    let gauge = r#"switchyard_limit_budget_remaining_usd{limit="key:a:usd:day"}"#;
    let left = metric(&gw, gauge).await;
    assert!(left > 0.0 && left < 0.0005, "{left}");
    let res = post(&gw, "/v1/chat/completions", Some(KEY_A), &chat(500)).await;
    assert_eq!(res.status(), 200);
    let after = metric(&gw, gauge).await;
    assert!(after < left && after > 0.0, "{left} then {after}");
    let spent = left - after;
    // The same request again costs the same again, on the same handle.
    let res = post(&gw, "/v1/chat/completions", Some(KEY_A), &chat(500)).await;
    assert_eq!(res.status(), 200);
    let again = metric(&gw, gauge).await;
    assert!(
        ((after - again) - spent).abs() < 1e-9,
        "{spent} then {}",
        after - again
    );
    assert_eq!(
        metric(&gw, r#"switchyard_limit_budget_remaining_usd{limit="key:b"#).await,
        0.0
    );
}

/// A prompt of `n` distinct long words (the fake upstream echoes it back, one chunk per word).
fn long_prompt(n: usize) -> String {
    (0..n)
        .map(|i| format!("wordwordword{i:05}"))
        .collect::<Vec<_>>()
        .join(" ")
}

#[tokio::test]
async fn a_stream_crossing_the_budget_ends_with_the_protocols_error_event() {
    let up = FakeUpstream::start().await;
    // gpt-4o-mini: $0.15 / M input, $0.60 / M output; budget $0.0002 per key.
    // The prompt (3600 chars: ~900 tokens, $0.000135) and the output
    // reservation fit; the streamed echo crosses what is left after ~110
    // tokens (~26 words) of text.
    let limits = "cutoff_streams = true\ndefault_max_tokens = 1";
    let gw = Gateway::start(&(fake_provider(&up.base_url(), "") + &keys(0.0002, limits)));
    let prompt = long_prompt(200);
    // OpenAI: no max_tokens, so 1 output token (default_max_tokens) is reserved.
    let body = json!({"model": "gpt-4o-mini", "stream": true,
                      "messages": [{"role": "user", "content": prompt}]});
    let res = post(&gw, "/v1/chat/completions", Some(KEY_A), &body).await;
    assert_eq!(res.status(), 200);
    let id = request_id(&res);
    let text = res.text().await.unwrap();
    let events = sse_data(&text);
    assert!(
        text.contains("wordwordword00010"),
        "the start streamed: {text}"
    );
    assert!(
        !text.contains("wordwordword00040"),
        "the rest was cut: {text}"
    );
    assert!(
        !events.iter().any(|e| e == "[DONE]"),
        "no [DONE] after an error: {text}"
    );
    let last: Value = serde_json::from_str(events.last().unwrap()).unwrap();
    assert_eq!(last["error"]["type"], "insufficient_quota", "{text}");
    assert_eq!(last["error"]["code"], "budget_exceeded");
    assert!(
        last["error"]["message"]
            .as_str()
            .unwrap()
            .contains("key `a`")
    );
    let r = record(&gw, &id).await;
    assert_eq!(r["error_type"], "budget");
    // What was produced is charged (the upstream's own count: 200 + ~27 tokens).
    assert!(r["cost_usd"].as_f64().unwrap() > 0.00003, "{r}");

    // Anthropic (key b): max_tokens 100 is reserved, and the answer's text
    // (by the gateway's estimate, 4 characters a token) runs past it.
    let body = json!({"model": "gpt-4o-mini", "stream": true, "max_tokens": 100,
                      "messages": [{"role": "user", "content": prompt}]});
    let res = client()
        .post(gw.at("/v1/messages"))
        .header("x-api-key", KEY_B)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let text = res.text().await.unwrap();
    assert!(text.contains("event: content_block_delta"), "{text}");
    assert!(
        !text.contains("message_stop") && !text.contains("wordwordword00050"),
        "{text}"
    );
    let last = text.trim_end().rsplit("\n\n").next().unwrap();
    let data = last
        .strip_prefix("event: error\ndata: ")
        .unwrap_or_else(|| panic!("{text}"));
    let v: Value = serde_json::from_str(data).unwrap();
    assert_eq!(
        (v["type"].as_str(), v["error"]["type"].as_str()),
        (Some("error"), Some("insufficient_quota"))
    );
}

fn shared_config(up: &FakeUpstream, redis: &Redis, extra: &str) -> String {
    fake_provider(&up.base_url(), "")
        + &format!(
            "\n[limits]\nredis_url = \"{}\"\nsync_interval_ms = 50\n{extra}\n",
            redis.url()
        )
}

async fn fire(gw: &Gateway, n: usize) -> Vec<u16> {
    let url = gw.at("/v1/chat/completions");
    let tasks: Vec<_> = (0..n)
        .map(|_| {
            let (c, url) = (client(), url.clone());
            tokio::spawn(async move {
                c.post(url)
                    .json(&chat(8))
                    .send()
                    .await
                    .unwrap()
                    .status()
                    .as_u16()
            })
        })
        .collect();
    let mut out = Vec::with_capacity(n);
    for t in tasks {
        out.push(t.await.unwrap());
    }
    out
}

fn count(statuses: &[u16], status: u16) -> usize {
    statuses.iter().filter(|s| **s == status).count()
}

async fn metric(gw: &Gateway, name: &str) -> f64 {
    let text = client()
        .get(gw.at("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .filter(|l| l.starts_with(name))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_instances_share_one_limit_on_redis() {
    let Some(redis) = Redis::start() else { return };
    let up = FakeUpstream::start().await;
    // 60 a minute, leased 3 at a time (lease_fraction 0.05).
    let config = shared_config(&up, &redis, "[limits.models.\"gpt-4o-mini\"]\nrpm = 60");
    let (a, b) = (Gateway::start(&config), Gateway::start(&config));
    let (ra, rb) = tokio::join!(fire(&a, 90), fire(&b, 90));
    let all: Vec<u16> = ra.iter().chain(&rb).copied().collect();
    let (ok, refused) = (count(&all, 200), count(&all, 429));
    assert_eq!(ok + refused, 180, "{all:?}");
    // The stated bound: never more than the limit; fewer by at most the
    // slices the instances still held when the load stopped (2 x 3).
    assert!(ok <= 60, "{ok} admitted by two instances sharing rpm = 60");
    assert!(ok >= 60 - 2 * 3, "{ok} admitted");
    assert!(
        count(&ra, 200) > 0 && count(&rb, 200) > 0,
        "both instances served"
    );
    assert_eq!(up.requests().len(), ok);
    // Redis was asked per slice, not per request.
    let calls = metric(&a, "switchyard_limit_store_calls_total{path=\"admit\"}").await
        + metric(&b, "switchyard_limit_store_calls_total{path=\"admit\"}").await;
    assert!(
        calls < 90.0,
        "{calls} Redis calls on the request path for 180 requests"
    );
    eprintln!(
        "two instances, rpm 60, 180 concurrent requests: {ok} admitted, {calls} Redis calls on the request path"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_killed_fails_open_when_so_configured() {
    let Some(mut redis) = Redis::start() else {
        return;
    };
    let up = FakeUpstream::start().await;
    let config = shared_config(
        &up,
        &redis,
        "on_redis_error = \"open\"\n[limits.models.\"gpt-4o-mini\"]\nrpm = 20",
    );
    let gw = Gateway::start(&config);
    let before = fire(&gw, 30).await;
    assert_eq!(count(&before, 200), 20, "{before:?}");
    redis.kill();
    // Once the lease is gone nothing is counted: every request is served.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let after = fire(&gw, 30).await;
    assert_eq!(count(&after, 200), 30, "{after:?}");
    assert!(metric(&gw, "switchyard_limit_store_errors_total{policy=\"open\"}").await >= 1.0);
    assert!(
        gw.logs().contains("admitting (on_redis_error = open)"),
        "{}",
        gw.logs()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_killed_fails_closed_when_so_configured() {
    let Some(mut redis) = Redis::start() else {
        return;
    };
    let up = FakeUpstream::start().await;
    // Slices of 10 (lease_fraction 0.01 of 1000).
    let config = shared_config(
        &up,
        &redis,
        "on_redis_error = \"closed\"\nlease_fraction = 0.01\n[limits.models.\"gpt-4o-mini\"]\nrpm = 1000",
    );
    let gw = Gateway::start(&config);
    assert_eq!(count(&fire(&gw, 5).await, 200), 5);
    redis.kill();
    let after = fire(&gw, 40).await;
    // At most what the instance still held in its lease is served; then 503s.
    let m = client()
        .get(gw.at("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let m: Vec<&str> = m.lines().filter(|l| l.contains("limit")).collect();
    assert!(count(&after, 200) <= 10, "{after:?}\n{m:?}\n{}", gw.logs());
    assert_eq!(count(&after, 200) + count(&after, 503), 40, "{after:?}");
    let res = post(&gw, "/v1/chat/completions", None, &chat(8)).await;
    assert_eq!(res.status(), 503);
    let v: Value = res.json().await.unwrap();
    assert_eq!(v["error"]["type"], "gateway_error");
    assert_eq!(v["error"]["code"], "limit_store_unavailable");
    assert!(
        metric(
            &gw,
            "switchyard_limit_store_errors_total{policy=\"closed\"}"
        )
        .await
            >= 1.0
    );
}

#[tokio::test]
async fn counters_survive_a_configuration_reload() {
    let up = FakeUpstream::start().await;
    let config = |rpm: u32| {
        fake_provider(&up.base_url(), "")
            + &format!("\n[limits.models.\"gpt-4o-mini\"]\nrpm = {rpm}\n")
    };
    let gw = Gateway::start(&config(3));
    for _ in 0..3 {
        assert_eq!(
            post(&gw, "/v1/chat/completions", None, &chat(8))
                .await
                .status(),
            200
        );
    }
    assert_eq!(
        post(&gw, "/v1/chat/completions", None, &chat(8))
            .await
            .status(),
        429
    );
    // Raise the limit by one and reload: the 3 already counted still count.
    std::fs::write(gw.config_path(), config(4)).unwrap();
    let res = client().post(gw.at("/admin/reload")).send().await.unwrap();
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let res = post(&gw, "/v1/chat/completions", None, &chat(8)).await;
    assert_eq!(res.status(), 200);
    assert_eq!(header(&res, "x-ratelimit-remaining-requests"), "0");
    assert_eq!(
        post(&gw, "/v1/chat/completions", None, &chat(8))
            .await
            .status(),
        429
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_share_one_budget_on_redis() {
    let Some(redis) = Redis::start() else {
        return;
    };
    let up = FakeUpstream::start().await;
    // $0.1 a token: each request reserves ~10 tokens ($1: 2 of input, 8 of
    // max_tokens) and costs 5 ($0.5: the fake counts "hi there" and "echo: hi there").
    let prices = "\n[usage.models.\"gpt-4o-mini\"]\ninput = 100000.0\noutput = 100000.0\n";
    let config = fake_provider(&up.base_url(), "")
        + prices
        + &keys(
            2.0,
            &format!("redis_url = \"{}\"\nsync_interval_ms = 50", redis.url()),
        );
    let (a, b) = (Gateway::start(&config), Gateway::start(&config));
    let mut spent = Vec::new();
    // Alternate instances, leaving time for idle leases to go back to Redis.
    for (i, gw) in [&a, &b, &a].into_iter().enumerate() {
        let res = post(gw, "/v1/chat/completions", Some(KEY_A), &chat(8)).await;
        assert_eq!(res.status(), 200, "request {i}");
        spent.push(
            record(gw, &request_id(&res)).await["cost_usd"]
                .as_f64()
                .unwrap(),
        );
        tokio::time::sleep(Duration::from_millis(1000)).await;
    }
    assert!(spent.iter().all(|c| (c - 0.5).abs() < 1e-9), "{spent:?}");
    // $1.5 of $2 spent across both: B's own share would still fit a $1
    // reservation; the shared budget does not.
    let res = post(&b, "/v1/chat/completions", Some(KEY_A), &chat(8)).await;
    assert_eq!(res.status(), 429);
    let v: Value = res.json().await.unwrap();
    assert_eq!(v["error"]["code"], "insufficient_quota", "{v}");
    // A smaller reservation still fits what is left.
    let res = post(&a, "/v1/chat/completions", Some(KEY_A), &chat(1)).await;
    assert_eq!(res.status(), 200);
}
