//! ClassifyLayer on its own: `ServiceBuilder` with stub inner services.
#![expect(
    clippy::unwrap_used,
    reason = "helpers fail the test loudly on unexpected errors"
)]

use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::{BodyExt, Full, StreamBody};
use serde_json::json;
use switchyard_classify::{
    Classifier, Classifiers, ClassifyLayer, LengthRange, ResponseClassifiers, Scope,
};
use switchyard_core::{Body, ExchangeState, ParseLayer, RequestExt};
use tower::{ServiceBuilder, ServiceExt};

fn classifiers() -> Classifiers {
    Classifiers::default()
        .with(
            Classifier::keywords("legal", &["contract".into(), "NDA".into()], Scope::All).unwrap(),
        )
        .with(Classifier::regex("sql", r"(?i)\bselect\b.+\bfrom\b", Scope::LastUser).unwrap())
        .with(
            Classifier::length(
                "short",
                LengthRange {
                    max_tokens: Some(5),
                    ..Default::default()
                },
            )
            .unwrap(),
        )
        .with(
            Classifier::length(
                "long",
                LengthRange {
                    min_chars: Some(200),
                    ..Default::default()
                },
            )
            .unwrap(),
        )
        .with(Classifier::long_context("huge", 1000))
}

/// The tags and exchange the stub saw.
type Seen = (Vec<String>, Option<Arc<switchyard_core::Exchange>>);

/// Runs `body` through Parse -> Classify -> a stub answering `reply`; returns the
/// response head, body, the tags the stub saw and the exchange.
async fn run(
    classifiers: Classifiers,
    body: String,
    reply: http::Response<Body>,
) -> (
    http::response::Parts,
    Bytes,
    Option<http::HeaderMap>,
    Vec<String>,
    ExchangeState,
) {
    let seen: Arc<Mutex<Seen>> = Arc::default();
    let reply = Arc::new(Mutex::new(Some(reply)));
    let s = seen.clone();
    let svc = ServiceBuilder::new()
        .layer(ParseLayer::new())
        .layer(ClassifyLayer::new(Arc::new(classifiers)))
        .service_fn(move |req: http::Request<Full<Bytes>>| {
            let ctx = req.context().unwrap();
            *s.lock().unwrap() = (
                ctx.tags().iter().map(|t| t.to_string()).collect(),
                Some(ctx.exchange().clone()),
            );
            let res = reply.lock().unwrap().take().unwrap();
            async move { Ok::<_, Infallible>(res) }
        });
    let req = http::Request::post("/v1/chat/completions")
        .body(Full::new(Bytes::from(body)))
        .unwrap();
    let res = svc.oneshot(req).await.unwrap();
    let (parts, body) = res.into_parts();
    let collected = body.collect().await.unwrap();
    let trailers = collected.trailers().cloned();
    let bytes = collected.to_bytes();
    let (tags, exchange) = seen.lock().unwrap().clone();
    (parts, bytes, trailers, tags, exchange.unwrap().snapshot())
}

fn chat(content: serde_json::Value) -> String {
    json!({"model":"m","messages":[{"role":"system","content":"You are helpful."},{"role":"user","content":content}]})
        .to_string()
}

fn ok_json(v: serde_json::Value) -> http::Response<Body> {
    http::Response::builder()
        .header("content-type", "application/json")
        .body(Body::from(v.to_string()))
        .unwrap()
}

fn answer(text: &str, finish: &str) -> http::Response<Body> {
    ok_json(
        json!({"choices":[{"index":0,"message":{"role":"assistant","content":text},"finish_reason":finish}]}),
    )
}

#[tokio::test]
async fn each_request_classifier_tags() {
    let cases: Vec<(serde_json::Value, Vec<&str>)> = vec![
        (json!("Please review this CONTRACT."), vec!["legal"]),
        (
            json!("my contractor is late, what should I say to him today?"),
            vec![],
        ),
        (json!("hi"), vec!["short"]),
        (
            json!("SELECT name FROM users WHERE id = 1, explain"),
            vec!["sql"],
        ),
        (json!("fix:\n```rust\nfn main() {}\n```"), vec!["code"]),
        (
            json!([{"type":"text","text":"what is in this picture please?"},
                   {"type":"image_url","image_url":{"url":"data:image/png;base64,AA"}}]),
            vec!["vision"],
        ),
        (json!("word ".repeat(50)), vec!["long"]),
        (json!("word ".repeat(1000)), vec!["long", "huge"]),
    ];
    for (content, want) in cases {
        let (parts, _, _, tags, _) =
            run(classifiers(), chat(content.clone()), answer("ok", "stop")).await;
        assert_eq!(tags, want, "{content}");
        let header = parts
            .headers
            .get("x-switchyard-request-tags")
            .map(|v| v.to_str().unwrap().to_owned());
        let expected = (!want.is_empty()).then(|| want.join(","));
        assert_eq!(header, expected, "{content}");
    }
    let body = json!({"model":"m","messages":[{"role":"user","content":"weather in Paris today?"}],
                      "tools":[{"type":"function","function":{"name":"weather"}}]});
    let (_, _, _, tags, _) = run(classifiers(), body.to_string(), answer("ok", "stop")).await;
    assert_eq!(tags, ["tools"]);
}

#[tokio::test]
async fn scope_last_user_ignores_earlier_messages() {
    let body = json!({"model":"m","messages":[
        {"role":"user","content":"select a from b"},
        {"role":"assistant","content":"done"},
        {"role":"user","content":"thanks, now tell me a story about a fox"}]});
    let (_, _, _, tags, _) = run(classifiers(), body.to_string(), answer("ok", "stop")).await;
    assert!(!tags.contains(&"sql".to_owned()), "{tags:?}");
}

#[tokio::test]
async fn whole_answers_are_tagged_in_a_header_and_passed_byte_for_byte() {
    let text = "I'm sorry, but I can't help with that request.";
    let reply = answer(text, "stop");
    let (parts, body, _, _, exchange) =
        run(classifiers(), chat(json!("do something bad")), reply).await;
    assert_eq!(parts.headers["x-switchyard-response-tags"], "refusal");
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v["choices"][0]["message"]["content"], text);
    assert_eq!(exchange.response_tags, vec![Arc::<str>::from("refusal")]);

    let raw = r#"{"choices":[{"index":0,"message":{"content":"one two"},"finish_reason":"length"}] , "x":  1}"#;
    let reply = http::Response::builder()
        .header("content-type", "application/json")
        .body(Body::from(raw))
        .unwrap();
    let (parts, body, _, _, _) = run(classifiers(), chat(json!("count")), reply).await;
    assert_eq!(parts.headers["x-switchyard-response-tags"], "truncated");
    assert_eq!(&body[..], raw.as_bytes());

    let (parts, _, _, _, exchange) = run(
        classifiers(),
        chat(json!("hello")),
        answer("Hello!", "stop"),
    )
    .await;
    assert!(parts.headers.get("x-switchyard-response-tags").is_none());
    assert!(exchange.response_tags.is_empty());
}

fn sse(events: &[&str]) -> http::Response<Body> {
    let frames: Vec<Result<http_body::Frame<Bytes>, Infallible>> = events
        .iter()
        .map(|e| {
            Ok(http_body::Frame::data(Bytes::from(format!(
                "data: {e}\n\n"
            ))))
        })
        .collect();
    let body = StreamBody::new(futures_util::stream::iter(frames));
    http::Response::builder()
        .header("content-type", "text/event-stream")
        .body(Body::new(body))
        .unwrap()
}

#[tokio::test]
async fn streams_pass_unchanged_and_are_tagged_at_the_end() {
    let events = [
        r#"{"choices":[{"index":0,"delta":{"content":"I cannot "}}]}"#,
        r#"{"choices":[{"index":0,"delta":{"content":"help with that."}}]}"#,
        r#"{"choices":[{"index":0,"delta":{},"finish_reason":"length"}]}"#,
        "[DONE]",
    ];
    let (parts, body, trailers, _, exchange) =
        run(classifiers(), chat(json!("x")), sse(&events)).await;
    let expected: String = events.iter().map(|e| format!("data: {e}\n\n")).collect();
    assert_eq!(std::str::from_utf8(&body).unwrap(), expected);
    assert!(parts.headers.get("x-switchyard-response-tags").is_none());
    assert_eq!(
        parts.headers["trailer"], "x-switchyard-response-tags",
        "declared for HTTP/1.1"
    );
    assert_eq!(
        trailers.unwrap()["x-switchyard-response-tags"],
        "refusal,truncated"
    );
    let tags: Vec<&str> = exchange.response_tags.iter().map(|t| &**t).collect();
    assert_eq!(tags, ["refusal", "truncated"]);
}

#[tokio::test]
async fn errors_and_disabled_response_classifiers_are_left_alone() {
    let reply = http::Response::builder()
        .status(500)
        .header("content-type", "application/json")
        .body(Body::from(
            r#"{"error":{"message":"I'm sorry, but I can't"}}"#,
        ))
        .unwrap();
    let (parts, _, _, _, exchange) = run(classifiers(), chat(json!("x")), reply).await;
    assert_eq!(parts.status, 500);
    assert!(parts.headers.get("x-switchyard-response-tags").is_none());
    assert!(exchange.response_tags.is_empty());
    let quiet = classifiers().response(ResponseClassifiers::none());
    let (parts, _, _, _, _) = run(
        quiet,
        chat(json!("x")),
        answer("I'm sorry, but I can't do it", "length"),
    )
    .await;
    assert!(parts.headers.get("x-switchyard-response-tags").is_none());
}

#[tokio::test]
async fn without_parse_layer_it_is_a_500() {
    let svc = ServiceBuilder::new()
        .layer(ClassifyLayer::new(Arc::new(Classifiers::default())))
        .service_fn(|_req: http::Request<Full<Bytes>>| async {
            Ok::<_, Infallible>(http::Response::new(Body::empty()))
        });
    let res = svc
        .oneshot(
            http::Request::post("/v1/messages")
                .body(Full::new(Bytes::new()))
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(res.status(), 500);
    let body = res.into_body().collect().await.unwrap().to_bytes();
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v["type"], "error");
    assert_eq!(v["error"]["type"], "gateway_error");
}
