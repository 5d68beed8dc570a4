//! FailoverLayer logic over a scripted inner service, with paused time.
#![expect(
    clippy::unwrap_used,
    reason = "a test fails loudly on unexpected errors"
)]

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::{BodyExt, Full};
use switchyard_core::{
    Attempt, Body, Candidate, Endpoint, Error, ErrorClass, HealthBoard, ParsedRequest,
    RequestContext, RequestExt, RouteDecision, TargetHealth,
};
use switchyard_failover::{CircuitPolicy, CircuitState, Circuits, FailoverLayer, FailoverPolicy};
use tokio::time::Instant;
use tower::{Service, ServiceBuilder, ServiceExt};

type Outcome = Result<Response<Body>, Error>;
type Script = Arc<Mutex<HashMap<String, VecDeque<Box<dyn FnOnce() -> Outcome + Send>>>>>;

#[derive(Clone, Default)]
struct Upstreams {
    script: Script,
    calls: Arc<Mutex<Vec<(String, Instant)>>>,
}

impl Upstreams {
    fn push(&self, provider: &str, f: impl FnOnce() -> Outcome + Send + 'static) {
        self.script
            .lock()
            .unwrap()
            .entry(provider.into())
            .or_default()
            .push_back(Box::new(f));
    }
    fn calls(&self) -> Vec<String> {
        self.calls
            .lock()
            .unwrap()
            .iter()
            .map(|(p, _)| p.clone())
            .collect()
    }
    fn service(
        &self,
    ) -> impl Service<Request<Full<Bytes>>, Response = Response<Body>, Error = Error, Future: Send>
    + Clone
    + Send
    + 'static {
        let this = self.clone();
        tower::service_fn(move |req: Request<Full<Bytes>>| {
            let this = this.clone();
            async move {
                let ctx = req.context()?.clone();
                let target = ctx.target()?.clone();
                this.calls
                    .lock()
                    .unwrap()
                    .push((target.provider.to_string(), Instant::now()));
                let next = this
                    .script
                    .lock()
                    .unwrap()
                    .get_mut(&*target.provider)
                    .and_then(VecDeque::pop_front);
                let outcome = match next {
                    Some(f) => f(),
                    None => Ok(status(200)),
                };
                let (status, error) = match &outcome {
                    Ok(r) => (
                        Some(r.status().as_u16()),
                        (!r.status().is_success()).then(|| "status".to_owned()),
                    ),
                    Err(e) => (None, Some(e.kind().as_str().to_owned())),
                };
                ctx.exchange().record_attempt(Attempt {
                    candidate: target,
                    status,
                    error,
                    duration: Duration::ZERO,
                });
                outcome
            }
        })
    }
}

fn status(code: u16) -> Response<Body> {
    Response::builder()
        .status(code)
        .body(Body::from(format!("{code}")))
        .unwrap()
}

fn with_header(code: u16, k: &str, v: &str) -> Response<Body> {
    let mut r = status(code);
    r.headers_mut().insert(
        http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
        v.parse().unwrap(),
    );
    r
}

fn request(providers: &[&str]) -> (Request<Full<Bytes>>, RequestContext) {
    let raw = Bytes::from_static(br#"{"model":"m","messages":[]}"#);
    let parsed = ParsedRequest::parse(Endpoint::ChatCompletions, raw.clone()).unwrap();
    let mut ctx = RequestContext::new(Endpoint::ChatCompletions);
    ctx.set_route(RouteDecision {
        requested_model: "m".into(),
        rule: "test".into(),
        candidates: providers.iter().map(|p| Candidate::new(*p, "m")).collect(),
    });
    let mut req = Request::post("/v1/chat/completions")
        .body(Full::new(raw))
        .unwrap();
    req.extensions_mut().insert(parsed);
    req.extensions_mut().insert(ctx.clone());
    (req, ctx)
}

fn layer(policy: FailoverPolicy) -> (FailoverLayer, Circuits) {
    let circuits = Circuits::new(HealthBoard::new());
    (FailoverLayer::new(policy, circuits.clone()), circuits)
}

async fn call(up: &Upstreams, l: &FailoverLayer, providers: &[&str]) -> (Outcome, RequestContext) {
    let (req, ctx) = request(providers);
    let svc = ServiceBuilder::new().layer(l.clone()).service(up.service());
    (svc.oneshot(req).await, ctx)
}

#[tokio::test(start_paused = true)]
async fn fails_over_to_the_next_candidate_at_once() {
    let up = Upstreams::default();
    up.push("a", || Ok(status(503)));
    let (l, _) = layer(FailoverPolicy::default());
    let started = Instant::now();
    let (res, ctx) = call(&up, &l, &["a", "b"]).await;
    let res = res.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["x-switchyard-attempts"], "2");
    assert_eq!(up.calls(), ["a", "b"]);
    assert_eq!(
        started.elapsed(),
        Duration::ZERO,
        "no backoff when switching candidates"
    );
    let s = ctx.exchange().snapshot();
    assert_eq!(s.served_by.unwrap().provider.as_ref(), "b");
    assert_eq!(s.attempts[0].status, Some(503));
}

#[tokio::test(start_paused = true)]
async fn never_retries_client_errors() {
    for code in [400, 401, 403, 404, 422] {
        let up = Upstreams::default();
        up.push("a", move || Ok(status(code)));
        let (l, _) = layer(FailoverPolicy::default());
        let (res, _) = call(&up, &l, &["a", "b"]).await;
        assert_eq!(res.unwrap().status(), code);
        assert_eq!(up.calls(), ["a"], "{code}");
    }
}

#[tokio::test(start_paused = true)]
async fn retries_connect_errors_timeouts_and_overload() {
    let up = Upstreams::default();
    up.push("a", || Err(Error::connect("refused")));
    up.push("b", || Err(Error::timeout("slow")));
    up.push("c", || Ok(status(529)));
    let (l, _) = layer(FailoverPolicy {
        max_attempts: 5,
        ..Default::default()
    });
    let (res, _) = call(&up, &l, &["a", "b", "c", "d"]).await;
    assert_eq!(res.unwrap().status(), 200);
    assert_eq!(up.calls(), ["a", "b", "c", "d"]);
}

#[tokio::test(start_paused = true)]
async fn honours_retry_after_on_the_same_candidate_up_to_the_cap() {
    let up = Upstreams::default();
    up.push("a", || Ok(with_header(429, "retry-after", "3")));
    let policy = FailoverPolicy {
        attempts_per_candidate: 2,
        ..Default::default()
    };
    let (l, _) = layer(policy.clone());
    let started = Instant::now();
    let (res, _) = call(&up, &l, &["a"]).await;
    assert_eq!(res.unwrap().status(), 200);
    assert!(
        started.elapsed() >= Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(up.calls(), ["a", "a"]);

    let up = Upstreams::default();
    up.push("a", || Ok(with_header(429, "retry-after", "60")));
    let (l, _) = layer(policy);
    let started = Instant::now();
    let (res, _) = call(&up, &l, &["a", "b"]).await;
    assert_eq!(res.unwrap().status(), 200);
    assert_eq!(
        up.calls(),
        ["a", "b"],
        "60 s is over the 10 s cap: move on, don't wait"
    );
    assert_eq!(started.elapsed(), Duration::ZERO);
}

#[tokio::test(start_paused = true)]
async fn backs_off_between_attempts_on_one_candidate() {
    let up = Upstreams::default();
    for _ in 0..3 {
        up.push("a", || Ok(status(500)));
    }
    let policy = FailoverPolicy {
        max_attempts: 4,
        attempts_per_candidate: 4,
        backoff_base_ms: 100,
        backoff_max_ms: 400,
        ..Default::default()
    };
    let (l, _) = layer(policy);
    let (res, _) = call(&up, &l, &["a"]).await;
    assert_eq!(res.unwrap().status(), 200);
    let times: Vec<Instant> = up.calls.lock().unwrap().iter().map(|(_, t)| *t).collect();
    assert_eq!(times.len(), 4);
    for (i, w) in times.windows(2).enumerate() {
        let cap = Duration::from_millis((100u64 << i).min(400));
        assert!(w[1] - w[0] <= cap, "retry {i}: {:?} > {cap:?}", w[1] - w[0]);
    }
}

#[tokio::test(start_paused = true)]
async fn gives_back_the_last_failure_when_all_fail() {
    let up = Upstreams::default();
    up.push("a", || Ok(status(502)));
    up.push("b", || Ok(with_header(503, "retry-after", "1")));
    let (l, _) = layer(FailoverPolicy::default());
    let (res, ctx) = call(&up, &l, &["a", "b"]).await;
    let res = res.unwrap();
    assert_eq!(res.status(), 503);
    assert_eq!(
        res.headers()["retry-after"],
        "1",
        "the upstream's Retry-After reaches the client"
    );
    assert_eq!(res.headers()["x-switchyard-attempts"], "2");
    assert_eq!(ctx.exchange().snapshot().served_by, None);
    let (res, _) = call(&up, &l, &["x", "y", "z", "w"]).await;
    assert_eq!(res.unwrap().status(), 200);
}

#[tokio::test(start_paused = true)]
async fn max_attempts_bounds_the_walk() {
    let up = Upstreams::default();
    for p in ["a", "b", "c"] {
        up.push(p, || Ok(status(500)));
    }
    let (l, _) = layer(FailoverPolicy {
        max_attempts: 2,
        ..Default::default()
    });
    let (res, _) = call(&up, &l, &["a", "b", "c", "d"]).await;
    assert_eq!(res.unwrap().status(), 500);
    assert_eq!(up.calls(), ["a", "b"]);
}

#[tokio::test(start_paused = true)]
async fn an_open_circuit_is_skipped_and_recovers_after_cooldown() {
    let up = Upstreams::default();
    let policy = FailoverPolicy {
        circuit: CircuitPolicy {
            consecutive_failures: 3,
            cooldown_secs: 30.0,
            ..Default::default()
        },
        ..Default::default()
    };
    let (l, circuits) = layer(policy);
    for _ in 0..3 {
        up.push("a", || Ok(status(503)));
        let (res, _) = call(&up, &l, &["a", "b"]).await;
        assert_eq!(res.unwrap().status(), 200);
    }
    assert_eq!(
        circuits.state(&Candidate::new("a", "m")),
        CircuitState::Open
    );
    assert!(!circuits.health().is_healthy("a", "m"));
    up.calls.lock().unwrap().clear();
    let (res, _) = call(&up, &l, &["a", "b"]).await;
    assert_eq!(res.unwrap().headers()["x-switchyard-attempts"], "1");
    assert_eq!(up.calls(), ["b"], "a is skipped while open");
    // Only candidate and open: a clear 503, no upstream call.
    let (res, _) = call(&up, &l, &["a"]).await;
    let e = res.unwrap_err();
    assert_eq!(e.to_rejection().status(), 503);
    assert!(e.message().contains("circuit open"), "{}", e.message());
    tokio::time::advance(Duration::from_secs(30)).await;
    up.calls.lock().unwrap().clear();
    let (res, _) = call(&up, &l, &["a", "b"]).await;
    assert_eq!(res.unwrap().status(), 200);
    assert_eq!(
        up.calls(),
        ["a"],
        "the trial request goes to a and closes the circuit"
    );
    assert_eq!(
        circuits.state(&Candidate::new("a", "m")),
        CircuitState::Closed
    );
}

#[tokio::test(start_paused = true)]
async fn the_total_deadline_holds() {
    let up = Upstreams::default();
    let (l, _) = layer(FailoverPolicy {
        total_timeout_secs: Some(2.0),
        ..Default::default()
    });
    let (req, _) = request(&["a"]);
    let hang = tower::service_fn(|_req: Request<Full<Bytes>>| async {
        std::future::pending::<()>().await;
        Ok::<Response<Body>, Error>(status(200))
    });
    let started = Instant::now();
    let e = ServiceBuilder::new()
        .layer(l)
        .service(hang)
        .oneshot(req)
        .await
        .unwrap_err();
    assert_eq!(e.kind(), switchyard_core::ErrorKind::Timeout);
    assert_eq!(started.elapsed(), Duration::from_secs(2));
    let _ = up;
}

fn sse_response(
    frames: Vec<Result<&'static str, &'static str>>,
    delay: Duration,
) -> Response<Body> {
    let stream = futures_util::stream::iter(frames).then(move |f| async move {
        tokio::time::sleep(delay).await;
        match f {
            Ok(s) => Ok(http_body::Frame::data(Bytes::from_static(s.as_bytes()))),
            Err(e) => Err(std::io::Error::other(e)),
        }
    });
    let mut res = Response::new(Body::new(http_body_util::StreamBody::new(stream)));
    res.headers_mut()
        .insert("content-type", "text/event-stream".parse().unwrap());
    res
}

use futures_util::StreamExt;

async fn collect(res: Response<Body>) -> String {
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    String::from_utf8(bytes.to_vec()).unwrap()
}

#[tokio::test(start_paused = true)]
async fn a_stream_that_breaks_ends_with_an_error_event_and_no_done() {
    let up = Upstreams::default();
    up.push("a", || {
        Ok(sse_response(
            vec![
                Ok("data: {\"choices\":[{\"delta\":{\"content\":\"Hel\"}}]}\n\ndata: {\"cho"),
                Ok("ices\":[]}\n\n"),
                Ok("data: {\"partial"),
                Err("reset"),
            ],
            Duration::from_millis(1),
        ))
    });
    let (l, _) = layer(FailoverPolicy::default());
    let (res, ctx) = call(&up, &l, &["a", "b"]).await;
    let body = collect(res.unwrap()).await;
    assert_eq!(
        body,
        "data: {\"choices\":[{\"delta\":{\"content\":\"Hel\"}}]}\n\ndata: {\"choices\":[]}\n\ndata: {\"error\":{\"message\":\"the upstream stream broke off before it finished\",\"type\":\"gateway_error\",\"param\":null,\"code\":\"stream_truncated\"}}\n\n"
    );
    assert!(!body.contains("[DONE]"));
    assert_eq!(up.calls(), ["a"], "no retry after the first byte");
    assert_eq!(
        ctx.exchange().snapshot().error_class,
        Some(ErrorClass::StreamTruncated)
    );
}

#[tokio::test(start_paused = true)]
async fn anthropic_clients_get_an_error_event() {
    let raw = Bytes::from_static(br#"{"model":"m","max_tokens":5,"messages":[]}"#);
    let parsed = ParsedRequest::parse(Endpoint::Messages, raw.clone()).unwrap();
    let mut ctx = RequestContext::new(Endpoint::Messages);
    ctx.set_route(RouteDecision {
        requested_model: "m".into(),
        rule: "t".into(),
        candidates: vec![Candidate::new("a", "m")],
    });
    let mut req = Request::post("/v1/messages").body(Full::new(raw)).unwrap();
    req.extensions_mut().insert(parsed);
    req.extensions_mut().insert(ctx);
    let up = Upstreams::default();
    up.push("a", || {
        Ok(sse_response(
            vec![Ok("event: message_start\ndata: {}\n\n"), Err("reset")],
            Duration::ZERO,
        ))
    });
    let (l, _) = layer(FailoverPolicy::default());
    let res = ServiceBuilder::new()
        .layer(l)
        .service(up.service())
        .oneshot(req)
        .await
        .unwrap();
    let body = collect(res).await;
    assert!(body.starts_with("event: message_start\ndata: {}\n\nevent: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"gateway_error\""), "{body}");
}

#[tokio::test(start_paused = true)]
async fn an_idle_stream_is_cut() {
    let up = Upstreams::default();
    up.push("a", || {
        let stream = futures_util::stream::iter([0, 1]).then(|i| async move {
            tokio::time::sleep(Duration::from_secs(if i == 0 { 0 } else { 3600 })).await;
            Ok::<_, std::io::Error>(http_body::Frame::data(Bytes::from_static(b"data: x\n\n")))
        });
        let mut res = Response::new(Body::new(http_body_util::StreamBody::new(stream)));
        res.headers_mut()
            .insert("content-type", "text/event-stream".parse().unwrap());
        Ok(res)
    });
    let (l, _) = layer(FailoverPolicy {
        idle_timeout_secs: Some(5.0),
        ..Default::default()
    });
    let started = Instant::now();
    let (res, _) = call(&up, &l, &["a"]).await;
    let body = collect(res.unwrap()).await;
    assert_eq!(started.elapsed(), Duration::from_secs(5));
    assert!(body.starts_with("data: x\n\ndata: {\"error\""), "{body}");
    assert!(body.contains("upstream_idle_timeout"));
}

#[tokio::test(start_paused = true)]
async fn a_crawling_stream_is_cut_by_the_slow_stream_guard() {
    let up = Upstreams::default();
    up.push("a", || {
        let frames: Vec<Result<&'static str, &'static str>> =
            (0..20).map(|_| Ok("data: {\"t\":1}\n\n")).collect();
        Ok(sse_response(frames, Duration::from_secs(1)))
    });
    let policy = FailoverPolicy {
        min_events_per_sec: Some(2.0),
        min_rate_grace_secs: 3.0,
        ..Default::default()
    };
    let (l, _) = layer(policy);
    let (res, _) = call(&up, &l, &["a"]).await;
    let body = collect(res.unwrap()).await;
    let events = body.matches("data: {\"t\":1}").count();
    assert!(
        (3..=5).contains(&events),
        "cut soon after the grace period: {events} events\n{body}"
    );
    assert!(
        body.ends_with("\"code\":\"upstream_too_slow\"}}\n\n"),
        "{body}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_clean_stream_passes_through_unchanged() {
    let up = Upstreams::default();
    up.push("a", || {
        Ok(sse_response(
            vec![Ok("data: 1\n\nda"), Ok("ta: 2\n"), Ok("\ndata: [DONE]\n\n")],
            Duration::from_millis(10),
        ))
    });
    let (l, _) = layer(FailoverPolicy::default());
    let (res, ctx) = call(&up, &l, &["a"]).await;
    assert_eq!(
        collect(res.unwrap()).await,
        "data: 1\n\ndata: 2\n\ndata: [DONE]\n\n"
    );
    assert_eq!(ctx.exchange().snapshot().error_class, None);
}

#[test]
fn missing_route_is_an_internal_error() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let up = Upstreams::default();
        let (l, _) = layer(FailoverPolicy::default());
        let mut req = Request::post("/v1/chat/completions")
            .body(Full::new(Bytes::new()))
            .unwrap();
        req.extensions_mut()
            .insert(RequestContext::new(Endpoint::ChatCompletions));
        let e = ServiceBuilder::new()
            .layer(l)
            .service(up.service())
            .oneshot(req)
            .await
            .unwrap_err();
        assert_eq!(e.kind(), switchyard_core::ErrorKind::Internal);
    });
}
