//! Helpers shared by the integration tests: requests as ParseLayer and
//! RouteLayer would leave them, and body readers.
#![allow(dead_code, reason = "each test crate uses a subset")]

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::BodyExt;
use serde_json::Value;
use switchyard_core::{Body, Candidate, Endpoint, ParsedRequest, RequestContext, RouteDecision};

/// A request to `endpoint` with `body`, routed to `provider` / `model`.
pub fn request(endpoint: Endpoint, body: &str, provider: &str, model: &str) -> Request<Body> {
    let parsed = if endpoint.has_body() {
        ParsedRequest::parse(endpoint, Bytes::copy_from_slice(body.as_bytes())).unwrap()
    } else {
        ParsedRequest::empty(endpoint)
    };
    let mut ctx = RequestContext::new(endpoint);
    ctx.set_route(RouteDecision {
        requested_model: parsed.model().unwrap_or("none").into(),
        rule: "test".into(),
        candidates: vec![Candidate::new(provider, model)],
    });
    let mut req = Request::builder()
        .method(endpoint.method())
        .uri(endpoint.path())
        .body(Body::from(body.to_owned()))
        .unwrap();
    req.extensions_mut().insert(parsed);
    req.extensions_mut().insert(ctx);
    req
}

/// A chat request with one user message.
pub fn chat(provider: &str, model: &str, user: &str, extra: Value) -> Request<Body> {
    let mut body = serde_json::json!({
        "model": "requested",
        "messages": [{ "role": "user", "content": user }],
    });
    if let (Value::Object(body), Value::Object(extra)) = (&mut body, extra) {
        body.extend(extra);
    }
    request(
        Endpoint::ChatCompletions,
        &body.to_string(),
        provider,
        model,
    )
}

/// The whole body.
pub async fn bytes(res: Response<Body>) -> Bytes {
    res.into_body().collect().await.unwrap().to_bytes()
}

/// The whole body, as JSON.
pub async fn json(res: Response<Body>) -> Value {
    serde_json::from_slice(&bytes(res).await).unwrap()
}

/// Every data frame of the body, one by one.
pub async fn frames(res: Response<Body>) -> Vec<Bytes> {
    let mut body = res.into_body();
    let mut frames = Vec::new();
    while let Some(frame) = body.frame().await {
        frames.push(frame.unwrap().into_data().unwrap());
    }
    frames
}
