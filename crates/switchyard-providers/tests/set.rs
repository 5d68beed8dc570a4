//! ProviderSet: dispatch by target, attempt records, provider and model headers.
#![expect(clippy::unwrap_used, reason = "a panic is how a test fails")]

mod common;

use std::time::Duration;

use common::{chat, json};
use serde_json::json;
use switchyard_core::{Attempt, Body, Candidate, Error, ErrorKind, RequestContext, RequestExt};
use switchyard_providers::{Mock, MockConfig, ProviderSet};
use tower::{ServiceExt, service_fn};

fn mock(id: &str) -> Mock {
    Mock::new(MockConfig {
        id: id.to_owned(),
        chunk_delay: Duration::ZERO,
        ..MockConfig::default()
    })
}

fn set() -> ProviderSet {
    ProviderSet::new()
        .with("b", mock("b"))
        .with("a", mock("a"))
        .with(
            "down",
            service_fn(|_req: http::Request<Body>| async {
                Err::<http::Response<Body>, _>(Error::connect(
                    "could not connect to upstream `down`",
                ))
            }),
        )
}

fn context(req: &http::Request<Body>) -> RequestContext {
    req.context().unwrap().clone()
}

#[test]
fn ids_and_contains() {
    let set = set();
    assert_eq!(set.ids().collect::<Vec<_>>(), ["a", "b", "down"]);
    assert!(set.contains("a"));
    assert!(!set.contains("c"));
    assert_eq!(
        format!("{set:?}"),
        r#"ProviderSet { providers: ["a", "b", "down"] }"#
    );
}

#[tokio::test]
async fn sends_to_the_target_and_records_the_attempt() {
    let mut req = chat("a", "mock-1", "hi", json!({}));
    req.context_mut()
        .unwrap()
        .set_target(Candidate::new("b", "mock-2"));
    let ctx = context(&req);
    let res = set().oneshot(req).await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["x-switchyard-provider"], "b");
    assert_eq!(res.headers()["x-switchyard-model"], "mock-2");
    assert_eq!(json(res).await["model"], "mock-2");

    let state = ctx.exchange().snapshot();
    assert_eq!(state.served_by, Some(Candidate::new("b", "mock-2")));
    let [attempt] = &state.attempts[..] else {
        panic!("{:?}", state.attempts)
    };
    assert_eq!(
        (&attempt.candidate, attempt.status, &attempt.error),
        (&Candidate::new("b", "mock-2"), Some(200), &None)
    );
    assert!(attempt.duration < Duration::from_secs(5));
}

#[tokio::test]
async fn upstream_error_statuses_are_answers_recorded_as_failed_attempts() {
    let req = chat("a", "mock-1", "[mock-error:429]", json!({}));
    let ctx = context(&req);
    let res = set().oneshot(req).await.unwrap();
    assert_eq!(res.status(), 429);
    assert_eq!(res.headers()["retry-after"], "1");
    assert_eq!(res.headers()["x-switchyard-provider"], "a");
    let state = ctx.exchange().snapshot();
    assert_eq!(state.served_by, None);
    assert_eq!(state.attempts.len(), 1);
    assert_eq!(state.attempts[0].status, Some(429));
    assert_eq!(
        state.attempts[0].error.as_deref(),
        Some("upstream_status_429")
    );
}

#[tokio::test]
async fn provider_errors_are_returned_and_recorded() {
    let req = chat("down", "m", "hi", json!({}));
    let ctx = context(&req);
    let e = set().oneshot(req).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Connect);
    let state = ctx.exchange().snapshot();
    let [
        Attempt {
            candidate,
            status,
            error,
            ..
        },
    ] = &state.attempts[..]
    else {
        panic!("{:?}", state.attempts)
    };
    assert_eq!(candidate, &Candidate::new("down", "m"));
    assert_eq!(*status, None);
    assert_eq!(error.as_deref(), Some("upstream_connect"));
}

#[tokio::test]
async fn unknown_provider_is_an_internal_error() {
    let req = chat("nowhere", "m", "hi", json!({}));
    let ctx = context(&req);
    let e = set().oneshot(req).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Internal);
    assert_eq!(e.message(), "route picked unknown provider `nowhere`");
    assert_eq!(ctx.exchange().attempt_count(), 0);
}

#[tokio::test]
async fn no_route_decision_is_an_internal_error() {
    let endpoint = switchyard_core::Endpoint::ChatCompletions;
    let mut req = http::Request::post(endpoint.path())
        .body(Body::empty())
        .unwrap();
    req.extensions_mut().insert(RequestContext::new(endpoint));
    let e = set().oneshot(req).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Internal);
    assert!(e.message().contains("RouteLayer"), "{}", e.message());
}
