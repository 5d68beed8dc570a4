//! A stack around the limit layer, shared by the layer and shared-store tests.
#![allow(dead_code, reason = "each test file uses a part")]

use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use futures_util::stream;
use http_body_util::{BodyExt, Full, StreamBody, combinators::UnsyncBoxBody};
use switchyard_core::{
    Candidate, Cost, Exchange, Identity, ParseLayer, Quota, RequestExt, RouteDecision, Usage,
};
use switchyard_limit::{LimitLayer, Limiter, LimitsConfig};
use tower::{Service, ServiceBuilder, ServiceExt};

pub type Body = UnsyncBoxBody<Bytes, Infallible>;

/// $1 per million tokens, input and output.
pub fn prices(_: &str, _: &str, input: u64, output: u64) -> Option<Cost> {
    Some(Cost::from_nanos(1_000 * (input + output)))
}

/// What the upstream (and the usage layer inside the limit layer) does: answers
/// with `tokens` tokens of usage, priced like [`prices`].
#[derive(Clone)]
pub struct Upstream {
    pub output_tokens: u64,
    pub stream: Option<Vec<&'static str>>,
    pub content_type: &'static str,
}

pub fn json_upstream(output_tokens: u64) -> Upstream {
    Upstream {
        output_tokens,
        stream: None,
        content_type: "application/json",
    }
}

pub fn identity(quota: Quota) -> Identity {
    Identity {
        key_id: Some("k1".into()),
        team: Some("ml".into()),
        quota,
        ..Identity::default()
    }
}

pub type Seen = Arc<Mutex<Option<Arc<Exchange>>>>;

pub fn service(
    limiter: &Limiter,
    config: &str,
    who: Option<Identity>,
    upstream: Upstream,
) -> impl Service<
    http::Request<Full<Bytes>>,
    Response = http::Response<switchyard_limit::LimitBody<Body>>,
    Error = Infallible,
    Future: Send,
> + Clone
+ Send
+ 'static {
    traced(limiter, config, who, upstream, Seen::default())
}

/// [`service`], keeping the last request's exchange in `seen`.
pub fn traced(
    limiter: &Limiter,
    config: &str,
    who: Option<Identity>,
    upstream: Upstream,
    seen: Seen,
) -> impl Service<
    http::Request<Full<Bytes>>,
    Response = http::Response<switchyard_limit::LimitBody<Body>>,
    Error = Infallible,
    Future: Send,
> + Clone
+ Send
+ 'static {
    let config: LimitsConfig = toml::from_str(config).unwrap();
    ServiceBuilder::new()
        .layer(ParseLayer::new())
        .map_request(move |mut req: http::Request<Full<Bytes>>| {
            let ctx = req.context_mut().unwrap();
            *seen.lock().unwrap() = Some(ctx.exchange().clone());
            if let Some(i) = who.clone() {
                ctx.set_identity(i);
            }
            ctx.set_route(RouteDecision {
                requested_model: "m1".into(),
                rule: "p".into(),
                candidates: vec![Candidate::new("p", "m1")],
            });
            req
        })
        .layer(LimitLayer::new(limiter.clone(), config.policy().unwrap()).prices(prices))
        .service_fn(move |req: http::Request<Full<Bytes>>| {
            let up = upstream.clone();
            async move {
                let ctx = req.context().unwrap();
                if up.output_tokens == 0 {
                    // An upstream error: no usage, no cost.
                    let mut res =
                        http::Response::new(Full::new(Bytes::from_static(b"{}")).boxed_unsync());
                    *res.status_mut() = http::StatusCode::BAD_GATEWAY;
                    return Ok(res);
                }
                let usage = Usage {
                    input_tokens: 10,
                    output_tokens: up.output_tokens,
                    ..Usage::default()
                };
                ctx.exchange().set_usage(usage);
                ctx.exchange()
                    .set_cost(prices("", "", usage.input_tokens, usage.output_tokens).unwrap());
                let body: Body = match up.stream {
                    None => Full::new(Bytes::from_static(b"{}")).boxed_unsync(),
                    Some(chunks) => StreamBody::new(stream::iter(
                        chunks
                            .into_iter()
                            .map(|c| Ok(http_body::Frame::data(Bytes::from_static(c.as_bytes())))),
                    ))
                    .boxed_unsync(),
                };
                let mut res = http::Response::new(body);
                res.headers_mut()
                    .insert("content-type", up.content_type.parse().unwrap());
                Ok::<_, Infallible>(res)
            }
        })
}

pub fn request(path: &str, body: &str) -> http::Request<Full<Bytes>> {
    http::Request::post(path)
        .body(Full::new(Bytes::from(body.to_owned())))
        .unwrap()
}

pub const CHAT: &str =
    r#"{"model":"m1","messages":[{"role":"user","content":"hello there"}],"max_tokens":100}"#;

pub async fn call<S>(svc: &mut S, req: http::Request<Full<Bytes>>) -> (http::response::Parts, Bytes)
where
    S: Service<
            http::Request<Full<Bytes>>,
            Response = http::Response<switchyard_limit::LimitBody<Body>>,
            Error = Infallible,
        >,
{
    let res = svc.ready().await.unwrap().call(req).await.unwrap();
    let (parts, body) = res.into_parts();
    let bytes = body.collect().await.unwrap().to_bytes();
    (parts, bytes)
}

/// The status of a chat request ([`CHAT`]) through `svc`.
pub async fn chat_status<S>(svc: &mut S) -> http::StatusCode
where
    S: Service<
            http::Request<Full<Bytes>>,
            Response = http::Response<switchyard_limit::LimitBody<Body>>,
            Error = Infallible,
        >,
{
    call(svc, request("/v1/chat/completions", CHAT))
        .await
        .0
        .status
}
