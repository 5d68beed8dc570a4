//! UsageLayer over scripted upstream bodies: whole answers, streams split
//! anywhere, the usage chunk removed, cancelled streams charged.
#![expect(clippy::unwrap_used, reason = "test helpers unwrap")]

use std::convert::Infallible;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{Request, Response};
use http_body::{Body as _, Frame};
use http_body_util::{BodyExt, Full};
use switchyard_core::{
    Body, BoxError, Candidate, Exchange, ParseLayer, RequestExt, RouteDecision, Usage,
};
use switchyard_usage::{ModelCatalog, Pricing, UsageLayer};
use tower::{Service, ServiceBuilder, ServiceExt};

/// A body yielding scripted chunks, one per poll.
struct Chunks(std::collections::VecDeque<Bytes>);

impl http_body::Body for Chunks {
    type Data = Bytes;
    type Error = Infallible;
    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        Poll::Ready(self.0.pop_front().map(|c| Ok(Frame::data(c))))
    }
}

type Seen = Arc<Mutex<Option<(Bytes, Arc<Exchange>)>>>;

/// A stack of ParseLayer, a fake route to `openai/gpt-4o-mini`, the usage
/// layer, and an upstream answering `chunks` (an SSE stream if `sse`).
fn stack(
    chunks: Vec<&'static str>,
    sse: bool,
    seen: Seen,
) -> impl Service<
    Request<Full<Bytes>>,
    Response = Response<impl http_body::Body<Data = Bytes, Error = BoxError>>,
    Error = Infallible,
> + Clone {
    let pricing = Arc::new(Pricing::new(ModelCatalog::builtin()));
    ServiceBuilder::new()
        .layer(ParseLayer::new())
        .map_request(|mut req: Request<Full<Bytes>>| {
            let ctx = req.context_mut().unwrap();
            // What a recorder asks for.
            ctx.exchange().set_capture_limit(1000);
            ctx.set_route(RouteDecision {
                requested_model: "gpt-4o-mini".into(),
                rule: "openai".into(),
                candidates: vec![Candidate::new("openai", "gpt-4o-mini")],
            });
            req
        })
        .layer(UsageLayer::new(pricing))
        .service_fn(move |req: Request<Full<Bytes>>| {
            let seen = seen.clone();
            let chunks = chunks.clone();
            async move {
                let ctx = req.context().unwrap();
                let exchange = ctx.exchange().clone();
                exchange.record_attempt(switchyard_core::Attempt {
                    candidate: ctx.target().unwrap().clone(),
                    status: Some(200),
                    error: None,
                    duration: std::time::Duration::from_millis(1),
                });
                *seen.lock().unwrap() = Some((req.parsed().unwrap().body(), exchange));
                let body = Chunks(
                    chunks
                        .into_iter()
                        .map(|c| Bytes::from_static(c.as_bytes()))
                        .collect(),
                );
                let mut res = Response::new(Body::new(body));
                let ct = if sse {
                    "text/event-stream"
                } else {
                    "application/json"
                };
                res.headers_mut()
                    .insert("content-type", ct.parse().unwrap());
                Ok::<_, Infallible>(res)
            }
        })
}

fn request(body: &'static str) -> Request<Full<Bytes>> {
    Request::post("/v1/chat/completions")
        .body(Full::new(Bytes::from_static(body.as_bytes())))
        .unwrap()
}

fn exchange(seen: &Seen) -> Arc<Exchange> {
    seen.lock().unwrap().as_ref().unwrap().1.clone()
}

const CHUNKS: &str = concat!(
    "data: {\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}],\"usage\":null}\n\n",
    "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hello\"}}],\"usage\":null}\n\n",
    "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\" world\"}}],\"usage\":null}\n\n",
    "data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}],\"usage\":null}\n\n",
    "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":1000,\"completion_tokens\":2000,\"prompt_tokens_details\":{\"cached_tokens\":400}}}\n\n",
    "data: [DONE]\n\n",
);

#[tokio::test]
async fn whole_answer_gets_usage_headers_and_cost() {
    let seen = Seen::default();
    let svc = stack(
        vec![
            r#"{"model":"gpt-4o-mini-2024-07-18","choices":[{"index":0,"message":{"content":"hi"},"finish_reason":"stop"}],"#,
            r#""usage":{"prompt_tokens":1000,"completion_tokens":2000,"prompt_tokens_details":{"cached_tokens":400}}}"#,
        ],
        false,
        seen.clone(),
    );
    let res = svc
        .oneshot(request(
            r#"{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}"#,
        ))
        .await
        .unwrap();
    let h = res.headers().clone();
    assert_eq!(h["x-switchyard-input-tokens"], "1000");
    assert_eq!(h["x-switchyard-output-tokens"], "2000");
    // 600 * 0.15 + 400 * 0.075 + 2000 * 0.60 = 90 + 30 + 1200 micro-dollars
    assert_eq!(h["x-switchyard-cost-usd"], "0.00132");
    assert!(!h.contains_key("x-switchyard-usage-estimated"));
    let body = res.into_body().collect().await.unwrap().to_bytes();
    assert!(body.ends_with(b"\"cached_tokens\":400}}}"));
    let s = exchange(&seen).snapshot();
    assert_eq!(s.usage.unwrap().cached_tokens, 400);
    assert_eq!(s.cost.unwrap().nanos(), 1_320_000);
    assert_eq!(s.finish_reason.as_deref(), Some("stop"));
    assert_eq!(s.response_model.as_deref(), Some("gpt-4o-mini-2024-07-18"));
}

async fn run_stream(chunks: Vec<&'static str>, req: &'static str) -> (String, Seen) {
    let seen = Seen::default();
    let res = stack(chunks, true, seen.clone())
        .oneshot(request(req))
        .await
        .unwrap();
    assert!(!res.headers().contains_key("x-switchyard-input-tokens"));
    let body = res.into_body().collect().await.unwrap().to_bytes();
    (String::from_utf8(body.to_vec()).unwrap(), seen)
}

#[tokio::test]
async fn stream_usage_is_asked_for_and_its_chunk_removed_however_split() {
    let bytes = CHUNKS.as_bytes();
    for cut in [1, 7, 20, 64, 100, 333, bytes.len()] {
        // Split the stream into pieces of `cut` bytes.
        let pieces: Vec<&'static str> = bytes
            .chunks(cut)
            .map(|c| &*Box::leak(String::from_utf8_lossy(c).into_owned().into_boxed_str()))
            .collect();
        let (body, seen) = run_stream(
            pieces,
            r#"{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"hi"}]}"#,
        )
        .await;
        let sent = seen.lock().unwrap().as_ref().unwrap().0.clone();
        assert_eq!(
            &sent[..],
            br#"{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"hi"}],"stream_options":{"include_usage":true}}"#
        );
        assert!(!body.contains("prompt_tokens"), "cut {cut}: {body}");
        let expected = CHUNKS.replace(
            "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":1000,\"completion_tokens\":2000,\"prompt_tokens_details\":{\"cached_tokens\":400}}}\n\n",
            "",
        );
        assert_eq!(body, expected, "cut {cut}");
        let s = exchange(&seen).snapshot();
        assert_eq!(
            s.usage.unwrap(),
            Usage {
                input_tokens: 1000,
                output_tokens: 2000,
                cached_tokens: 400,
                reasoning_tokens: 0,
                estimated: false
            }
        );
        assert_eq!(s.cost.unwrap().nanos(), 1_320_000);
        assert!(s.first_token_at.is_some());
    }
}

#[tokio::test]
async fn a_client_that_asked_for_usage_keeps_the_chunk_and_the_bytes() {
    let (body, seen) = run_stream(
        vec![CHUNKS],
        r#"{"model":"gpt-4o-mini","stream":true,"stream_options":{"include_usage":true},"messages":[]}"#,
    )
    .await;
    assert_eq!(body, CHUNKS);
    let sent = seen.lock().unwrap().as_ref().unwrap().0.clone();
    assert_eq!(&sent[..], br#"{"model":"gpt-4o-mini","stream":true,"stream_options":{"include_usage":true},"messages":[]}"#);
    assert_eq!(
        exchange(&seen).snapshot().usage.unwrap().output_tokens,
        2000
    );
}

#[tokio::test]
async fn a_cancelled_stream_is_charged_for_the_deltas_seen() {
    let seen = Seen::default();
    let first_three: Vec<&'static str> = CHUNKS.split_inclusive("\n\n").take(3).collect();
    let res = stack(first_three, true, seen.clone())
        .oneshot(request(
            r#"{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"hello world"}]}"#,
        ))
        .await
        .unwrap();
    let mut body = Box::pin(res.into_body());
    // Read two frames ("", "Hello"), then hang up.
    for _ in 0..2 {
        body.frame().await.unwrap().unwrap();
    }
    drop(body);
    let s = exchange(&seen).snapshot();
    let u = s.usage.expect("charged on drop");
    assert!(u.estimated);
    assert_eq!(u.output_tokens, 1, "\"Hello\" is one token");
    // "hello world" = 2 tokens + 3 per message + 3 to prime the reply
    assert_eq!(u.input_tokens, 8);
    assert_eq!(s.output_text.as_deref(), Some("Hello"));
    assert!(s.cost.is_some());
}

#[tokio::test]
async fn anthropic_stream_usage() {
    let events = concat!(
        "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"model\":\"claude-sonnet-4-5\",\"usage\":{\"input_tokens\":25,\"cache_read_input_tokens\":100,\"cache_creation_input_tokens\":10,\"output_tokens\":1}}}\n\n",
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hi\"}}\n\n",
        "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},\"usage\":{\"output_tokens\":15}}\n\n",
        "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n",
    );
    let pricing = Arc::new(Pricing::new(ModelCatalog::builtin()));
    let seen: Arc<Mutex<Option<Arc<Exchange>>>> = Arc::default();
    let s2 = seen.clone();
    let svc = ServiceBuilder::new()
        .layer(ParseLayer::new())
        .layer(UsageLayer::new(pricing))
        .service_fn(move |req: Request<Full<Bytes>>| {
            let ex = req.context().unwrap().exchange().clone();
            ex.record_attempt(switchyard_core::Attempt {
                candidate: Candidate::new("anthropic", "claude-sonnet-4-5"),
                status: Some(200),
                error: None,
                duration: std::time::Duration::ZERO,
            });
            *s2.lock().unwrap() = Some(ex);
            let sent = req.parsed().unwrap().body();
            assert!(!String::from_utf8_lossy(&sent).contains("include_usage"));
            async move {
                let mut res = Response::new(Full::new(Bytes::from_static(events.as_bytes())));
                res.headers_mut()
                    .insert("content-type", "text/event-stream".parse().unwrap());
                Ok::<_, Infallible>(res)
            }
        });
    let req = Request::post("/v1/messages")
        .body(Full::new(Bytes::from_static(
            br#"{"model":"claude-sonnet-4-5","stream":true,"max_tokens":10,"messages":[]}"#,
        )))
        .unwrap();
    let res = svc.oneshot(req).await.unwrap();
    let body = res.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(&body[..], events.as_bytes());
    let s = seen.lock().unwrap().clone().unwrap().snapshot();
    let u = s.usage.unwrap();
    assert_eq!(
        (u.input_tokens, u.cached_tokens, u.output_tokens),
        (135, 100, 15)
    );
    assert_eq!(s.cache_write_tokens, 10);
    // 25 * 3 + 100 * 0.3 + 10 * 3.75 + 15 * 15 = 367.5 micro-dollars
    assert_eq!(s.cost.unwrap().nanos(), 367_500);
    assert_eq!(s.finish_reason.as_deref(), Some("end_turn"));
}

#[tokio::test]
async fn size_hint_is_not_exact_when_events_may_be_removed() {
    let seen = Seen::default();
    let res = stack(vec![CHUNKS], true, seen)
        .oneshot(request(
            r#"{"model":"gpt-4o-mini","stream":true,"messages":[]}"#,
        ))
        .await
        .unwrap();
    assert_eq!(res.body().size_hint().exact(), None);
}

#[tokio::test]
async fn stream_usage_is_not_asked_for_when_turned_off() {
    let pricing = Arc::new(Pricing::new(ModelCatalog::builtin()));
    let sent: Arc<Mutex<Option<Bytes>>> = Arc::default();
    let s2 = sent.clone();
    let svc = ServiceBuilder::new()
        .layer(ParseLayer::new())
        .layer(UsageLayer::new(pricing).request_stream_usage(false))
        .service_fn(move |req: Request<Full<Bytes>>| {
            *s2.lock().unwrap() = Some(req.parsed().unwrap().body());
            async move {
                let mut res = Response::new(Full::new(Bytes::from_static(CHUNKS.as_bytes())));
                res.headers_mut()
                    .insert("content-type", "text/event-stream".parse().unwrap());
                Ok::<_, Infallible>(res)
            }
        });
    let raw = r#"{"model":"gpt-4o-mini","stream":true,"messages":[]}"#;
    let res = svc.oneshot(request(raw)).await.unwrap();
    let body = res.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(&sent.lock().unwrap().clone().unwrap()[..], raw.as_bytes());
    assert_eq!(&body[..], CHUNKS.as_bytes(), "nothing removed either");
}

#[tokio::test]
async fn answers_too_large_to_hold_pass_on_and_are_charged_from_their_end() {
    let pricing = Arc::new(Pricing::new(ModelCatalog::builtin()));
    let seen: Arc<Mutex<Option<Arc<Exchange>>>> = Arc::default();
    let s2 = seen.clone();
    let svc = ServiceBuilder::new()
        .layer(ParseLayer::new())
        .layer(UsageLayer::new(pricing).max_whole_body(64))
        .service_fn(move |req: Request<Full<Bytes>>| {
            let ex = req.context().unwrap().exchange().clone();
            ex.record_attempt(switchyard_core::Attempt {
                candidate: Candidate::new("openai", "text-embedding-3-small"),
                status: Some(200),
                error: None,
                duration: std::time::Duration::ZERO,
            });
            *s2.lock().unwrap() = Some(ex);
            async move {
                let big = format!(
                    r#"{{"object":"list","data":[{{"embedding":[{}]}}],"model":"text-embedding-3-small","usage":{{"prompt_tokens":5000000,"total_tokens":5000000}}}}"#,
                    vec!["0.125"; 200].join(",")
                );
                let chunks: Vec<Bytes> = big.into_bytes().chunks(100).map(Bytes::copy_from_slice).collect();
                let res = Response::new(Body::new(Chunks(chunks.into())));
                Ok::<_, Infallible>(res)
            }
        });
    let req = Request::post("/v1/embeddings")
        .body(Full::new(Bytes::from_static(
            br#"{"model":"text-embedding-3-small","input":"x"}"#,
        )))
        .unwrap();
    let res = svc.oneshot(req).await.unwrap();
    assert!(!res.headers().contains_key("x-switchyard-input-tokens"));
    let body = res.into_body().collect().await.unwrap().to_bytes();
    assert!(
        body.ends_with(b"\"total_tokens\":5000000}}"),
        "passed on whole"
    );
    let s = seen.lock().unwrap().clone().unwrap().snapshot();
    let u = s.usage.unwrap();
    assert_eq!(
        (u.input_tokens, u.output_tokens, u.estimated),
        (5_000_000, 0, false)
    );
    // $0.02 per million
    assert_eq!(s.cost.unwrap().nanos(), 100_000_000);
}
