//! ParamsLayer on its own: `ServiceBuilder` with a stub inner service that answers with the body it got.
#![expect(
    clippy::unwrap_used,
    reason = "helpers fail the test loudly on unexpected errors"
)]

use std::convert::Infallible;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use serde_json::{Value, json};
use switchyard_core::{Candidate, ParseLayer, RequestExt, RouteDecision};
use switchyard_params::{ParamsLayer, Profile, Profiles};
use tower::{ServiceBuilder, ServiceExt};

fn profiles() -> Profiles {
    Profiles::builder()
        .profile(
            "coder",
            Profile::new()
                .default_value("temperature", 0.2)
                .clamp("chat_template_kwargs.enable_thinking", false)
                .max("max_tokens", 8192),
        )
        .profile(
            "local-limits",
            Profile::new()
                .max("max_tokens", 4096)
                .remove("logit_bias")
                .remove("parallel_tool_calls"),
        )
        .profile("reasoner", Profile::new().clamp("reasoning_effort", "high"))
        .target(Some("local"), ["qwen*", "llama*"], "local-limits")
        .build()
        .unwrap()
}

/// Sends `body` through Parse -> (route stub to `candidate`) -> Params -> echo; returns (status, body bytes).
async fn send(candidate: Option<Candidate>, path: &str, body: &'static str) -> (u16, Bytes) {
    let svc = ServiceBuilder::new()
        .layer(ParseLayer::new())
        .map_request(move |mut req: http::Request<Full<Bytes>>| {
            if let Some(c) = candidate.clone() {
                req.context_mut().unwrap().set_route(RouteDecision {
                    requested_model: "asked".into(),
                    rule: "test".into(),
                    candidates: vec![c],
                });
            }
            req
        })
        .layer(ParamsLayer::new(Arc::new(profiles())))
        .service_fn(|req: http::Request<Full<Bytes>>| async move {
            let body = req.parsed().unwrap().body();
            Ok::<_, Infallible>(http::Response::new(Full::new(body)))
        });
    let method = if body.is_empty() { "GET" } else { "POST" };
    let req = http::Request::builder()
        .method(method)
        .uri(path)
        .body(Full::new(Bytes::from_static(body.as_bytes())))
        .unwrap();
    let res = svc.oneshot(req).await.unwrap();
    let status = res.status().as_u16();
    (status, res.into_body().collect().await.unwrap().to_bytes())
}

fn json(b: &Bytes) -> Value {
    serde_json::from_slice(b).unwrap()
}

#[tokio::test]
async fn a_complying_body_is_forwarded_byte_for_byte() {
    let body = "{ \"model\":\"m\",  \"temperature\": 1.5,\n \"max_tokens\": 10, \"chat_template_kwargs\": {\"enable_thinking\": false} }";
    let (status, got) = send(
        Some(Candidate::new("openai", "m").with_profile("coder")),
        "/v1/chat/completions",
        body,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(&got[..], body.as_bytes());
    // No profile at all: untouched too.
    let (_, got) = send(
        Some(Candidate::new("openai", "m")),
        "/v1/chat/completions",
        body,
    )
    .await;
    assert_eq!(&got[..], body.as_bytes());
}

#[tokio::test]
async fn defaults_lose_to_the_caller_and_clamps_win() {
    let (_, got) = send(
        Some(Candidate::new("openai", "m").with_profile("coder")),
        "/v1/chat/completions",
        r#"{"model":"m","max_tokens":100000,"chat_template_kwargs":{"enable_thinking":true},"messages":[]}"#,
    )
    .await;
    assert_eq!(
        json(&got),
        json!({"model":"m","max_tokens":8192,"chat_template_kwargs":{"enable_thinking":false},
               "messages":[],"temperature":0.2})
    );
    let (_, got) = send(
        Some(Candidate::new("openai", "m").with_profile("coder")),
        "/v1/chat/completions",
        r#"{"model":"m","temperature":0.9}"#,
    )
    .await;
    assert_eq!(json(&got)["temperature"], 0.9, "the caller beats a default");
}

#[tokio::test]
async fn target_rules_and_the_candidate_profile_layer() {
    // local/qwen3 gets local-limits (max 4096, removals), then coder (max 8192 does not widen it).
    let (_, got) = send(
        Some(Candidate::new("local", "qwen3").with_profile("coder")),
        "/v1/chat/completions",
        r#"{"model":"qwen3","max_tokens":6000,"logit_bias":{"1":2},"parallel_tool_calls":true,"temperature":0.5}"#,
    )
    .await;
    assert_eq!(
        json(&got),
        json!({"model":"qwen3","max_tokens":4096,"temperature":0.5,
               "chat_template_kwargs":{"enable_thinking":false}})
    );
    // Another provider's qwen gets none of the local rules.
    let (_, got) = send(
        Some(Candidate::new("cloud", "qwen3").with_profile("reasoner")),
        "/v1/chat/completions",
        r#"{"model":"qwen3","logit_bias":{}}"#,
    )
    .await;
    assert_eq!(
        json(&got),
        json!({"model":"qwen3","logit_bias":{},"reasoning_effort":"high"})
    );
}

#[tokio::test]
async fn misassembly_and_unknown_profiles_are_500s_not_panics() {
    let (status, got) = send(None, "/v1/chat/completions", r#"{"model":"m"}"#).await;
    assert_eq!(status, 500);
    let v = json(&got);
    assert_eq!(v["error"]["type"], "gateway_error");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("RouteLayer"),
        "{v}"
    );
    let (status, got) = send(
        Some(Candidate::new("openai", "m").with_profile("nope")),
        "/v1/messages",
        r#"{"model":"m"}"#,
    )
    .await;
    assert_eq!(status, 500);
    let v = json(&got);
    assert_eq!(v["type"], "error", "Anthropic shape for /v1/messages: {v}");
    assert!(v["error"]["message"].as_str().unwrap().contains("`nope`"));
    // GET /v1/models has no body and no route: passes.
    let (status, _) = send(None, "/v1/models", "").await;
    assert_eq!(status, 200);
}

#[test]
fn invalid_profile_sets_are_named() {
    let e = Profiles::builder()
        .profile("a", Profile::new().min("top_p", 2).max("top_p", 1))
        .build()
        .unwrap_err();
    assert!(e.to_string().starts_with("profile `a`:"), "{e}");
    let e = Profiles::builder()
        .target(Some("local"), ["*"], "missing")
        .build()
        .unwrap_err();
    assert!(e.to_string().contains("unknown profile `missing`"), "{e}");
    let e = Profiles::builder()
        .profile("a", Profile::new())
        .target(None, ["[bad"], "a")
        .build()
        .unwrap_err();
    assert!(
        e.to_string().contains("invalid model pattern `[bad`"),
        "{e}"
    );
}
