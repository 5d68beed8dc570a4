//! The auth check per request: hash the key, probe the index, write the
//! identity; with 10 000 configured keys and 10 000 run-time keys.
//!
//! `cargo bench -p switchyard-auth --bench auth`
#![expect(
    missing_docs,
    reason = "criterion_group! generates undocumented functions"
)]

use std::convert::Infallible;
use std::hint::black_box;

use bytes::Bytes;
use criterion::{Criterion, criterion_group, criterion_main};
use http::{HeaderMap, Request, Response};
use http_body_util::Full;
use switchyard_auth::{AuthLayer, KeyIndex, KeySpec, KeyStore, Origin, VirtualKey};
use switchyard_core::{Endpoint, ParsedRequest, RequestContext};
use tower::{Layer, Service};

fn layer() -> (AuthLayer, String) {
    let keys = (0..10_000).map(|i| {
        let spec = KeySpec {
            id: format!("key-{i}"),
            team: Some(format!("team-{}", i % 50)),
            key: Some(format!("sk-bench-{i:08}-secret")),
            models: vec!["gpt-4o*".into(), "claude-*".into()],
            rpm: Some(600),
            ..KeySpec::default()
        };
        VirtualKey::from_spec(spec, Origin::Config).expect("valid key")
    });
    let store = KeyStore::in_memory();
    let mut last = String::new();
    for i in 0..10_000 {
        let spec = KeySpec {
            id: format!("rt-{i}"),
            ..KeySpec::default()
        };
        last = store.create(spec, &|_| false).expect("created").1;
    }
    let layer = AuthLayer::virtual_keys(KeyIndex::new(keys).expect("index")).store(store);
    (layer, last)
}

fn bench(c: &mut Criterion) {
    let (layer, stored_key) = layer();
    let mut headers = HeaderMap::new();
    headers.insert(
        "authorization",
        "Bearer sk-bench-00004242-secret".parse().expect("header"),
    );
    c.bench_function("authenticate: config key (of 10k)", |b| {
        b.iter(|| black_box(layer.authenticate(black_box(&headers)).is_ok()))
    });
    let mut stored = HeaderMap::new();
    stored.insert("x-api-key", stored_key.parse().expect("header"));
    c.bench_function("authenticate: store key (of 10k)", |b| {
        b.iter(|| black_box(layer.authenticate(black_box(&stored)).is_ok()))
    });
    let mut wrong = HeaderMap::new();
    wrong.insert(
        "authorization",
        "Bearer sk-bench-99999999-secret".parse().expect("header"),
    );
    c.bench_function("authenticate: wrong key", |b| {
        b.iter(|| black_box(layer.authenticate(black_box(&wrong)).is_err()))
    });

    // The whole layer call: headers removed, model checked, identity written.
    let body = Bytes::from_static(
        br#"{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}"#,
    );
    let parsed = ParsedRequest::parse(Endpoint::ChatCompletions, body.clone()).expect("parsed");
    let mut svc = layer.layer(tower::service_fn(|_req: Request<Full<Bytes>>| async {
        Ok::<_, Infallible>(Response::new(Full::new(Bytes::new())))
    }));
    c.bench_function("layer call: config key, model check, identity", |b| {
        b.iter_batched(
            || {
                let mut req = Request::post("/v1/chat/completions")
                    .header("authorization", "Bearer sk-bench-00004242-secret")
                    .body(Full::new(body.clone()))
                    .expect("request");
                req.extensions_mut().insert(parsed.clone());
                req.extensions_mut()
                    .insert(RequestContext::new(Endpoint::ChatCompletions));
                req
            },
            |req| black_box(svc.call(req)),
            criterion::BatchSize::SmallInput,
        )
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
