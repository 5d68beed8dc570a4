//! The limit layer in a stack without HTTP: boundaries, reservations, settlement, cutoff.
#![expect(clippy::unwrap_used, reason = "test helpers unwrap")]

mod support;

use http_body_util::BodyExt;
use switchyard_core::{Cost, ErrorClass, Identity, Quota};
use switchyard_limit::Limiter;
use tower::{Service, ServiceExt};

use support::*;

#[tokio::test]
async fn requests_per_minute_hold_exactly_at_the_boundary() {
    let limiter = Limiter::in_memory();
    let quota = Quota {
        requests_per_minute: Some(5),
        ..Quota::default()
    };
    let mut svc = service(
        &limiter,
        "",
        Some(identity(quota.clone())),
        json_upstream(1),
    );
    for i in 0..5 {
        let (parts, _) = call(&mut svc, request("/v1/chat/completions", CHAT)).await;
        assert_eq!(parts.status, 200, "request {i}");
        assert_eq!(parts.headers["x-ratelimit-limit-requests"], "5");
        assert_eq!(
            parts.headers["x-ratelimit-remaining-requests"],
            (4 - i).to_string().as_str()
        );
    }
    let req = request("/v1/chat/completions", CHAT);
    let res = svc.ready().await.unwrap().call(req).await.unwrap();
    assert_eq!(res.status(), 429);
    let retry: u64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    // One of 5 slides out of the window 12 s into the next minute: at most 72 s away.
    assert!((1..=72).contains(&retry), "retry-after {retry}");
    assert_eq!(res.headers()["x-ratelimit-remaining-requests"], "0");
    assert_eq!(
        res.headers()["x-ratelimit-reset-requests"],
        format!("{retry}s").as_str()
    );
    assert!(res.headers().get("x-should-retry").is_none());
    let v: serde_json::Value =
        serde_json::from_slice(&res.into_body().collect().await.unwrap().to_bytes()).unwrap();
    assert_eq!(v["error"]["type"], "rate_limit_exceeded");
    assert_eq!(v["error"]["code"], "rate_limit_exceeded");
    assert!(
        v["error"]["message"].as_str().unwrap().contains("key `k1`"),
        "{v}"
    );
    // The Anthropic client gets its own shape, and another key is not affected.
    let (parts, body) = call(
        &mut svc,
        request(
            "/v1/messages",
            r#"{"model":"m1","max_tokens":5,"messages":[]}"#,
        ),
    )
    .await;
    assert_eq!(parts.status, 429);
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v["type"], "error");
    assert_eq!(v["error"]["type"], "rate_limit_error");
    let other = Identity {
        key_id: Some("k2".into()),
        ..identity(quota.clone())
    };
    let mut svc2 = service(&limiter, "", Some(other), json_upstream(1));
    assert_eq!(chat_status(&mut svc2).await, 200);
}

#[tokio::test]
async fn refusals_mark_the_exchange() {
    let limiter = Limiter::in_memory();
    let seen = Seen::default();
    let mut svc = traced(
        &limiter,
        "models.m1.rpm = 1",
        None,
        json_upstream(1),
        seen.clone(),
    );
    assert_eq!(chat_status(&mut svc).await, 200);
    let (parts, body) = call(&mut svc, request("/v1/chat/completions", CHAT)).await;
    assert_eq!(parts.status, 429);
    let class = seen
        .lock()
        .unwrap()
        .as_ref()
        .unwrap()
        .snapshot()
        .error_class;
    assert_eq!(class, Some(ErrorClass::RateLimited));
    // The model limit names the model.
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("model `m1`"),
        "{v}"
    );
    // A budget refusal is classed `budget`.
    let quota = Quota {
        budget_daily: Some(Cost::from_nanos(1)),
        ..Quota::default()
    };
    let mut svc = traced(
        &limiter,
        "",
        Some(identity(quota)),
        json_upstream(1),
        seen.clone(),
    );
    assert_eq!(chat_status(&mut svc).await, 429);
    let class = seen
        .lock()
        .unwrap()
        .as_ref()
        .unwrap()
        .snapshot()
        .error_class;
    assert_eq!(class, Some(ErrorClass::Budget));
}

#[tokio::test]
async fn a_budget_refuses_a_request_whose_max_tokens_would_cross_it() {
    let limiter = Limiter::in_memory();
    // $0.001 a day = 1000 tokens at $1/M.
    let quota = Quota {
        budget_daily: Some(Cost::from_usd(0.001)),
        ..Quota::default()
    };
    let mut svc = service(
        &limiter,
        "",
        Some(identity(quota.clone())),
        json_upstream(5),
    );
    // One request used 15 tokens: $0.000015.
    let (parts, _) = call(&mut svc, request("/v1/chat/completions", CHAT)).await;
    assert_eq!(parts.status, 200);
    // 3 + 990 tokens reserved would cross the 985 left.
    let big =
        r#"{"model":"m1","messages":[{"role":"user","content":"hello there"}],"max_tokens":990}"#;
    let (parts, body) = call(&mut svc, request("/v1/chat/completions", big)).await;
    assert_eq!(parts.status, 429);
    assert_eq!(parts.headers["x-should-retry"], "false");
    let retry: u64 = parts.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=86_400).contains(&retry));
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v["error"]["code"], "insufficient_quota");
    let msg = v["error"]["message"].as_str().unwrap();
    assert!(
        msg.contains("budget of key `k1`") && msg.contains("$0.000985 left"),
        "{v}"
    );
    // 3 + 980 fits exactly under 985.
    let fits =
        r#"{"model":"m1","messages":[{"role":"user","content":"hello there"}],"max_tokens":982}"#;
    assert_eq!(
        call(&mut svc, request("/v1/chat/completions", fits))
            .await
            .0
            .status,
        200
    );
    // A reservation larger than the whole budget never fits.
    let huge =
        r#"{"model":"m1","messages":[{"role":"user","content":"hello there"}],"max_tokens":5000}"#;
    let (parts, _) = call(&mut svc, request("/v1/chat/completions", huge)).await;
    assert_eq!(parts.status, 429);
    assert!(parts.headers.get("retry-after").is_none());
    // A request whose reservation fits passes.
    assert_eq!(chat_status(&mut svc).await, 200);
}

#[tokio::test]
async fn settlement_refunds_the_unused_reservation() {
    let limiter = Limiter::in_memory();
    // 250 tokens a minute; each request reserves ~3 input + 100 output tokens but uses 10 + 2.
    let quota = Quota {
        tokens_per_minute: Some(250),
        ..Quota::default()
    };
    let mut svc = service(
        &limiter,
        "",
        Some(identity(quota.clone())),
        json_upstream(2),
    );
    for i in 0..10 {
        let (parts, _) = call(&mut svc, request("/v1/chat/completions", CHAT)).await;
        assert_eq!(
            parts.status, 200,
            "request {i}: without settlement the third would be refused"
        );
    }
    // 10 requests used 12 tokens each.
    let (parts, _) = call(&mut svc, request("/v1/chat/completions", CHAT)).await;
    let left: u64 = parts.headers["x-ratelimit-remaining-tokens"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    // 250 - 10 * 12 - this request's own reservation (3 + 100).
    assert_eq!(left, 250 - 120 - 103);
    // Overruns are charged: an answer of 200 output tokens with max_tokens 100.
    let mut heavy = service(&limiter, "", Some(identity(quota)), json_upstream(200));
    assert_eq!(chat_status(&mut heavy).await, 200);
    let (parts, _) = call(&mut svc, request("/v1/chat/completions", CHAT)).await;
    assert_eq!(parts.status, 429, "132 + 210 used: no room for 103 more");
}

#[tokio::test]
async fn an_upstream_error_refunds_everything() {
    let limiter = Limiter::in_memory();
    // Room for one reservation of 103 tokens at a time: each must come back.
    let quota = Quota {
        tokens_per_minute: Some(120),
        ..Quota::default()
    };
    let mut svc = service(&limiter, "", Some(identity(quota)), json_upstream(0));
    for i in 0..5 {
        let (parts, _) = call(&mut svc, request("/v1/chat/completions", CHAT)).await;
        assert_eq!(parts.status, 502, "request {i} reached the upstream");
    }
}

const OPENAI_STREAM: [&str; 5] = [
    "data: {\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\"}}]}\n\n",
    "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}}]}\n\n",
    "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\"}}]}\n\n",
    "data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n",
    "data: [DONE]\n\n",
];

const ANTHROPIC_STREAM: [&str; 5] = [
    "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"content\":[]}}\n\n",
    "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}}\n\n",
    "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\"}}\n\n",
    "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"}}\n\n",
    "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n",
];

fn streaming(chunks: &[&'static str]) -> Upstream {
    Upstream {
        output_tokens: 20,
        stream: Some(chunks.to_vec()),
        content_type: "text/event-stream",
    }
}

#[tokio::test]
async fn a_stream_crossing_the_budget_ends_with_an_openai_error_chunk() {
    // Budget 20 tokens' worth; the request reserves 3 + 1 (max_tokens 1 lets it in).
    let text = budgeted_stream("cutoff_streams = true", &OPENAI_STREAM, "/v1/chat/completions", r#"{"model":"m1","stream":true,"messages":[{"role":"user","content":"hello there"}],"max_tokens":1}"#).await;
    let text = text.as_str();
    // 40 chars = 10 tokens fit (3 + 10 <= 20); 80 chars = 20 tokens do not (3 + 20 > 20).
    assert!(text.contains("aaaa"), "{text}");
    assert!(
        !text.contains("bbbb"),
        "the crossing chunk is not sent: {text}"
    );
    assert!(!text.contains("[DONE]"), "{text}");
    let last = text.trim_end().rsplit("\n\n").next().unwrap();
    let v: serde_json::Value = serde_json::from_str(last.strip_prefix("data: ").unwrap()).unwrap();
    assert_eq!(v["error"]["code"], "budget_exceeded");
    assert_eq!(v["error"]["type"], "insufficient_quota");
}

#[tokio::test]
async fn a_stream_crossing_the_budget_ends_with_an_anthropic_error_event() {
    let text = budgeted_stream("cutoff_streams = true", &ANTHROPIC_STREAM, "/v1/messages", r#"{"model":"m1","stream":true,"messages":[{"role":"user","content":"hello there"}],"max_tokens":1}"#).await;
    let text = text.as_str();
    assert!(
        text.contains("aaaa") && !text.contains("bbbb") && !text.contains("message_stop"),
        "{text}"
    );
    let last = text.trim_end().rsplit("\n\n").next().unwrap();
    let data = last.strip_prefix("event: error\ndata: ").unwrap();
    let v: serde_json::Value = serde_json::from_str(data).unwrap();
    assert_eq!(v["type"], "error");
    assert_eq!(v["error"]["type"], "insufficient_quota");
}

#[tokio::test]
async fn without_cutoff_the_stream_passes_whole() {
    let limiter = Limiter::in_memory();
    let quota = Quota {
        budget_daily: Some(Cost::from_nanos(20_000)),
        ..Quota::default()
    };
    let mut svc = service(
        &limiter,
        "",
        Some(identity(quota)),
        streaming(&OPENAI_STREAM),
    );
    let body = r#"{"model":"m1","stream":true,"messages":[{"role":"user","content":"hello there"}],"max_tokens":1}"#;
    let (_, bytes) = call(&mut svc, request("/v1/chat/completions", body)).await;
    assert!(
        std::str::from_utf8(&bytes)
            .unwrap()
            .ends_with("data: [DONE]\n\n")
    );
}

#[tokio::test]
async fn a_request_larger_than_the_limit_is_told_it_never_fits() {
    let limiter = Limiter::in_memory();
    let mut svc = service(&limiter, "models.\"m*\".tpm = 50", None, json_upstream(1));
    let (parts, body) = call(&mut svc, request("/v1/chat/completions", CHAT)).await;
    assert_eq!(parts.status, 429);
    assert!(parts.headers.get("retry-after").is_none());
    assert_eq!(parts.headers["x-should-retry"], "false");
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("more than the limit"),
        "{v}"
    );
}

/// An OpenAI stream whose events are split across frames: the second delta
/// arrives in two halves, so the crossing is seen mid-event.
const SPLIT_STREAM: [&str; 4] = [
    "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}}]}\n\n",
    "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"bbbbbbbbbbbbbbbbbbbb",
    "bbbbbbbbbbbbbbbbbbbb\"}}]}\n\ndata: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"cc",
    "cc\"}}]}\n\ndata: [DONE]\n\n",
];

#[tokio::test]
async fn a_crossing_seen_mid_event_ends_at_the_next_event_boundary() {
    let text = budgeted_stream("cutoff_streams = true", &SPLIT_STREAM, "/v1/chat/completions", r#"{"model":"m1","stream":true,"messages":[{"role":"user","content":"hello there"}],"max_tokens":1}"#).await;
    let text = text.as_str();
    // The half event already sent is completed, then the error follows: every event parses.
    let events: Vec<&str> = text.trim_end().split("\n\n").collect();
    for ev in &events {
        let data = ev.strip_prefix("data: ").unwrap();
        serde_json::from_str::<serde_json::Value>(data).unwrap_or_else(|e| panic!("{e}: {text}"));
    }
    assert!(
        text.contains("bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\""),
        "{text}"
    );
    assert!(!text.contains("\"cc"), "{text}");
    assert!(events.last().unwrap().contains("budget_exceeded"), "{text}");
}

const RESPONSES_STREAM: [&str; 3] = [
    "event: response.output_text.delta\ndata: {\"type\":\"response.output_text.delta\",\"delta\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}\n\n",
    "event: response.output_text.delta\ndata: {\"type\":\"response.output_text.delta\",\"delta\":\"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\"}\n\n",
    "event: response.completed\ndata: {\"type\":\"response.completed\"}\n\n",
];

#[tokio::test]
async fn a_responses_stream_crossing_the_budget_ends_with_an_error_event() {
    let text = budgeted_stream(
        "cutoff_streams = true",
        &RESPONSES_STREAM,
        "/v1/responses",
        r#"{"model":"m1","stream":true,"input":"hello there","max_output_tokens":1}"#,
    )
    .await;
    let text = text.as_str();
    assert!(
        text.contains("aaaa") && !text.contains("bbbb") && !text.contains("response.completed"),
        "{text}"
    );
    let last = text.trim_end().rsplit("\n\n").next().unwrap();
    let v: serde_json::Value =
        serde_json::from_str(last.strip_prefix("event: error\ndata: ").unwrap()).unwrap();
    assert_eq!(
        (v["type"].as_str(), v["code"].as_str()),
        (Some("error"), Some("budget_exceeded"))
    );
}

#[tokio::test]
async fn keys_of_a_team_share_its_limit() {
    let limiter = Limiter::in_memory();
    let team = "[teams.ml]\nrpm = 3";
    let mut a = service(
        &limiter,
        team,
        Some(identity(Quota::default())),
        json_upstream(1),
    );
    let other = Identity {
        key_id: Some("k2".into()),
        ..identity(Quota::default())
    };
    let mut b = service(&limiter, team, Some(other), json_upstream(1));
    assert_eq!(chat_status(&mut a).await, 200);
    assert_eq!(chat_status(&mut b).await, 200);
    assert_eq!(chat_status(&mut a).await, 200);
    let (parts, body) = call(&mut b, request("/v1/chat/completions", CHAT)).await;
    assert_eq!(parts.status, 429);
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("team `ml`"),
        "{v}"
    );
    // A key outside the team is not counted against it.
    let loner = Identity {
        key_id: Some("k3".into()),
        team: None,
        ..Identity::default()
    };
    let mut c = service(&limiter, team, Some(loner), json_upstream(1));
    assert_eq!(chat_status(&mut c).await, 200);
}

#[tokio::test]
async fn config_defaults_apply_to_keys_field_by_field() {
    let limiter = Limiter::in_memory();
    // The key's own tpm, the default rpm of 2.
    let quota = Quota {
        tokens_per_minute: Some(100_000),
        ..Quota::default()
    };
    let mut svc = service(
        &limiter,
        "[keys]\nrpm = 2\ntpm = 1",
        Some(identity(quota)),
        json_upstream(1),
    );
    for _ in 0..2 {
        let (parts, _) = call(&mut svc, request("/v1/chat/completions", CHAT)).await;
        assert_eq!(
            parts.status, 200,
            "the key's tpm of 100000 wins over the default 1"
        );
    }
    assert_eq!(chat_status(&mut svc).await, 429);
}

/// Streams `chunks` for a key with 20 000 nano-dollars a day under `config`;
/// the answer's text (the status must be 200).
async fn budgeted_stream(config: &str, chunks: &[&'static str], path: &str, body: &str) -> String {
    let limiter = Limiter::in_memory();
    let quota = Quota {
        budget_daily: Some(Cost::from_nanos(20_000)),
        ..Quota::default()
    };
    let mut svc = service(&limiter, config, Some(identity(quota)), streaming(chunks));
    let (parts, bytes) = call(&mut svc, request(path, body)).await;
    assert_eq!(parts.status, 200);
    String::from_utf8(bytes.to_vec()).unwrap()
}
