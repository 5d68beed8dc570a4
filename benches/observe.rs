//! What accounting costs: the recorder, the usage layer, metrics, the live
//! feed and the SQLite journal, against the same stack without them.
//!
//! Two gateways in this process on 127.0.0.1, both a fixed one-candidate
//! route to an `OpenAi` provider in front of the same fake upstream:
//!
//! - bare:     Catch + Parse + route + ProviderSet
//! - observed: Catch + Parse + Recorder(metrics, feed, journal) + route + Usage + ProviderSet
//!
//! Interleaved rounds of sequential requests (latency) and of 16 concurrent
//! clients (throughput), whole and streamed answers, then a table and the
//! ratios observed / bare.
//!
//! ```text
//! cargo bench --bench observe            # ~1 minute
//! cargo bench --bench observe -- --quick
//! ```
//!
//! Under `cargo test` it runs a few requests through each and checks the
//! journal got them.
#![expect(clippy::unwrap_used, reason = "a bench harness")]

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use futures_util::StreamExt;
use switchyard::core::{Candidate, CatchLayer, ParseLayer, RequestExt, RouteDecision};
use switchyard::providers::{ClientOptions, OpenAi, OpenAiConfig, ProviderSet, http_client};
use switchyard_journal::{Journal, JournalConfig};
use switchyard_recorder::{EventFeed, MetricsHook, RecorderLayer};
use switchyard_testkit::{FakeUpstream, Reply};
use switchyard_usage::{ModelCatalog, Pricing, UsageLayer};
use tower::ServiceBuilder;
use tower::util::MapRequestLayer;

fn fixed_route(mut req: http::Request<axum::body::Body>) -> http::Request<axum::body::Body> {
    if let Ok(ctx) = req.context_mut() {
        ctx.set_route(RouteDecision {
            requested_model: "gpt-4o-mini".into(),
            rule: "bench".into(),
            candidates: vec![Candidate::new("bench", "gpt-4o-mini")],
        });
    }
    req
}

fn provider(base_url: String) -> ProviderSet<axum::body::Body> {
    let client = http_client(&ClientOptions::default()).unwrap();
    let p = OpenAi::new(
        OpenAiConfig {
            id: "bench".into(),
            base_url,
            api_key: Some("sk-bench".into()),
            headers: Vec::new(),
            first_byte_timeout: Duration::from_secs(30),
        },
        client,
    );
    ProviderSet::new().with("bench", p)
}

async fn serve(router: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(switchyard::server::serve(
        listener,
        router,
        std::future::pending(),
        Duration::ZERO,
    ));
    format!("http://{addr}/v1/chat/completions")
}

async fn bare(base: String) -> String {
    let stack = ServiceBuilder::new()
        .layer(CatchLayer::new())
        .layer(ParseLayer::new())
        .layer(MapRequestLayer::new(fixed_route))
        .service(provider(base));
    serve(Router::new().route_service("/v1/chat/completions", stack)).await
}

/// The stack with the usage layer and a recorder calling `hooks`.
async fn observed<H: switchyard_recorder::OnRecord>(base: String, hooks: H) -> String {
    let pricing = Arc::new(Pricing::new(ModelCatalog::builtin()));
    let stack = ServiceBuilder::new()
        .layer(CatchLayer::new())
        .layer(ParseLayer::new())
        .layer(RecorderLayer::new().hooks(hooks))
        .layer(MapRequestLayer::new(fixed_route))
        .layer(UsageLayer::new(pricing))
        .service(provider(base));
    serve(Router::new().route_service("/v1/chat/completions", stack)).await
}

const WHOLE: &str = r#"{"model":"gpt-4o-mini","messages":[{"role":"user","content":"one two three four five six seven eight"}]}"#;
const STREAM: &str = r#"{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"one two three four five six seven eight"}]}"#;

/// 20 content chunks, a finish chunk, a usage chunk, `[DONE]`: no pauses.
fn stream_reply() -> Reply {
    let mut events: Vec<String> = (0..20)
        .map(|i| format!(r#"{{"id":"c","object":"chat.completion.chunk","choices":[{{"index":0,"delta":{{"content":" w{i}"}},"finish_reason":null}}],"usage":null}}"#))
        .collect();
    events.push(r#"{"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{},"finish_reason":"stop"}],"usage":null}"#.into());
    events.push(r#"{"id":"c","object":"chat.completion.chunk","choices":[],"usage":{"prompt_tokens":8,"completion_tokens":20,"total_tokens":28}}"#.into());
    events.push("[DONE]".into());
    Reply::Events {
        events,
        delay: Duration::ZERO,
    }
}

/// Mean and 99th percentile of `n` sequential requests, in microseconds.
async fn latency(
    client: &reqwest::Client,
    url: &str,
    up: &FakeUpstream,
    stream: bool,
    n: usize,
) -> (f64, f64) {
    let mut us = Vec::with_capacity(n);
    for _ in 0..n {
        if stream {
            up.push(stream_reply());
        }
        let t = Instant::now();
        let res = client
            .post(url)
            .header("content-type", "application/json")
            .body(if stream { STREAM } else { WHOLE })
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        res.bytes().await.unwrap();
        us.push(t.elapsed().as_secs_f64() * 1e6);
    }
    us.sort_by(f64::total_cmp);
    let mean = us.iter().sum::<f64>() / n as f64;
    (mean, us[(n - 1) * 99 / 100])
}

/// Requests per second with `clients` concurrent clients for `secs`.
async fn throughput(client: &reqwest::Client, url: &str, clients: usize, secs: f64) -> f64 {
    let until = Instant::now() + Duration::from_secs_f64(secs);
    let done: usize = futures_util::stream::iter(0..clients)
        .map(|_| async {
            let mut n = 0;
            while Instant::now() < until {
                let res = client
                    .post(url)
                    .header("content-type", "application/json")
                    .body(WHOLE)
                    .send()
                    .await
                    .unwrap();
                res.bytes().await.unwrap();
                n += 1;
            }
            n
        })
        .buffer_unordered(clients)
        .fold(0, |a, b| async move { a + b })
        .await;
    done as f64 / secs
}

fn main() {
    let bench = std::env::args().any(|a| a == "--bench");
    let quick = !bench || std::env::args().any(|a| a == "--quick");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(run(bench, quick));
}

async fn run(bench: bool, quick: bool) {
    let _ = metrics_exporter_prometheus::PrometheusBuilder::new().install_recorder();
    let up = FakeUpstream::start().await;
    let dir = std::env::temp_dir().join(format!("switchyard-bench-observe-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let journal = Journal::open(&JournalConfig {
        path: Some(dir.join("journal.db")),
        ..JournalConfig::default()
    })
    .unwrap();
    let feed = EventFeed::new(1024);
    let urls = [
        bare(up.base_url()).await,
        observed(up.base_url(), ()).await,
        observed(up.base_url(), (MetricsHook::new(), feed.clone())).await,
        observed(up.base_url(), (MetricsHook::new(), feed, journal.clone())).await,
    ];
    let names = [
        "bare",
        "+recorder +usage",
        "+metrics +feed",
        "+journal (all)",
    ];
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let (rounds, n, secs) = if !bench {
        (1, 5, 0.2)
    } else if quick {
        (2, 300, 2.0)
    } else {
        (4, 1000, 4.0)
    };
    let mut lat = [[(0.0, 0.0); 2]; 4];
    let mut rps = [0.0; 4];
    for _ in 0..rounds {
        for (i, url) in urls.iter().enumerate() {
            for (j, stream) in [false, true].into_iter().enumerate() {
                let (mean, p99) = latency(&client, url, &up, stream, n).await;
                lat[i][j].0 += mean / rounds as f64;
                lat[i][j].1 += p99 / rounds as f64;
            }
            rps[i] += throughput(&client, url, 16, secs).await / rounds as f64;
        }
    }
    journal.close(Duration::from_secs(30));
    let expected = rounds * 2 * n;
    assert!(
        journal.written() >= expected as u64,
        "journal wrote {} of at least {expected}",
        journal.written()
    );
    assert_eq!(journal.dropped(), 0);
    let _ = std::fs::remove_dir_all(&dir);
    if !bench {
        return;
    }
    println!(
        "{:<18} {:>11} {:>11} {:>11} {:>11} {:>10} {:>7}",
        "", "whole mean", "whole p99", "stream mean", "stream p99", "rps (16)", "ratio"
    );
    for (i, name) in names.iter().enumerate() {
        let [w, st] = lat[i];
        println!(
            "{name:<18} {:>9.0}us {:>9.0}us {:>9.0}us {:>9.0}us {:>8.0}/s {:>7.3}",
            w.0,
            w.1,
            st.0,
            st.1,
            rps[i],
            w.0 / lat[0][0].0
        );
    }
    println!("ratio: mean latency of a whole answer against bare");
    println!(
        "journal: {} records written, {} dropped",
        journal.written(),
        journal.dropped()
    );
}
