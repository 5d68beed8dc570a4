//! The bare passthrough gateway: the least a Switchyard stack can be.
//!
//! `CatchLayer` + `ParseLayer` + a fixed one-candidate route + `ProviderSet`
//! with one `OpenAi` provider, served by the binary's own server code. The
//! bench runs it as a separate process (this same executable, re-run with
//! [`ROLE_ENV`] set), pinned like the default binary, so both are measured
//! the same way; the gap between them is what the default stack's layers cost.

use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use switchyard::core::{Candidate, CatchLayer, ParseLayer, RequestExt, RouteDecision};
use switchyard::providers::{ClientOptions, OpenAi, OpenAiConfig, ProviderSet, http_client};
use tower::ServiceBuilder;
use tower::util::MapRequestLayer;

/// Set to `bare` to run this executable as the bare gateway.
pub const ROLE_ENV: &str = "SWITCHYARD_BENCH_ROLE";
/// The upstream's API root, for the bare gateway.
pub const UPSTREAM_ENV: &str = "SWITCHYARD_BENCH_UPSTREAM";
/// Non-empty: speak HTTP/2 to the upstream with prior knowledge.
pub const UPSTREAM_HTTP2_ENV: &str = "SWITCHYARD_BENCH_UPSTREAM_HTTP2";

/// Runs the bare gateway until killed.
pub fn main() -> ExitCode {
    let Some(base_url) = std::env::var(UPSTREAM_ENV).ok() else {
        eprintln!("bare gateway: {UPSTREAM_ENV} is not set");
        return ExitCode::from(2);
    };
    let workers = std::env::var("SWITCHYARD_WORKERS")
        .ok()
        .and_then(|w| w.parse().ok())
        .unwrap_or(1);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("bare gateway: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(serve(base_url)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bare gateway: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(base_url: String) -> Result<(), String> {
    let client = http_client(&ClientOptions {
        http2_prior_knowledge: std::env::var_os(UPSTREAM_HTTP2_ENV).is_some_and(|v| !v.is_empty()),
        ..ClientOptions::default()
    })
    .map_err(|e| e.to_string())?;
    let provider = OpenAi::new(
        OpenAiConfig {
            id: "bench".into(),
            base_url,
            api_key: Some("sk-bench".into()),
            headers: Vec::new(),
            first_byte_timeout: Duration::from_secs(300),
        },
        client,
    );
    let stack = ServiceBuilder::new()
        .layer(CatchLayer::new())
        .layer(ParseLayer::new())
        .layer(MapRequestLayer::new(fixed_route))
        .service(ProviderSet::<axum::body::Body>::new().with("bench", provider));
    let router = Router::new().route_service("/v1/chat/completions", stack);
    let listener = switchyard::server::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    println!("bare gateway listening on http://{addr}");
    let _ = std::io::stdout().flush();
    switchyard::server::serve(listener, router, std::future::pending(), Duration::ZERO)
        .await
        .map_err(|e| e.to_string())
}

/// Sends every request to provider `bench` under the model it asked for.
fn fixed_route(mut req: http::Request<axum::body::Body>) -> http::Request<axum::body::Body> {
    let model = req.parsed().ok().and_then(|p| p.model_arc().cloned());
    if let (Some(model), Ok(ctx)) = (model, req.context_mut()) {
        ctx.set_route(RouteDecision {
            requested_model: model.clone(),
            rule: Arc::from("bench"),
            candidates: vec![Candidate::new("bench", model)],
        });
    }
    req
}
