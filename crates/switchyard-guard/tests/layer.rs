//! The layer over HTTP semantics: what the inner service sees, the refusal's
//! shape, what the exchange records.
#![expect(clippy::unwrap_used, reason = "test helpers unwrap")]

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use serde_json::Value;
use switchyard_core::{ErrorClass, ExchangeState, ParseLayer, RequestExt};
use switchyard_guard::{Action, GuardLayer, Kind, Policy};
use tower::{ServiceBuilder, ServiceExt};

/// What the inner service saw: the body, the prompt text, whether it was edited.
#[derive(Default)]
struct Seen {
    body: Option<Bytes>,
    prompt: String,
    dirty: bool,
    exchange: Option<ExchangeState>,
}

async fn call(policy: Policy, path: &str, body: &str) -> (http::Response<Full<Bytes>>, Seen) {
    let seen = Arc::new(Mutex::new(Seen::default()));
    let out = seen.clone();
    let svc = ServiceBuilder::new()
        .layer(ParseLayer::new())
        .layer(GuardLayer::new(policy))
        .service_fn(move |req: http::Request<Full<Bytes>>| {
            let seen = seen.clone();
            async move {
                let p = req.parsed().unwrap();
                let mut s = seen.lock().unwrap();
                s.body = Some(p.body());
                s.prompt = p.prompt().text().to_owned();
                s.dirty = p.is_dirty();
                s.exchange = Some(req.context().unwrap().exchange().snapshot());
                Ok::<_, std::convert::Infallible>(http::Response::new(Full::new(Bytes::from("ok"))))
            }
        });
    let req = http::Request::post(path)
        .body(Full::new(Bytes::from(body.to_owned())))
        .unwrap();
    let res = svc.oneshot(req).await.unwrap();
    let seen = std::mem::take(&mut *out.lock().unwrap());
    (res, seen)
}

async fn json(res: http::Response<Full<Bytes>>) -> Value {
    serde_json::from_slice(&res.into_body().collect().await.unwrap().to_bytes()).unwrap()
}

#[tokio::test]
async fn redaction_reaches_the_body_the_prompt_and_the_exchange() {
    let body =
        r#"{"model":"m","messages":[{"role":"user","content":"ssn 123-45-6789 ok"}],"z":[1,2]}"#;
    let (res, seen) = call(Policy::new(Action::Redact), "/v1/chat/completions", body).await;
    assert_eq!(res.status(), 200);
    assert!(seen.dirty);
    assert_eq!(
        &seen.body.unwrap()[..],
        br#"{"model":"m","messages":[{"role":"user","content":"ssn [REDACTED:us_ssn] ok"}],"z":[1,2]}"#
    );
    assert_eq!(seen.prompt, "ssn [REDACTED:us_ssn] ok");
    let ex = seen.exchange.unwrap();
    assert_eq!(ex.guard_findings.len(), 1);
    let f = &ex.guard_findings[0];
    assert_eq!(
        (f.kind, &*f.field, f.offset, f.length, f.action),
        ("us_ssn", "/messages/0/content", 4, 11, "redact")
    );
    let kept = String::from_utf8(ex.guard_request_body.unwrap().to_vec()).unwrap();
    assert!(kept.contains("[REDACTED:us_ssn]") && !kept.contains("6789"));
}

#[tokio::test]
async fn log_keeps_the_body_and_clean_prompts_are_untouched() {
    let body = r#"{"model":"m",  "messages":[{"role":"user","content":"ssn 123-45-6789"}]}"#;
    let (_, seen) = call(Policy::new(Action::Log), "/v1/chat/completions", body).await;
    assert!(!seen.dirty);
    assert_eq!(&seen.body.unwrap()[..], body.as_bytes());
    assert_eq!(seen.exchange.unwrap().guard_findings[0].action, "log");
    let clean = r#"{"model":"m",  "messages":[{"role":"user","content":"hello"}]}"#;
    let (_, seen) = call(Policy::new(Action::Block), "/v1/chat/completions", clean).await;
    assert!(!seen.dirty);
    assert_eq!(&seen.body.unwrap()[..], clean.as_bytes());
    let ex = seen.exchange.unwrap();
    assert!(ex.guard_findings.is_empty() && ex.guard_request_body.is_none());
}

#[tokio::test]
async fn a_kind_set_to_off_is_not_even_recorded() {
    let policy = Policy::new(Action::Redact).action(Kind::Email, Action::Off);
    let body = r#"{"model":"m","messages":[{"role":"user","content":"a@gmail.com"}]}"#;
    let (_, seen) = call(policy, "/v1/chat/completions", body).await;
    assert!(!seen.dirty);
    assert!(seen.exchange.unwrap().guard_findings.is_empty());
}

#[tokio::test]
async fn block_refuses_in_each_protocol_without_calling_inside() {
    let body = r#"{"model":"m","max_tokens":5,"messages":[{"role":"user","content":"key AKIAQ4ZK7W2M5N8P3R6T"}]}"#;
    let (res, seen) = call(Policy::new(Action::Block), "/v1/messages", body).await;
    assert_eq!(res.status(), 403);
    assert!(seen.body.is_none(), "the inner service was called");
    let v = json(res).await;
    assert_eq!(v["type"], "error");
    assert_eq!(v["error"]["type"], "permission_error");
    let msg = v["error"]["message"].as_str().unwrap();
    assert!(
        msg.contains("aws_access_key") && !msg.contains("AKIA"),
        "{msg}"
    );
    let (res, _) = call(Policy::new(Action::Block), "/v1/chat/completions", body).await;
    let v = json(res).await;
    assert_eq!(v["error"]["type"], "permission_denied");
    assert_eq!(v["error"]["code"], "prompt_blocked");
}

#[tokio::test]
async fn the_block_is_the_exchanges_error_class() {
    let exchange = Arc::new(Mutex::new(None));
    let out = exchange.clone();
    // An outer layer that keeps the exchange, as the recorder does.
    let svc = ServiceBuilder::new()
        .layer(ParseLayer::new())
        .map_request(move |req: http::Request<Full<Bytes>>| {
            *exchange.lock().unwrap() = Some(req.context().unwrap().exchange().clone());
            req
        })
        .layer(GuardLayer::new(Policy::new(Action::Block)))
        .service_fn(|_req: http::Request<Full<Bytes>>| async {
            Ok::<_, std::convert::Infallible>(http::Response::new(Full::new(Bytes::new())))
        });
    let body = r#"{"model":"m","prompt":"card 4111 1111 1111 1111"}"#;
    let req = http::Request::post("/v1/completions")
        .body(Full::new(Bytes::from(body)))
        .unwrap();
    assert_eq!(svc.oneshot(req).await.unwrap().status(), 403);
    let state = out.lock().unwrap().take().unwrap().snapshot();
    assert_eq!(state.error_class, Some(ErrorClass::GuardBlocked));
    assert_eq!(state.guard_findings[0].kind, "card_number");
    assert_eq!(state.guard_findings[0].action, "block");
}

#[tokio::test]
async fn without_a_parse_layer_it_answers_500_not_a_panic() {
    let svc = ServiceBuilder::new()
        .layer(GuardLayer::new(Policy::new(Action::Redact)))
        .service_fn(|_req: http::Request<Full<Bytes>>| async {
            Ok::<_, std::convert::Infallible>(http::Response::new(Full::new(Bytes::new())))
        });
    let req = http::Request::post("/v1/messages")
        .body(Full::new(Bytes::from("{}")))
        .unwrap();
    let res = svc.oneshot(req).await.unwrap();
    assert_eq!(res.status(), 500);
    assert_eq!(json(res).await["error"]["type"], "gateway_error");
}
