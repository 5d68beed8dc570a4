//! `POST /admin/route/test`: what the serving configuration would do with a
//! request, layer by layer, without sending it anywhere. It runs the real
//! parse, classify and route layers and the real parameter profiles of the
//! generation serving now, over a service that only looks.

use std::sync::{Arc, Mutex};

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::{HeaderName, HeaderValue, StatusCode};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use switchyard_core::{Endpoint, ParseLayer, RequestExt, RouteDecision};
use switchyard_route::RouteLayer;
use tower::{Layer, ServiceBuilder, ServiceExt};

use super::ApiError;
use crate::reload::Live;

/// The sample request.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Sample {
    /// `/v1/chat/completions`, `/v1/messages`, ...
    endpoint: String,
    /// Request headers (`x-source`, `x-project`, headers rules match ...).
    #[serde(default)]
    headers: Map<String, Value>,
    /// The JSON body, as the client would send it.
    body: Value,
}

/// What the layers saw, taken where the request would leave for the failover layer.
struct Seen {
    model: Option<String>,
    stream: bool,
    tags: Vec<String>,
    decision: Option<RouteDecision>,
    /// Each rule with whether its conditions held.
    tried: Vec<(String, bool)>,
    json: Value,
}

pub(super) async fn handler(State(live): State<Arc<Live>>, body: Bytes) -> Response {
    match run(&live, &body).await {
        Ok(v) => axum::Json(v).into_response(),
        Err(e) => e.into_response(),
    }
}

async fn run(live: &Live, body: &[u8]) -> Result<Value, ApiError> {
    let sample: Sample = serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("the body is not a route test: {e}")))?;
    let endpoint = Endpoint::from_path(&sample.endpoint).ok_or_else(|| {
        let paths: Vec<&str> = Endpoint::ALL.iter().map(|e| e.path()).collect();
        ApiError::invalid(format!(
            "unknown endpoint `{}` (one of: {})",
            sample.endpoint,
            paths.join(", ")
        ))
        .field("endpoint")
    })?;
    let request = request(endpoint, &sample)?;
    let generation = live.current();
    let layers = generation.gateway().route_layers().clone();
    let seen: Arc<Mutex<Option<Seen>>> = Arc::new(Mutex::new(None));
    let stack = ServiceBuilder::new()
        .layer(ParseLayer::new().limit(generation.config.body_limit_bytes))
        .layer(layers.auth)
        .layer(layers.guard)
        .layer(layers.classify)
        .layer(RouteLayer::with_rules(layers.rules.clone()))
        .service(look(seen.clone(), layers.rules));
    let Ok(res) = stack.oneshot(request).await;
    let seen = seen.lock().unwrap_or_else(|p| p.into_inner()).take();
    let mut out = json!({
        "endpoint": endpoint.path(),
        "protocol": format!("{:?}", endpoint.protocol()).to_lowercase(),
        "version": generation.label.to_str().unwrap_or_default(),
    });
    match seen {
        Some(seen) => {
            let profiles = layers.params.layer(()).profiles().clone();
            explain(&mut out, seen, &profiles);
        }
        None => refused(&mut out, res.map(Body::new)).await,
    }
    Ok(out)
}

/// The stand-in for the rest of the stack: notes what the layers decided.
fn look(
    seen: Arc<Mutex<Option<Seen>>>,
    rules: Arc<switchyard_route::Rules>,
) -> impl tower::Service<
    http::Request<Body>,
    Response = http::Response<Body>,
    Error = std::convert::Infallible,
    Future = impl Send,
> + Clone {
    tower::service_fn(move |req: http::Request<Body>| {
        let parsed = req.parsed().ok();
        let ctx = req.context().ok();
        let tried = match (parsed, ctx) {
            (Some(p), Some(c)) => rules.trace(p, c, req.headers()),
            _ => Vec::new(),
        };
        *seen.lock().unwrap_or_else(|p| p.into_inner()) = Some(Seen {
            model: parsed.and_then(|p| p.model()).map(str::to_owned),
            stream: parsed.is_some_and(|p| p.is_stream()),
            tags: ctx
                .map(|c| c.tags().iter().map(|t| t.to_string()).collect())
                .unwrap_or_default(),
            decision: ctx.and_then(|c| c.route().ok()).cloned(),
            tried: tried
                .into_iter()
                .map(|(r, hit)| (r.to_string(), hit))
                .collect(),
            json: parsed.map(|p| p.json().clone()).unwrap_or(Value::Null),
        });
        std::future::ready(Ok(http::Response::new(Body::empty())))
    })
}

/// A layer answered itself: the error the client would get, and which layer.
async fn refused(out: &mut Value, res: http::Response<Body>) {
    let status = res.status();
    let bytes = axum::body::to_bytes(res.into_body(), 1 << 20)
        .await
        .unwrap_or_default();
    let error: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    let message = error
        .pointer("/error/message")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let code = error.pointer("/error/code").and_then(Value::as_str);
    out["routed"] = json!(false);
    out["error"] = json!({
        "layer": layer_of(status, code),
        "status": status.as_u16(),
        "message": message,
        "body": error,
    });
}

/// Parse, classify and route verdicts, and the first candidate's parameters.
fn explain(out: &mut Value, seen: Seen, profiles: &switchyard_params::Profiles) {
    out["routed"] = json!(seen.decision.is_some());
    out["parse"] = json!({"model": seen.model, "stream": seen.stream});
    out["classify"] = json!({"tags": seen.tags});
    let Some(decision) = seen.decision else {
        return;
    };
    let candidates: Vec<Value> = decision
        .candidates
        .iter()
        .map(|c| json!({"provider": &*c.provider, "model": &*c.model, "profile": c.profile.as_deref()}))
        .collect();
    // The rules before the one that routed (all of them when none did).
    let chosen = seen.tried.iter().position(|(r, _)| **r == *decision.rule);
    let tried: Vec<Value> = seen
        .tried
        .iter()
        .take(chosen.map_or(usize::MAX, |i| i + 1))
        .map(|(rule, matched)| json!({"rule": rule, "matched": matched}))
        .collect();
    out["route"] = json!({
        "requested_model": &*decision.requested_model,
        "rule": &*decision.rule,
        "tried": tried,
        "candidates": candidates,
    });
    let Some(first) = decision.candidates.first() else {
        return;
    };
    let mut body = seen.json;
    if let Some(m) = body.get_mut("model") {
        *m = json!(&*first.model);
    }
    out["params"] = match profiles.apply(first, &mut body) {
        Ok(changed) => json!({
            "provider": &*first.provider,
            "model": &*first.model,
            "changed": changed,
            "body": body,
        }),
        Err(e) => json!({"provider": &*first.provider, "model": &*first.model, "error": e}),
    };
}

/// Which layer answers with `status` (and error `code`) before a request is routed.
fn layer_of(status: StatusCode, code: Option<&str>) -> &'static str {
    match (status.as_u16(), code) {
        (401, _) | (403, Some("model_not_allowed")) => "auth",
        (403, _) => "guard",
        (404, _) => "route",
        _ => "parse",
    }
}

fn request(endpoint: Endpoint, sample: &Sample) -> Result<http::Request<Body>, ApiError> {
    let mut req = http::Request::post(endpoint.path())
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(Body::from(sample.body.to_string()))
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    for (name, value) in &sample.headers {
        let bad = || {
            ApiError::invalid(format!("header `{name}` is not a valid header"))
                .field(format!("headers.{name}"))
        };
        let text = match value {
            Value::String(s) => s.clone(),
            Value::Number(_) | Value::Bool(_) => value.to_string(),
            _ => return Err(bad()),
        };
        let name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| bad())?;
        let value = HeaderValue::from_str(&text).map_err(|_| bad())?;
        req.headers_mut().append(name, value);
    }
    Ok(req)
}
