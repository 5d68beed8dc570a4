//! RouteLayer with `ServiceBuilder` and stub inner services: decisions, headers, observed stats.
#![expect(
    clippy::unwrap_used,
    reason = "helpers fail the test loudly on unexpected errors"
)]

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use switchyard_core::{Attempt, Body, Candidate, ParseLayer, RequestExt};
use switchyard_route::{
    RouteLayer, RouteTable, Rule, Rules, Strategy, Target, TargetStats, VirtualModel,
};
use tower::{ServiceBuilder, ServiceExt};

fn rules(stats: &TargetStats) -> Arc<Rules> {
    let table = RouteTable::builder()
        .provider("a", ["m-*"])
        .provider("b", ["n-*"])
        .build()
        .unwrap();
    Arc::new(
        Rules::builder(Arc::new(table))
            .stats(stats.clone())
            .virtual_model(
                VirtualModel::new("pair")
                    .target(Target::new("a", "m-1"))
                    .target(Target::new("b", "n-1"))
                    .strategy(Strategy::FirstAvailable),
            )
            .rule(
                Rule::new("to-b")
                    .header("x-to", switchyard_route::HeaderMatch::Exact("b".into()))
                    .to([Target::new("b", "n-2")]),
            )
            .build()
            .unwrap(),
    )
}

/// A stub provider: waits 200 ms (paused clock), records an attempt as `served_by`
/// (or the route's target), and streams two frames, the second with usage.
fn stub(
    served_by: Option<Candidate>,
) -> impl tower::Service<
    http::Request<Full<Bytes>>,
    Response = http::Response<Body>,
    Error = Infallible,
    Future = impl Send,
> + Clone {
    tower::service_fn(move |req: http::Request<Full<Bytes>>| {
        let served = served_by.clone();
        async move {
            tokio::time::sleep(Duration::from_millis(200)).await;
            let ctx = req.context().unwrap();
            let candidate = served.unwrap_or_else(|| ctx.target().unwrap().clone());
            ctx.exchange().record_attempt(Attempt {
                candidate,
                status: Some(200),
                error: None,
                duration: Duration::from_millis(200),
            });
            let frames = vec![
                Ok::<_, Infallible>(http_body::Frame::data(Bytes::from_static(b"data: {\"choices\":[]}\n\n"))),
                Ok(http_body::Frame::data(Bytes::from_static(
                    b"data: {\"choices\":[],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\": 40}}\n\ndata: [DONE]\n\n",
                ))),
            ];
            let body = http_body_util::StreamBody::new(futures_util::stream::iter(frames));
            Ok::<_, Infallible>(http::Response::new(Body::new(body)))
        }
    })
}

fn post(model: &str) -> http::Request<Full<Bytes>> {
    let body = format!(r#"{{"model":"{model}","stream":true,"messages":[]}}"#);
    http::Request::post("/v1/chat/completions")
        .body(Full::new(Bytes::from(body)))
        .unwrap()
}

#[tokio::test(start_paused = true)]
async fn the_layer_learns_latency_throughput_and_load_per_target() {
    let stats = TargetStats::new();
    let svc = ServiceBuilder::new()
        .layer(ParseLayer::new())
        .layer(RouteLayer::with_rules(rules(&stats)))
        .service(stub(None));
    let res = svc.clone().oneshot(post("pair")).await.unwrap();
    assert_eq!(res.headers()["x-switchyard-route"], "virtual:pair");
    let a = stats.get("a", "m-1");
    assert_eq!(a.in_flight(), 1, "in flight until the body ends");
    assert_eq!(a.latency_ms(), Some(200.0));
    let body = res.into_body().collect().await.unwrap().to_bytes();
    assert!(body.ends_with(b"[DONE]\n\n"), "frames pass unchanged");
    assert_eq!(a.in_flight(), 0);
    let tps = a.tokens_per_sec().unwrap();
    assert!((tps - 200.0).abs() < 1.0, "40 tokens in 0.2 s: {tps}");
    assert_eq!(stats.get("b", "n-1").in_flight(), 0);

    // A dropped body ends the count too, without a throughput sample.
    let res = svc.clone().oneshot(post("pair")).await.unwrap();
    assert_eq!(a.in_flight(), 1);
    drop(res);
    assert_eq!(a.in_flight(), 0);
    assert_eq!(a.tokens_per_sec(), Some(tps));
}

#[tokio::test(start_paused = true)]
async fn load_moves_to_the_candidate_that_served() {
    let stats = TargetStats::new();
    let svc = ServiceBuilder::new()
        .layer(ParseLayer::new())
        .layer(RouteLayer::with_rules(rules(&stats)))
        .service(stub(Some(Candidate::new("b", "n-1"))));
    let res = svc.oneshot(post("pair")).await.unwrap();
    assert_eq!(stats.get("a", "m-1").in_flight(), 0);
    assert_eq!(stats.get("b", "n-1").in_flight(), 1);
    assert_eq!(stats.get("b", "n-1").latency_ms(), Some(200.0));
    drop(res);
    assert_eq!(stats.get("b", "n-1").in_flight(), 0);
}

#[tokio::test(start_paused = true)]
async fn rules_headers_and_rejections() {
    let stats = TargetStats::new();
    let svc = ServiceBuilder::new()
        .layer(ParseLayer::new())
        .layer(RouteLayer::with_rules(rules(&stats)))
        .service(stub(None));
    let mut req = post("m-7");
    req.headers_mut().insert("x-to", "b".parse().unwrap());
    let res = svc.clone().oneshot(req).await.unwrap();
    assert_eq!(res.headers()["x-switchyard-route"], "rule:to-b");
    assert_eq!(
        res.headers().get("x-switchyard-route").unwrap(),
        "rule:to-b"
    );
    let res = svc.clone().oneshot(post("m-7")).await.unwrap();
    assert_eq!(res.headers()["x-switchyard-route"], "provider:a");
    let res = svc.clone().oneshot(post("zzz")).await.unwrap();
    assert_eq!(res.status(), 404);
    let v: serde_json::Value =
        serde_json::from_slice(&res.into_body().collect().await.unwrap().to_bytes()).unwrap();
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Virtual models: pair."),
        "{v}"
    );
    let req = http::Request::post("/v1/messages")
        .body(Full::new(Bytes::from_static(b"{}")))
        .unwrap();
    let res = svc.oneshot(req).await.unwrap();
    assert_eq!(res.status(), 400);
    let v: serde_json::Value =
        serde_json::from_slice(&res.into_body().collect().await.unwrap().to_bytes()).unwrap();
    assert_eq!(v["type"], "error", "Anthropic shape on /v1/messages");
}

#[tokio::test(start_paused = true)]
async fn the_load_latency_fades_while_a_target_is_quiet() {
    let stats = TargetStats::new();
    let s = stats.get("a", "m");
    s.observe_latency(Duration::from_millis(1000));
    assert_eq!(s.load_latency_ms(), Some(1000.0));
    tokio::time::advance(Duration::from_secs(10)).await;
    let faded = s.load_latency_ms().unwrap();
    assert!(
        (faded - 1000.0 / std::f64::consts::E).abs() < 1.0,
        "{faded}"
    );
    assert_eq!(s.latency_ms(), Some(1000.0), "the average itself is kept");
}

/// When the usage layer inside accounts for the answer, the route layer reads
/// the output tokens from the exchange instead of searching the frames.
#[tokio::test(start_paused = true)]
async fn an_accounted_answer_is_sampled_with_the_usage_layers_count() {
    let stats = TargetStats::new();
    let inner = stub(None);
    let accounted = tower::service_fn(move |req: http::Request<Full<Bytes>>| {
        let exchange = req.context().unwrap().exchange().clone();
        let call = inner.clone().oneshot(req);
        async move {
            let res = call.await?;
            // What the usage layer does: take the answer on, then (here at
            // once) write its usage, which disagrees with the frames' 40.
            exchange.watch_answer();
            exchange.set_usage(switchyard_core::Usage {
                output_tokens: 80,
                ..Default::default()
            });
            Ok::<_, Infallible>(res)
        }
    });
    let svc = ServiceBuilder::new()
        .layer(ParseLayer::new())
        .layer(RouteLayer::with_rules(rules(&stats)))
        .service(accounted);
    let res = svc.oneshot(post("pair")).await.unwrap();
    res.into_body().collect().await.unwrap();
    let tps = stats.get("a", "m-1").tokens_per_sec().unwrap();
    assert!((tps - 400.0).abs() < 1.0, "80 tokens in 0.2 s: {tps}");
}
