//! Failover added latency: time for a request whose first candidate answers
//! 503 and whose second serves it, against the same request sent straight to
//! the second. The difference is what failing over costs (one extra upstream
//! round trip on loopback plus the gateway's work to switch candidates).
//!
//! `cargo bench --bench failover`
#![expect(
    missing_docs,
    reason = "criterion_group! generates undocumented functions"
)]
#![expect(clippy::unwrap_used, reason = "a bench fails loudly on setup errors")]

use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use figment::providers::Format;
use serde_json::json;
use switchyard::app::Gateway;
use switchyard::config::Config;
use switchyard_testkit::{FakeUpstream, Reply};

struct Setup {
    a: FakeUpstream,
    _b: FakeUpstream,
    url: String,
    client: reqwest::Client,
}

async fn setup() -> Setup {
    let (a, b) = (FakeUpstream::start().await, FakeUpstream::start().await);
    let toml = format!(
        r#"
[failover.circuit]
enabled = false

[journal]
enabled = false

[[providers]]
id = "a"
kind = "openai"
base_url = "{}"
models = ["gpt-*"]
discover = false
skip_probe = true

[[providers]]
id = "b"
kind = "openai"
base_url = "{}"
models = ["gpt-*"]
discover = false
skip_probe = true

[virtual_models.ha]
targets = ["a/gpt-4o-mini", "b/gpt-4o-mini"]
"#,
        a.base_url(),
        b.base_url()
    );
    let config: Config = figment::Figment::new()
        .merge(figment::providers::Serialized::defaults(Config::default()))
        .merge(figment::providers::Toml::string(&toml))
        .extract()
        .unwrap();
    let gateway = Gateway::new(&config).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "http://{}/v1/chat/completions",
        listener.local_addr().unwrap()
    );
    let router = gateway.router();
    tokio::spawn(async move {
        axum::serve(
            listener,
            router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .await
        .unwrap()
    });
    let client = reqwest::Client::builder()
        .no_proxy()
        .tcp_nodelay(true)
        .build()
        .unwrap();
    Setup {
        a,
        _b: b,
        url,
        client,
    }
}

async fn first_byte(s: &Setup, model: &str) -> Duration {
    let body =
        json!({"model": model, "stream": true, "messages": [{"role": "user", "content": "hi"}]});
    let started = Instant::now();
    let mut res = s.client.post(&s.url).json(&body).send().await.unwrap();
    assert_eq!(res.status(), 200);
    res.chunk().await.unwrap().unwrap();
    let took = started.elapsed();
    while res.chunk().await.unwrap().is_some() {}
    took
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let s = rt.block_on(setup());
    let mut g = c.benchmark_group("failover_first_byte");
    g.measurement_time(Duration::from_secs(5));
    g.bench_function("direct_to_b", |bench| {
        bench.iter_custom(|n| {
            rt.block_on(async {
                let mut total = Duration::ZERO;
                for _ in 0..n {
                    total += first_byte(&s, "b/gpt-4o-mini").await;
                }
                total
            })
        })
    });
    g.bench_function("a_503_then_b", |bench| {
        bench.iter_custom(|n| {
            rt.block_on(async {
                let mut total = Duration::ZERO;
                for _ in 0..n {
                    s.a.push(Reply::Status {
                        status: 503,
                        body: "busy".into(),
                        headers: vec![],
                    });
                    total += first_byte(&s, "ha").await;
                }
                total
            })
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
