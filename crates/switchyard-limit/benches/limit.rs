//! The limit layer per request, in memory: admission (a map lookup and a
//! short lock per limit), the inner call, and settlement when the body drops.
//!
//! `cargo bench -p switchyard-limit --bench limit`
#![expect(
    missing_docs,
    reason = "criterion_group! generates undocumented functions"
)]

use std::convert::Infallible;
use std::hint::black_box;

use bytes::Bytes;
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use futures_util::FutureExt;
use http::{Request, Response};
use http_body_util::Full;
use switchyard_core::{
    Candidate, Cost, Endpoint, Identity, ParsedRequest, Quota, RequestContext, RequestExt,
    RouteDecision, Usage,
};
use switchyard_limit::{LimitLayer, Limiter, LimitsConfig};
use tower::{Layer, Service};

fn prices(_: &str, _: &str, input: u64, output: u64) -> Option<Cost> {
    Some(Cost::from_nanos(150 * input + 600 * output))
}

fn bench(c: &mut Criterion) {
    let config: LimitsConfig = toml::from_str(
        r#"
        [teams.ml]
        rpm = 100000000
        tpm = 100000000000
        [models."gpt-4o*"]
        rpm = 100000000
        "#,
    )
    .expect("config");
    let layer =
        LimitLayer::new(Limiter::in_memory(), config.policy().expect("policy")).prices(prices);
    let mut svc = layer.layer(tower::service_fn(|req: Request<Full<Bytes>>| async move {
        if let Ok(ctx) = req.context() {
            ctx.exchange().set_usage(Usage {
                input_tokens: 12,
                output_tokens: 40,
                ..Usage::default()
            });
            ctx.exchange()
                .set_cost(prices("", "", 12, 40).unwrap_or_default());
        }
        Ok::<_, Infallible>(Response::new(Full::new(Bytes::new())))
    }));
    let body = Bytes::from_static(
        br#"{"model":"gpt-4o-mini","max_tokens":256,"messages":[{"role":"user","content":"hello there, how are you?"}]}"#,
    );
    let parsed = ParsedRequest::parse(Endpoint::ChatCompletions, body.clone()).expect("parsed");
    let _ = parsed.prompt();
    let identity = std::sync::Arc::new(Identity {
        key_id: Some("k1".into()),
        team: Some("ml".into()),
        quota: Quota {
            requests_per_minute: Some(100_000_000),
            tokens_per_minute: Some(100_000_000_000),
            budget_daily: Some(Cost::from_usd(1e6)),
            budget_monthly: Some(Cost::from_usd(1e7)),
        },
        ..Identity::default()
    });
    let request = |with_identity: bool| {
        let mut ctx = RequestContext::new(Endpoint::ChatCompletions);
        if with_identity {
            ctx.set_shared_identity(identity.clone());
        }
        ctx.set_route(RouteDecision {
            requested_model: "gpt-4o-mini".into(),
            rule: "openai".into(),
            candidates: vec![Candidate::new("openai", "gpt-4o-mini")],
        });
        let mut req = Request::post("/v1/chat/completions")
            .body(Full::new(body.clone()))
            .expect("request");
        req.extensions_mut().insert(parsed.clone());
        req.extensions_mut().insert(ctx);
        req
    };
    c.bench_function(
        "limit: admit + settle, 7 limits (key rpm/tpm/day/month, team rpm/tpm, model rpm)",
        |b| {
            b.iter_batched(
                || request(true),
                |req| {
                    let res = svc.call(req).now_or_never().expect("ready").expect("ok");
                    drop(black_box(res)); // settles
                },
                BatchSize::SmallInput,
            )
        },
    );
    let mut bare = tower::service_fn(|_req: Request<Full<Bytes>>| async move {
        Ok::<_, Infallible>(Response::new(Full::new(Bytes::new())))
    });
    c.bench_function("baseline: the same request without the layer", |b| {
        b.iter_batched(
            || request(true),
            |req| drop(black_box(bare.call(req).now_or_never())),
            BatchSize::SmallInput,
        )
    });
    c.bench_function("limit: model rpm only", |b| {
        b.iter_batched(
            || request(false),
            |req| drop(black_box(svc.call(req).now_or_never())),
            BatchSize::SmallInput,
        )
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
