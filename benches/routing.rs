//! The cost of routing one request: 100 rules, the last one matching, then a
//! strategy over several targets; plus classification and parameter profiles.
//!
//! `cargo bench --bench routing`
#![expect(
    missing_docs,
    reason = "criterion_group! generates undocumented functions"
)]

use std::hint::black_box;
use std::sync::Arc;

use bytes::Bytes;
use criterion::{Criterion, criterion_group, criterion_main};
use http::HeaderMap;
use switchyard::classify::Classifiers;
use switchyard::core::{Candidate, Endpoint, ParsedRequest, RequestContext};
use switchyard::params::{Profile, Profiles};
use switchyard::route::{HeaderMatch, RouteTable, Rule, Rules, Strategy, Target, VirtualModel};

fn rules(n: usize) -> Rules {
    let table = RouteTable::builder()
        .provider("openai", ["gpt-*", "o3*"])
        .provider("groq", ["llama*"])
        .provider("local", ["qwen*"])
        .build()
        .expect("table");
    let mut b = Rules::builder(Arc::new(table)).virtual_model(
        VirtualModel::new("pool")
            .target(Target::new("openai", "gpt-4o-mini"))
            .target(Target::new("groq", "llama-3.3-70b"))
            .target(Target::new("local", "qwen3"))
            .strategy(Strategy::LeastLoaded),
    );
    // n - 1 rules that do not match (each with a model glob, a tag and a header
    // condition), then the one that does.
    for i in 0..n - 1 {
        b = b.rule(
            Rule::new(format!("rule-{i}"))
                .model_glob(format!("team-{i}-*"))
                .tag(format!("tag-{i}"))
                .header("x-tier", HeaderMatch::Exact(format!("tier-{i}")))
                .to([Target::new("openai", "gpt-4o")]),
        );
    }
    b.rule(
        Rule::new("last")
            .model_prefix("chat")
            .tag("code")
            .source("bench")
            .to_virtual("pool"),
    )
    .build()
    .expect("rules")
}

fn request() -> (ParsedRequest, RequestContext, HeaderMap) {
    let body = Bytes::from_static(
        br#"{"model":"chat-default","messages":[{"role":"system","content":"You are a careful assistant."},{"role":"user","content":"Fix this:\n```rust\nfn main() { println!(\"hi\") }\n```"}],"temperature":0.3}"#,
    );
    let parsed = ParsedRequest::parse(Endpoint::ChatCompletions, body).expect("valid");
    let mut headers = HeaderMap::new();
    headers.insert("x-source", "bench".parse().expect("header"));
    headers.insert("x-tier", "silver".parse().expect("header"));
    let mut ctx = RequestContext::new(Endpoint::ChatCompletions)
        .with_attribution(switchyard::core::Attribution::from_headers(&headers));
    ctx.add_tag("code");
    (parsed, ctx, headers)
}

fn route(c: &mut Criterion) {
    let mut g = c.benchmark_group("route");
    for n in [1, 100] {
        let rules = rules(n);
        let (parsed, ctx, headers) = request();
        assert_eq!(
            &*rules.route(&parsed, &ctx, &headers).expect("routed").rule,
            "rule:last"
        );
        g.bench_function(format!("{n}_rules_last_matches"), |b| {
            b.iter(|| black_box(rules.route(black_box(&parsed), &ctx, &headers)))
        });
    }
    g.finish();
}

fn classify(c: &mut Criterion) {
    let classifiers = Classifiers::default();
    c.bench_function("classify/builtins_fresh_request", |b| {
        b.iter(|| {
            // A fresh ParsedRequest each time: includes reading the prompt once.
            let (parsed, _, _) = request();
            black_box(classifiers.classify(parsed.prompt()))
        })
    });
}

fn params(c: &mut Criterion) {
    let profiles = Profiles::builder()
        .profile(
            "p",
            Profile::new()
                .default_value("top_p", 0.9)
                .max("max_tokens", 8192)
                .remove("logit_bias"),
        )
        .build()
        .expect("profiles");
    let candidate = Candidate::new("openai", "gpt-4o").with_profile("p");
    let (parsed, _, _) = request();
    c.bench_function("params/apply_profile", |b| {
        b.iter(|| {
            let mut body = parsed.json().clone();
            black_box(profiles.apply(&candidate, &mut body).expect("applies"))
        })
    });
}

criterion_group!(benches, route, classify, params);
criterion_main!(benches);
